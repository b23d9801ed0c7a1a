package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/internal/fanout"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
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

// window is the agent's side of the touchscreen window, in parts that
// each keep their own state: the event stream (a fan-out of the local
// API's events), the card hasher, the sync state and mode last told,
// the sensor history, the printer, the ticket counter and the surveys'
// once-rule. The wiring below feeds them from the engine; the window's
// endpoints (api.go) read them.
type window struct {
	events   *fanout.Hub[localapi.Event]
	cards    cardHasher
	state    terminalState
	sensors  *sensorHistory
	printer  printerFront
	tickets  *ticketCounter
	surveys  *surveyOnce
	captures captureDesk // screenshots waiting for the window (capture.go)
	log      *slog.Logger
}

// eventBuffer is how many events a subscriber may fall behind before it
// loses some.
const eventBuffer = 128

func newWindow(a *Agent) *window {
	log := a.log.With("component", "window")
	return &window{
		events:  fanout.New[localapi.Event](eventBuffer),
		sensors: newSensorHistory(filepath.Join(a.opts.DataDir, HistoryFile), a.opts.Now, log),
		printer: printerFront{printer: a.Printer},
		tickets: &ticketCounter{path: filepath.Join(a.opts.DataDir, TicketFile), now: a.opts.Now},
		log:     log,
	}
}

// start loads the card key and the survey respondents.
func (w *window) start(dataDir, cardHashKey string) error {
	if err := w.cards.load(dataDir, cardHashKey); err != nil {
		return err
	}
	surveys, err := loadSurveyOnce(dataDir, w.log)
	if err != nil {
		return err
	}
	w.surveys = surveys
	return nil
}

// cardAtReader receives the reader's cards: only the keyed hash goes on.
func (a *Agent) cardAtReader(c devices.Card) {
	if s, ok := a.win.cards.seen(c); ok {
		a.win.events.Publish(cardEvent(s))
	}
}

// sensorReading keeps r for the air screen and tells the window.
func (a *Agent) sensorReading(r aggregate.Reading) {
	a.win.sensors.reading(r)
	a.win.events.Publish(readingEvent(r))
}

// deviceChanged tells the window of a device's new state.
func (a *Agent) deviceChanged(e devices.Event) {
	a.win.events.Publish(deviceEvent(e))
}

// watchTerminal tells the window when the sync state or the mode (the
// hub's maintenance, the out-of-order file) changes, looking every second.
func (a *Agent) watchTerminal(ctx context.Context, s *hubsync.Syncer) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		a.lookAtTerminal(s)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (a *Agent) lookAtTerminal(s *hubsync.Syncer) {
	st := s.Status()
	on, message := a.fleet.maintenance()
	mode := modeOf(on, message, a.opts.DataDir)
	now := a.opts.Now()
	syncChanged, modeChanged := a.win.state.update(st, mode)
	if syncChanged {
		a.win.events.Publish(syncEvent(now, st))
	}
	if modeChanged {
		a.win.events.Publish(modeEvent(now, mode))
	}
}
