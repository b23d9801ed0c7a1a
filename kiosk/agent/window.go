package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/drivers/escpos"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// Files in the data directory that serve the window.
const (
	// ContentFile, if present, is the content the terminal shows (an
	// api.Content); otherwise the embedded demo content is shown.
	ContentFile = "content.json"
	// TicketFile holds today's last waiting number.
	TicketFile = "tickets.json"
	// RespondentFile lists survey respondents (hashes) that have answered.
	RespondentFile = "survey-respondents"
	// OutOfOrderFile, while it exists, puts the terminal out of order
	// (as does maintenance from the hub); its content is the reason.
	OutOfOrderFile = "out-of-order"
)

// historyWindow is how much sensor history the agent keeps in memory.
const historyWindow = 24 * time.Hour

// window is the agent's side of the touchscreen window: the event stream,
// card hashing, sensor history, printing, tickets and survey once-rules.
type window struct {
	a   *Agent
	log *slog.Logger

	cardKey []byte

	subMu sync.Mutex
	subs  map[int]chan localapi.Event
	next  int

	histMu     sync.Mutex
	latest     map[string]localapi.Reading
	minutes    []histEntry   // oldest first, at most maxHistoryEntries
	hist       *historyStore // the file behind minutes (history.go)
	histClosed bool

	ticketMu sync.Mutex
	surveyMu sync.Mutex
	answered map[string]bool

	stateMu sync.Mutex
	mode    localapi.Mode
	sync    localapi.SyncStatus
}

func newWindow(a *Agent) *window {
	return &window{a: a, log: a.log.With("component", "window"), subs: map[int]chan localapi.Event{},
		latest: map[string]localapi.Reading{}, answered: map[string]bool{}}
}

// start loads the card key and the survey respondents.
func (w *window) start() error {
	k, err := session.LoadCardKey(w.a.opts.DataDir, w.a.opts.Config.CardHashKey)
	if err != nil {
		return err
	}
	w.cardKey = k
	f, err := os.Open(filepath.Join(w.a.opts.DataDir, RespondentFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	w.surveyMu.Lock()
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			w.answered[line] = true
		}
	}
	w.surveyMu.Unlock()
	return sc.Err()
}

// run watches the sync state and the out-of-order file and tells the
// window when they change.
func (w *window) run(ctx context.Context, s *hubsync.Syncer) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		w.poll(s)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *window) poll(s *hubsync.Syncer) {
	ss := s.Status()
	st := localapi.SyncStatus{HubReachable: ss.Reachable, Unauthorized: ss.Unauthorized, LastSync: ss.LastSuccess,
		ConsecutiveFailures: ss.Failures, LastAttempt: ss.LastAttempt}
	mode := localapi.Mode{}
	if m := w.a.fleet.status(); m.Maintenance {
		mode = localapi.Mode{OutOfOrder: true, Reason: "maintenance: " + m.MaintenanceMessage}
	} else if b, err := os.ReadFile(filepath.Join(w.a.opts.DataDir, OutOfOrderFile)); err == nil {
		mode = localapi.Mode{OutOfOrder: true, Reason: strings.TrimSpace(string(b))}
	}
	now := w.a.opts.Now()
	w.stateMu.Lock()
	syncChanged := st.HubReachable != w.sync.HubReachable || st.Unauthorized != w.sync.Unauthorized || !st.LastSync.Equal(w.sync.LastSync)
	modeChanged := mode != w.mode
	w.sync, w.mode = st, mode
	w.stateMu.Unlock()
	if syncChanged {
		w.publish(localapi.Event{Type: localapi.EventSync, Time: now, Sync: &st})
	}
	if modeChanged {
		w.publish(localapi.Event{Type: localapi.EventMode, Time: now, Mode: &mode})
	}
}

// Subscribe implements localapi.SessionBackend. A new subscriber first
// gets the current sync state and mode.
func (w *window) Subscribe() (<-chan localapi.Event, func()) {
	ch := make(chan localapi.Event, 128)
	w.stateMu.Lock()
	st, mode := w.sync, w.mode
	w.stateMu.Unlock()
	now := w.a.opts.Now()
	ch <- localapi.Event{Type: localapi.EventSync, Time: now, Sync: &st}
	ch <- localapi.Event{Type: localapi.EventMode, Time: now, Mode: &mode}
	w.subMu.Lock()
	id := w.next
	w.next++
	w.subs[id] = ch
	w.subMu.Unlock()
	return ch, func() {
		w.subMu.Lock()
		delete(w.subs, id)
		w.subMu.Unlock()
	}
}

func (w *window) publish(e localapi.Event) {
	w.subMu.Lock()
	defer w.subMu.Unlock()
	for _, ch := range w.subs {
		select {
		case ch <- e:
		default: // a reader that falls behind loses events, never blocks a driver
		}
	}
}

// card receives the reader's cards: only the keyed hash goes further.
func (w *window) card(c devices.Card) {
	if w.cardKey == nil {
		return
	}
	w.publish(localapi.Event{Type: localapi.EventCard, Time: c.Time,
		Card: &localapi.CardEvent{Presented: c.Presented, Hash: session.HashCard(w.cardKey, c.UID)}})
}

func (w *window) reading(r aggregate.Reading) {
	lr := localapi.Reading{Sensor: r.Sensor, Quantity: r.Quantity, Unit: r.Unit, Value: r.Value, WarmUp: r.WarmUp, At: r.At}
	w.histMu.Lock()
	w.latest[r.Sensor+"/"+r.Quantity] = lr
	w.histMu.Unlock()
	w.publish(localapi.Event{Type: localapi.EventReading, Time: r.At, Reading: &lr})
}

func (w *window) device(e devices.Event) {
	w.publish(localapi.Event{Type: localapi.EventDevice, Time: e.Time,
		Device: &localapi.DeviceEvent{Device: e.Device, Kind: e.Kind, State: e.State, Detail: e.Detail}})
}

// loadHistory opens the sensor history file and loads the last 24 hours.
func (w *window) loadHistory() {
	hist, minutes := openHistory(filepath.Join(w.a.opts.DataDir, HistoryFile), w.a.opts.Now, w.log)
	w.histMu.Lock()
	w.hist, w.minutes, w.histClosed = hist, minutes, false
	w.histMu.Unlock()
	if len(minutes) > 0 {
		w.log.Info("sensor history loaded", "minutes", len(minutes), "oldest", minutes[0].Minute.Minute)
	}
}

// minute keeps a closed minute for the 24-hour chart, in memory and,
// through the history writer, on disk.
func (w *window) minute(m aggregate.Aggregate) {
	if m.Count == 0 {
		return
	}
	e := histEntry{Minute: localapi.Minute{Sensor: m.Sensor, Quantity: m.Quantity, Unit: m.Unit, Minute: m.Minute.UTC(), Mean: m.Mean, Min: m.Min, Max: m.Max},
		Count: m.Count, Partial: m.Partial}
	w.histMu.Lock()
	defer w.histMu.Unlock()
	// Minutes come nearly in order: an earlier entry for the same minute
	// (a partial one from before a restart, an emit retried) is near the end.
	merged := false
	for i := len(w.minutes) - 1; i >= 0 && !w.minutes[i].Minute.Minute.Before(e.Minute.Minute.Add(-time.Minute)); i-- {
		if w.minutes[i].sameSeries(e) {
			e = w.minutes[i].merge(e)
			w.minutes[i], merged = e, true
			break
		}
	}
	if !merged {
		w.minutes = append(w.minutes, e)
	}
	cut := w.a.opts.Now().Add(-historyWindow)
	i := 0
	for i < len(w.minutes) && (w.minutes[i].Minute.Minute.Before(cut) || len(w.minutes)-i > maxHistoryEntries) {
		i++
	}
	w.minutes = w.minutes[i:]
	if w.hist != nil && !w.histClosed {
		w.hist.put(e)
	}
}

// runHistory writes the history until closeHistory.
func (w *window) runHistory() error {
	w.histMu.Lock()
	h := w.hist
	w.histMu.Unlock()
	if h == nil {
		return nil
	}
	return h.run()
}

// closeHistory ends the history writer once nothing more can arrive
// (the aggregator has emitted its last minutes).
func (w *window) closeHistory() {
	w.histMu.Lock()
	defer w.histMu.Unlock()
	if w.hist != nil && !w.histClosed {
		w.histClosed = true
		close(w.hist.in)
	}
}

// Sensors implements localapi.SessionBackend.
func (w *window) Sensors(context.Context) (localapi.SensorHistory, error) {
	w.histMu.Lock()
	defer w.histMu.Unlock()
	h := localapi.SensorHistory{Minutes: make([]localapi.Minute, len(w.minutes))}
	for i, e := range w.minutes {
		h.Minutes[i] = e.Minute
	}
	for _, r := range w.latest {
		h.Latest = append(h.Latest, r)
	}
	sort.Slice(h.Latest, func(i, j int) bool {
		return h.Latest[i].Sensor+h.Latest[i].Quantity < h.Latest[j].Sensor+h.Latest[j].Quantity
	})
	sort.SliceStable(h.Minutes, func(i, j int) bool { return h.Minutes[i].Minute.Before(h.Minutes[j].Minute) })
	return h, nil
}

// Content implements localapi.SessionBackend: the content of the hub's
// configuration (fleet.go) if the terminal has one, else DATA/content.json
// if it is there and valid, else the embedded demo content.
func (w *window) Content(context.Context) (api.Content, error) {
	if c, ok := w.a.RemoteContent(); ok {
		return c, nil
	}
	path := filepath.Join(w.a.opts.DataDir, ContentFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return assets.DemoContent()
	}
	if err != nil {
		return api.Content{}, fmt.Errorf("agent: content: %w", err)
	}
	var c api.Content
	if err := json.Unmarshal(b, &c); err != nil {
		return api.Content{}, fmt.Errorf("agent: %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return api.Content{}, fmt.Errorf("agent: %s: %w", path, err)
	}
	return c, nil
}

// Print implements localapi.SessionBackend.
func (w *window) Print(ctx context.Context, r localapi.Receipt) (localapi.PrintResponse, error) {
	rec, err := ToEscpos(r)
	if err != nil {
		return localapi.PrintResponse{}, err
	}
	p := w.a.Printer()
	if p == nil {
		return localapi.PrintResponse{}, userr.New("this terminal has no printer", localapi.ErrPrinter)
	}
	res, err := p.Print(ctx, rec)
	if err != nil {
		return localapi.PrintResponse{}, userr.New("the printer cannot print now", errors.Join(localapi.ErrPrinter, err))
	}
	return localapi.PrintResponse{Bytes: res.Bytes}, nil
}

// ToEscpos converts a receipt from the local API to the printer's model.
func ToEscpos(r localapi.Receipt) (escpos.Receipt, error) {
	var out escpos.Receipt
	bad := func(i int, why string) (escpos.Receipt, error) {
		return escpos.Receipt{}, userr.New(fmt.Sprintf("receipt block %d: %s", i, why), localapi.ErrInvalid)
	}
	if len(r.Blocks) == 0 || len(r.Blocks) > 200 {
		return bad(0, "a receipt has 1 to 200 blocks")
	}
	for i, b := range r.Blocks {
		align := escpos.AlignLeft
		switch b.Align {
		case "", "left":
		case "centre", "center":
			align = escpos.AlignCentre
		case "right":
			align = escpos.AlignRight
		default:
			return bad(i, "align is left, centre or right")
		}
		switch b.Kind {
		case localapi.BlockText:
			if b.Size < 0 || b.Size > 8 {
				return bad(i, "size is 1 to 8")
			}
			out.Add(escpos.Text{Text: b.Text, Align: align, Bold: b.Bold, Width: b.Size, Height: b.Size})
		case localapi.BlockQR:
			if b.Text == "" || strings.ContainsRune(b.Text, 0x10) || b.Lines < 0 || b.Lines > 16 {
				return bad(i, "a QR code needs data (no byte 0x10) and a module size up to 16")
			}
			out.Add(escpos.QR{Data: b.Text, Align: align, ModuleSize: b.Lines})
		case localapi.BlockFeed:
			if b.Lines < 0 || b.Lines > 255 {
				return bad(i, "feed 0 to 255 lines")
			}
			out.Add(escpos.Feed{Lines: b.Lines})
		case localapi.BlockCut:
			out.Add(escpos.Cut{Partial: true})
		default:
			return bad(i, "unknown kind "+b.Kind)
		}
	}
	return out, nil
}

type ticketState struct {
	Day  string `json:"day"`
	Last int    `json:"last"`
}

// Ticket implements localapi.SessionBackend: the next number for today,
// durable before it is printed, so numbers stay unique per terminal and
// day across restarts; then a help_ticket record and the print.
func (w *window) Ticket(ctx context.Context, req localapi.TicketRequest) (localapi.Ticket, error) {
	if w.a.Printer() == nil {
		return localapi.Ticket{}, userr.New("this terminal has no printer", localapi.ErrPrinter)
	}
	if _, err := ToEscpos(req.Receipt); err != nil {
		return localapi.Ticket{}, err
	}
	w.ticketMu.Lock()
	day := w.a.opts.Now().Local().Format("2006-01-02")
	path := filepath.Join(w.a.opts.DataDir, TicketFile)
	var st ticketState
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	if st.Day != day {
		st = ticketState{Day: day}
	}
	st.Last++
	b, _ := json.Marshal(st)
	err := atomicfile.WriteFile(path, b, 0o600)
	w.ticketMu.Unlock()
	if err != nil {
		return localapi.Ticket{}, fmt.Errorf("agent: ticket: %w", err)
	}
	t := localapi.Ticket{Number: st.Last, Day: day}
	ob, _, err := w.a.parts()
	if err != nil {
		return localapi.Ticket{}, err
	}
	rec, err := SubmitTo(ctx, ob, localapi.SubmitRequest{Type: "help_ticket", Payload: map[string]any{"number": t.Number, "day": day}})
	if err != nil {
		return localapi.Ticket{}, err
	}
	t.RecordID = rec.ID
	num := fmt.Sprint(t.Number)
	r := localapi.Receipt{Blocks: append([]localapi.ReceiptBlock(nil), req.Receipt.Blocks...)}
	for i := range r.Blocks {
		r.Blocks[i].Text = strings.ReplaceAll(r.Blocks[i].Text, "{number}", num)
	}
	if _, err := w.Print(ctx, r); err != nil {
		return localapi.Ticket{}, err
	}
	return t, nil
}

// Respond implements localapi.SessionBackend: one response per survey and
// respondent, remembered across restarts.
func (w *window) Respond(ctx context.Context, r localapi.SurveyResponse) (localapi.SubmitResponse, error) {
	if r.Survey == "" || len(r.Respondent) != 64 || strings.ContainsAny(r.Survey, "\t\n") {
		return localapi.SubmitResponse{}, userr.New("a response needs a survey and a respondent hash", localapi.ErrInvalid)
	}
	key := r.Survey + "\t" + r.Respondent
	w.surveyMu.Lock()
	defer w.surveyMu.Unlock()
	if w.answered[key] {
		return localapi.SubmitResponse{}, userr.New("this survey has already been answered", localapi.ErrAlreadyAnswered)
	}
	ob, _, err := w.a.parts()
	if err != nil {
		return localapi.SubmitResponse{}, err
	}
	rec, err := SubmitTo(ctx, ob, localapi.SubmitRequest{Type: "survey_response", Payload: r})
	if err != nil {
		return localapi.SubmitResponse{}, err
	}
	path := filepath.Join(w.a.opts.DataDir, RespondentFile)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err == nil {
		_, err = f.WriteString(key + "\n")
		if err == nil {
			err = f.Sync()
		}
		f.Close()
	}
	if err == nil && errors.Is(statErr, os.ErrNotExist) {
		err = atomicfile.SyncDir(w.a.opts.DataDir) // the file is new: its entry too
	}
	if err != nil {
		// The response is stored; only the once-rule could not be kept.
		w.log.Error("survey respondent not remembered", "survey", r.Survey, "err", err)
	}
	w.answered[key] = true
	return localapi.SubmitResponse{ID: rec.ID, Type: rec.Type, Class: outbox.ClassResident.String(), CreatedAt: rec.CreatedAt}, nil
}

// The agent serves the window's endpoints through its window.
func (a *Agent) Content(ctx context.Context) (api.Content, error) { return a.win.Content(ctx) }
func (a *Agent) Print(ctx context.Context, r localapi.Receipt) (localapi.PrintResponse, error) {
	return a.win.Print(ctx, r)
}
func (a *Agent) Ticket(ctx context.Context, r localapi.TicketRequest) (localapi.Ticket, error) {
	return a.win.Ticket(ctx, r)
}
func (a *Agent) Sensors(ctx context.Context) (localapi.SensorHistory, error) {
	return a.win.Sensors(ctx)
}
func (a *Agent) Respond(ctx context.Context, r localapi.SurveyResponse) (localapi.SubmitResponse, error) {
	return a.win.Respond(ctx, r)
}
func (a *Agent) Subscribe() (<-chan localapi.Event, func()) { return a.win.Subscribe() }

var _ localapi.SessionBackend = (*Agent)(nil)
