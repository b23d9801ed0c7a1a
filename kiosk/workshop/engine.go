// Package workshop is the terminal's side of a participation workshop
// (internal/workshop is the model): a local log of the workshop's events
// in DATA/workshop.db, the terminal's own events numbered and handed to
// the outbox, and a loop that learns from the hub which workshop the
// terminal takes part in, pulls its events and holds its live socket.
//
// Everything a participant does at the terminal works offline: an own
// event is numbered (the number fsync'd before use), submitted to the
// outbox as a resident record (never evicted; the normal sync delivers
// it exactly once, the hub storing by event ID), and only then kept in
// the local log, pending until the hub's stamped copy arrives and
// replaces it. The live socket only speeds this up: it offers the hub the
// pending events and receives the others' events as they happen.
//
// The engine serves no HTTP and knows no Fyne: it talks to the hub
// through the Hub interface (HubClient adapts kiosk/hubsync's signed
// client; tests use it against internal/fakehub), and the window reaches
// it through the agent's local API.
package workshop

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

// File is the log's file name in the data directory.
const File = "workshop.db"

// Opts configures an Engine. Zero values take the documented defaults.
type Opts struct {
	// Path is the log's file (DATA/workshop.db). Required.
	Path string
	// Terminal returns this terminal's ID; an error while not enrolled.
	Terminal func() (string, error)
	// Outbox takes own events first. Required.
	Outbox Outbox
	// Hub is the hub's workshop API; nil runs offline (Run waits).
	Hub Hub
	// CardKey returns the deployment's card key: a card's voter ID is
	// the same on every terminal (workshop.CardVoter). Asked at every
	// check-in, as the hub's key may replace a terminal's own while it
	// runs; nil (or a nil func): cards cannot check in.
	CardKey func() []byte
	// ListInterval is how often the hub is asked which workshops run
	// (DefaultListInterval); backoff after failures between MinBackoff
	// and MaxBackoff, with jitter.
	ListInterval, MinBackoff, MaxBackoff time.Duration
	// OnChange is called (not under a lock) whenever what GET
	// /v1/workshop answers may have changed.
	OnChange func(Note)
	// Now and Rand default to time.Now and crypto/rand.
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// Note tells of a change.
type Note struct {
	Workshop string
	Cursor   uint64
}

// Engine runs the terminal's workshops. Its methods are safe for
// concurrent use.
type Engine struct {
	opts  Opts
	log   *slog.Logger
	lf    *logFile
	clock *ws.Clock

	kick   chan struct{} // own events written: offer them on the socket
	relist chan struct{} // a moderator switched: choose again now

	// author serialises own events: numbering, outbox, log.
	author sync.Mutex
	// choose serialises changes of what is shown (the hub's list, a
	// moderator's switch or leave): each reads and writes shown whole.
	choose  sync.Mutex
	entropy io.Reader // for event IDs, under author

	mu        sync.Mutex
	sh        shown
	cur       *current // nil: no workshop shown
	avail     []Info   // the hub's last list
	online    bool
	recovered bool // the log was set aside: numbers wait for a pull
}

// current is the workshop shown, in memory.
type current struct {
	info   Info
	spec   ws.Spec
	events map[string]ws.Event
	raw    map[string][]byte // own events on their way, as encoded
	own    map[string]bool
	acked  map[string]bool // the hub said it has them (this socket)
	cursor uint64
	synced time.Time
	// state is the fold of events, made again when read after a change
	// (dirty): a burst of pushed events costs one fold, not one each.
	state *ws.State
	dirty bool
}

// folded returns the state, folding again if events changed. Called
// with Engine.mu held.
func (c *current) folded() *ws.State {
	if c.dirty || c.state == nil {
		c.state = ws.Fold(c.info.ID, c.spec, c.eventList())
		c.dirty = false
	}
	return c.state
}

// Open opens the log, resends what a crash left numbered but not
// confirmed, and loads the workshop shown last.
func Open(ctx context.Context, opts Opts) (*Engine, error) {
	if opts.Path == "" || opts.Outbox == nil {
		return nil, errors.New("workshop: Path and Outbox are required")
	}
	if opts.Terminal == nil {
		opts.Terminal = func() (string, error) { return "", errors.New("not enrolled") }
	}
	if opts.ListInterval <= 0 {
		opts.ListInterval = DefaultListInterval
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{opts: opts, log: opts.Logger.With("component", "workshop"),
		clock: ws.NewClock(opts.Now), kick: make(chan struct{}, 1), relist: make(chan struct{}, 1),
		entropy: ulid.Monotonic(opts.Rand, 0)}
	lf, aside, err := openLog(opts.Path, opts.Now())
	if err != nil {
		return nil, err
	}
	e.lf, e.recovered = lf, aside
	if aside {
		e.log.Error("workshop log unreadable; set aside, starting empty (numbers continue after the hub's copy)")
	}
	if e.sh, err = lf.loadShown(); err != nil {
		e.log.Warn("workshop log: which workshop was shown is unreadable; none", "err", err)
		e.sh = shown{}
	}
	if e.sh.Current != "" {
		// The terminal serves its other services whatever happens here:
		// a workshop that cannot be shown now is shown again when the hub
		// lists it (what is numbered but unsent waits in the log).
		if err := e.show(ctx, e.sh.Current, nil); err != nil {
			e.log.Error("workshop: the workshop shown last cannot be shown", "workshop", e.sh.Current, "err", err)
			e.mu.Lock()
			e.cur = nil
			e.mu.Unlock()
		}
	}
	return e, nil
}

// Close closes the log. Run must have returned.
func (e *Engine) Close() error { return e.lf.close() }

// show makes workshop id current from the log (info, if given, is the
// hub's newer word on it) and resends its unconfirmed own events.
func (e *Engine) show(ctx context.Context, id string, info *Info) error {
	st, err := e.lf.load(id)
	if err != nil {
		return err
	}
	if info != nil {
		st.Info = info
	}
	if st.Info == nil {
		return fmt.Errorf("workshop: %s: nothing known of it", id)
	}
	spec, err := decodeSpec(st.Info.Spec)
	if err != nil {
		return fmt.Errorf("workshop: %s: %w", id, err)
	}
	if st.Skipped > 0 {
		e.log.Warn("workshop log: events that no longer decode were skipped", "workshop", id, "skipped", st.Skipped)
	}
	c := &current{info: *st.Info, spec: spec, events: map[string]ws.Event{}, raw: map[string][]byte{},
		own: st.Own, acked: map[string]bool{}, cursor: st.Cursor, synced: st.Synced}
	for _, ev := range st.Events {
		c.events[ev.ID] = ev
		e.clock.Observe(ev.HLC)
	}
	for _, ev := range st.Intents {
		e.clock.Observe(ev.HLC)
	}
	c.dirty = true
	e.mu.Lock()
	e.cur = c
	e.mu.Unlock()
	// A crash between numbering and the outbox's answer: the same event
	// (same ID) again; the hub stores it once.
	for _, ev := range sortedEvents(st.Intents) {
		if err := e.submit(ctx, ev); err != nil {
			return fmt.Errorf("workshop: resend %s: %w", ev.ID, err)
		}
	}
	return nil
}

func sortedEvents(m map[string]ws.Event) []ws.Event {
	out := make([]ws.Event, 0, len(m))
	for _, ev := range m {
		out = append(out, ev)
	}
	slices.SortFunc(out, func(a, b ws.Event) int { return cmpU64(a.Seq, b.Seq) })
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func decodeSpec(raw json.RawMessage) (ws.Spec, error) {
	var spec ws.Spec
	if len(raw) > maxInfoBytes {
		return spec, errors.New("spec too large")
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return ws.Spec{}, fmt.Errorf("spec: %w", err)
	}
	return spec, nil
}

func (c *current) eventList() []ws.Event {
	out := make([]ws.Event, 0, len(c.events))
	for _, ev := range c.events {
		out = append(out, ev)
	}
	return out
}

// Snapshot is the engine's state at one moment. State is shared: read
// it, never change it.
type Snapshot struct {
	// Info is nil while no workshop is shown.
	Info  *Info
	Spec  ws.Spec
	State *ws.State
	// Device is this terminal's device name ("t:ID"), "" if not enrolled.
	Device string
	// TerminalIndex is this terminal's place in Spec.Terminals (from 0),
	// -1 if it is not listed.
	TerminalIndex int
	Online        bool
	// Queued are own events the hub has not stamped yet.
	Queued    int
	Synced    time.Time
	Available []Info
}

// Snapshot returns the current state.
func (e *Engine) Snapshot() Snapshot {
	s := Snapshot{TerminalIndex: -1}
	if id, err := e.opts.Terminal(); err == nil {
		s.Device = ws.DeviceTerminalPrefix + id
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.Online, s.Available = e.online, slices.Clone(e.avail)
	if c := e.cur; c != nil {
		info := c.info
		s.Info, s.Spec, s.State, s.Queued, s.Synced = &info, c.spec, c.folded(), len(c.own), c.synced
		for i, t := range c.spec.Terminals {
			if ws.DeviceTerminalPrefix+t == s.Device {
				s.TerminalIndex = i
			}
		}
	}
	return s
}

func (e *Engine) changed() {
	if e.opts.OnChange == nil {
		return
	}
	var n Note
	e.mu.Lock()
	if e.cur != nil {
		n = Note{Workshop: e.cur.info.ID, Cursor: e.cur.cursor}
	}
	e.mu.Unlock()
	e.opts.OnChange(n)
}

// Refused is an action the engine did not take, and why. Code is a
// workshop.Reason or one of the Code* constants.
type Refused struct {
	Code string
	Msg  string
}

func (r *Refused) Error() string { return "workshop: " + r.Msg }

// Refusal codes besides the model's reasons.
const (
	CodeNoWorkshop     = "no_workshop"
	CodeUnknownVoter   = "unknown_voter"
	CodeNoSuchWorkshop = "no_such_workshop"
	CodeTooLong        = "too_long"
	CodeNoDotsLeft     = "no_dots_left"
	CodeItemCap        = "item_cap"
	// CodeRecovering: the log was lost and the terminal waits for the
	// hub before it numbers new events.
	CodeRecovering = "recovering"
)

var reasonText = map[ws.Reason]string{
	ws.ReasonNotOpen:      "the workshop has not started or has ended",
	ws.ReasonWrongPhase:   "this does not fit the workshop's current phase",
	ws.ReasonNotCheckedIn: "this participant has not checked in",
	ws.ReasonJoinClosed:   "joining is closed",
	ws.ReasonRemoved:      "the moderator removed this participant",
	ws.ReasonTooMany:      "the workshop has reached a limit",
	ws.ReasonUnknownItem:  "no such idea, theme or dot",
	ws.ReasonNotAllowed:   "this is not allowed",
	ws.ReasonInvalid:      "the entry is not valid",
	ws.ReasonDuplicate:    "already checked in",
	ws.ReasonNoPhones:     "phones may not join this workshop",
}

func refusedFor(r ws.Reason) *Refused {
	msg := reasonText[r]
	if msg == "" {
		msg = "refused: " + string(r)
	}
	return &Refused{Code: string(r), Msg: msg}
}

var errNoWorkshop = &Refused{Code: CodeNoWorkshop, Msg: "this terminal takes part in no workshop now"}

// act writes an own event of type t by actor with data: checked by the
// model's fold against what the terminal knows (a refusal writes
// nothing), numbered, handed to the outbox, kept in the log. check may
// refuse by the trial state. It returns the event and the state with it.
func (e *Engine) act(ctx context.Context, actor string, t ws.Type, data any, check func(ev ws.Event, trial *ws.State) error) (ws.Event, *ws.State, error) {
	e.author.Lock()
	defer e.author.Unlock()
	term, err := e.opts.Terminal()
	if err != nil {
		return ws.Event{}, nil, errNoWorkshop
	}
	e.mu.Lock()
	c, recovering := e.cur, e.recovered
	var (
		events []ws.Event
		spec   ws.Spec
		id     string
	)
	if c != nil {
		events, spec, id = c.eventList(), c.spec, c.info.ID
	}
	e.mu.Unlock()
	if c == nil {
		return ws.Event{}, nil, errNoWorkshop
	}
	if recovering {
		return ws.Event{}, nil, &Refused{Code: CodeRecovering, Msg: "the terminal is waiting for the hub after a storage fault"}
	}
	body, err := ws.Encode(data)
	if err != nil {
		return ws.Event{}, nil, &Refused{Code: string(ws.ReasonInvalid), Msg: "the entry is not valid: " + err.Error()}
	}
	uid, err := ulid.New(ulid.Timestamp(e.opts.Now()), e.entropy)
	if err != nil {
		return ws.Event{}, nil, fmt.Errorf("workshop: event id: %w", err)
	}
	ev := ws.Event{ID: uid.String(), Workshop: id, Device: ws.DeviceTerminalPrefix + term,
		HLC: e.clock.Now(), Actor: actor, Type: t, Data: body}
	// The trial: the event as the fold would take it, numbered as it
	// will be (the number is taken for real below).
	ev.Seq = e.peekSeq(events, ev.Device)
	if err := ev.Validate(); err != nil {
		return ws.Event{}, nil, &Refused{Code: string(ws.ReasonInvalid), Msg: "the entry is not valid: " + err.Error()}
	}
	trial := ws.Fold(id, spec, append(events, ev))
	for _, r := range trial.Refused {
		if r.Event == ev.ID {
			return ws.Event{}, nil, refusedFor(r.Reason)
		}
	}
	if check != nil {
		if err := check(ev, trial); err != nil {
			return ws.Event{}, nil, err
		}
	}
	if err := e.lf.reserve(&ev, encodeEvent); err != nil {
		return ws.Event{}, nil, err
	}
	if err := e.submit(ctx, ev); err != nil {
		if rerr := e.lf.release(ev); rerr != nil {
			e.log.Error("workshop: number not given back", "err", rerr)
		}
		return ws.Event{}, nil, err
	}
	select {
	case e.kick <- struct{}{}:
	default:
	}
	e.changed()
	e.mu.Lock()
	var st *ws.State
	if e.cur != nil && e.cur.info.ID == id {
		st = e.cur.folded()
	}
	e.mu.Unlock()
	return ev, st, nil
}

// peekSeq is the number the next own event will likely take: the log's
// counter is authoritative (reserve), this is for the trial fold only.
func (e *Engine) peekSeq(events []ws.Event, device string) uint64 {
	var n uint64
	for _, ev := range events {
		if ev.Device == device && ev.Seq > n {
			n = ev.Seq
		}
	}
	return n + 1
}

func encodeEvent(ev ws.Event) ([]byte, error) {
	ev.HubSeq = 0
	b, err := ws.Encode(ev)
	if err != nil {
		return nil, err
	}
	if _, err := ws.DecodeEvent(b); err != nil {
		return nil, err
	}
	return b, nil
}

// submit hands a numbered event to the outbox (durable), then keeps it
// in the log and in memory as an own, pending event.
func (e *Engine) submit(ctx context.Context, ev ws.Event) error {
	v, err := encodeEvent(ev)
	if err != nil {
		return fmt.Errorf("workshop: %w", err)
	}
	if _, err := e.opts.Outbox.Submit(ctx, RecordType, outbox.ClassResident, v); err != nil {
		return fmt.Errorf("workshop: %w", err)
	}
	if err := e.lf.confirm(ev, v); err != nil {
		// In the outbox already: it reaches the hub and comes back.
		e.log.Error("workshop: own event not kept in the log", "err", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.cur; c != nil && c.info.ID == ev.Workshop {
		if _, have := c.events[ev.ID]; !have {
			c.events[ev.ID], c.raw[ev.ID], c.own[ev.ID] = ev, v, true
			c.dirty = true
		}
	}
	return nil
}

// Voter is a participant checked in at this terminal.
type Voter struct {
	ID    string
	Label string
	Via   string
	// New: checked in now; false for a card that had checked in before.
	New     bool
	Pending bool
}

// CheckInCard checks a card in by its keyed hash: its voter ID is the
// same on every terminal, and a card checked in before gets its voter
// back.
func (e *Engine) CheckInCard(ctx context.Context, cardHash string) (Voter, error) {
	var key []byte
	if e.opts.CardKey != nil {
		key = e.opts.CardKey()
	}
	if len(key) == 0 {
		return Voter{}, &Refused{Code: string(ws.ReasonNotAllowed), Msg: "this terminal has no card key"}
	}
	if cardHash == "" || len(cardHash) > 128 {
		return Voter{}, &Refused{Code: string(ws.ReasonInvalid), Msg: "a card hash is required"}
	}
	snap := e.Snapshot()
	if snap.Info == nil {
		return Voter{}, errNoWorkshop
	}
	id := ws.CardVoter(key, snap.Info.ID, cardHash)
	if v := findVoter(snap.State, id); v != nil && !v.Left {
		if v.Removed {
			return Voter{}, refusedFor(ws.ReasonRemoved)
		}
		return Voter{ID: v.ID, Label: v.Label, Via: v.Via, Pending: v.Pending}, nil
	}
	// New, or back after leaving (the check-in returns them).
	v, err := e.checkIn(ctx, id, ws.ViaCard)
	var r *Refused
	if errors.As(err, &r) && r.Code == string(ws.ReasonDuplicate) {
		// The card's check-in on another terminal arrived while this one
		// was being written: the card is that voter here too.
		if fv := findVoter(e.Snapshot().State, id); fv != nil && !fv.Removed && !fv.Left {
			return Voter{ID: fv.ID, Label: fv.Label, Via: fv.Via, Pending: fv.Pending}, nil
		}
	}
	return v, err
}

// CheckInGuest checks a new guest in with the next guest number.
func (e *Engine) CheckInGuest(ctx context.Context) (Voter, error) {
	var b [8]byte
	if _, err := io.ReadFull(e.opts.Rand, b[:]); err != nil {
		return Voter{}, fmt.Errorf("workshop: guest id: %w", err)
	}
	return e.checkIn(ctx, ws.ActorVoterPrefix+"g"+hex.EncodeToString(b[:]), ws.ViaGuest)
}

func (e *Engine) checkIn(ctx context.Context, voter, via string) (Voter, error) {
	snap := e.Snapshot()
	if snap.Info == nil {
		return Voter{}, errNoWorkshop
	}
	n, err := e.lf.nextGuest(snap.Info.ID)
	if err != nil {
		return Voter{}, err
	}
	label := voterLabel(snap.Spec.Lang, via, guestNumber(n, snap.TerminalIndex, len(snap.Spec.Terminals)))
	_, st, err := e.act(ctx, voter, ws.TypeCheckIn, ws.CheckIn{Via: via, Label: label}, nil)
	if err != nil {
		return Voter{}, err
	}
	v := Voter{ID: voter, Label: label, Via: via, New: true, Pending: true}
	if fv := findVoter(st, voter); fv != nil {
		v.Label, v.Pending = fv.Label, fv.Pending
	}
	return v, nil
}

// guestNumber spreads the numbers of the workshop's terminals so no two
// hand out the same one without talking: terminal i of k gives i+1,
// i+1+k, i+1+2k… (n is this terminal's count from 1).
func guestNumber(n uint64, index, terminals int) uint64 {
	if index < 0 || terminals < 1 {
		// Not in the workshop's list: numbers above the listed ones' range
		// would still clash with another unlisted terminal; rare enough.
		index, terminals = 0, 1
	}
	return (n-1)*uint64(terminals) + uint64(index) + 1
}

func voterLabel(lang, via string, n uint64) string {
	word := map[string]map[string]string{
		"de": {ws.ViaCard: "Karte", ws.ViaGuest: "Gast"},
		"en": {ws.ViaCard: "Card", ws.ViaGuest: "Guest"},
	}
	w := word["de"]
	if lang == "en" {
		w = word["en"]
	}
	return fmt.Sprintf("%s %d", w[via], n)
}

func findVoter(st *ws.State, id string) *ws.Voter {
	if st == nil {
		return nil
	}
	for _, v := range st.Voters {
		if v.ID == id {
			return v
		}
	}
	return nil
}

func (e *Engine) knownVoter(voter string) error {
	snap := e.Snapshot()
	if snap.Info == nil {
		return errNoWorkshop
	}
	if findVoter(snap.State, voter) == nil {
		return &Refused{Code: CodeUnknownVoter, Msg: "this participant has not checked in here"}
	}
	return nil
}

// AddIdea writes an idea of voter in the current phase. late says the
// phase had closed (the idea goes to the late lane).
func (e *Engine) AddIdea(ctx context.Context, voter, text, author string) (id string, pending, late bool, err error) {
	return e.AddIdeaAt(ctx, voter, text, author, 0)
}

// AddIdeaAt is AddIdea at café table (from 1; Spec.Tables at most), the
// table the participant chose. Table 0 is this terminal's own table (its
// place in Spec.Terminals, if there are that many tables), as a café's
// terminal often stands at one.
func (e *Engine) AddIdeaAt(ctx context.Context, voter, text, author string, table int) (id string, pending, late bool, err error) {
	if err := e.knownVoter(voter); err != nil {
		return "", false, false, err
	}
	snap := e.Snapshot()
	limit := snap.Spec.IdeaChars()
	if n := len([]rune(text)); n > limit {
		return "", false, false, &Refused{Code: CodeTooLong, Msg: fmt.Sprintf("an idea has at most %d characters", limit)}
	}
	if n := len([]rune(author)); n > ws.MaxAuthorName {
		return "", false, false, &Refused{Code: CodeTooLong, Msg: fmt.Sprintf("a name has at most %d characters", ws.MaxAuthorName)}
	}
	if !snap.Spec.Named {
		author = ""
	}
	if snap.State == nil || snap.State.PhaseIndex < 0 {
		return "", false, false, refusedFor(ws.ReasonNotOpen)
	}
	cafe := snap.Spec.Method == ws.MethodCafe
	if table < 0 || table > 0 && (!cafe || table > snap.Spec.Tables) {
		return "", false, false, &Refused{Code: string(ws.ReasonInvalid), Msg: fmt.Sprintf("no café table %d in this workshop", table)}
	}
	if table == 0 && cafe && snap.TerminalIndex >= 0 && snap.TerminalIndex < snap.Spec.Tables {
		table = snap.TerminalIndex + 1 // a café's terminal is a table
	}
	data := ws.Idea{Text: text, Author: author, Phase: snap.State.PhaseIndex, Table: table}
	ev, st, err := e.act(ctx, voter, ws.TypeIdea, data, nil)
	if err != nil {
		return "", false, false, err
	}
	pending = true
	if st != nil {
		if i := st.Idea(ev.ID); i != nil {
			pending, late = i.Pending, i.Late
		}
	}
	return ev.ID, pending, late, nil
}

// PlaceDot puts one of voter's dots on item in the current round. A dot
// the terminal already knows to be over the voter's dots or the item's
// cap is refused, not written.
func (e *Engine) PlaceDot(ctx context.Context, voter, item string) (*ws.DotState, int, error) {
	if err := e.knownVoter(voter); err != nil {
		return nil, 0, err
	}
	snap := e.Snapshot()
	if snap.State == nil {
		return nil, 0, errNoWorkshop
	}
	r := snap.State.CurrentRound()
	if r == nil {
		return nil, 0, refusedFor(ws.ReasonWrongPhase)
	}
	// The fold counts an unstamped dot as pending whatever the limits
	// (the hub's order decides); at this terminal a dot beyond them is
	// refused before it is written.
	check := func(ev ws.Event, trial *ws.State) error {
		tr := trial.Round(r.N)
		if tr == nil {
			return refusedFor(ws.ReasonWrongPhase)
		}
		_, dots := trial.VoterDots(voter, r.N)
		var mine *ws.DotState
		for _, d := range dots {
			if d.ID == ev.ID {
				mine = d
			}
		}
		if mine == nil {
			return nil
		}
		used, onItem := 0, 0
		for _, d := range dots {
			if d.Status != ws.DotCounted && d.Status != ws.DotPending {
				continue
			}
			used++
			if d.Counts == mine.Counts {
				onItem++
			}
		}
		if tr.MaxPerItem > 0 && onItem > tr.MaxPerItem {
			return &Refused{Code: CodeItemCap, Msg: fmt.Sprintf("at most %d dots on one item", tr.MaxPerItem)}
		}
		if used > tr.Dots {
			return &Refused{Code: CodeNoDotsLeft, Msg: "all dots of this round are placed"}
		}
		return nil
	}
	ev, st, err := e.act(ctx, voter, ws.TypeDot, ws.Dot{Round: r.N, Item: item}, check)
	if err != nil {
		return nil, 0, err
	}
	if st == nil {
		return &ws.DotState{ID: ev.ID, Voter: voter, Round: r.N, Item: item, Status: ws.DotPending}, 0, nil
	}
	left, dots := st.VoterDots(voter, r.N)
	for _, d := range dots {
		if d.ID == ev.ID {
			return d, left, nil
		}
	}
	return &ws.DotState{ID: ev.ID, Voter: voter, Round: r.N, Item: item, Status: ws.DotPending}, left, nil
}

// TakeDot takes back one of voter's dots.
func (e *Engine) TakeDot(ctx context.Context, voter, dot string) (int, error) {
	if err := e.knownVoter(voter); err != nil {
		return 0, err
	}
	_, st, err := e.act(ctx, voter, ws.TypeDotTake, ws.DotTake{Dot: dot}, nil)
	if err != nil {
		return 0, err
	}
	left := 0
	if st != nil {
		if r := st.CurrentRound(); r != nil {
			left, _ = st.VoterDots(voter, r.N)
		}
	}
	return left, nil
}

// Done says voter is done with the current phase.
func (e *Engine) Done(ctx context.Context, voter string) error {
	if err := e.knownVoter(voter); err != nil {
		return err
	}
	snap := e.Snapshot()
	if snap.State == nil || snap.State.PhaseIndex < 0 {
		return refusedFor(ws.ReasonNotOpen)
	}
	_, _, err := e.act(ctx, voter, ws.TypeDone, ws.Done{Phase: snap.State.PhaseIndex}, nil)
	return err
}

// Switch shows workshop id, one the hub lists for this terminal (a
// moderator's choice, checked by the caller): it wins over the others
// while listed.
func (e *Engine) Switch(ctx context.Context, id string) error {
	e.choose.Lock()
	defer e.choose.Unlock()
	e.mu.Lock()
	var info *Info
	for i := range e.avail {
		if e.avail[i].ID == id {
			info = &e.avail[i]
		}
	}
	isCurrent := e.cur != nil && e.cur.info.ID == id
	sh := e.sh
	e.mu.Unlock()
	if info == nil && !isCurrent {
		return &Refused{Code: CodeNoSuchWorkshop, Msg: "the hub lists no such open workshop for this terminal"}
	}
	sh.Chosen = id
	sh.Left = slices.DeleteFunc(slices.Clone(sh.Left), func(s string) bool { return s == id })
	if err := e.setShown(ctx, sh, id, info); err != nil {
		return err
	}
	e.wakeRelist()
	return nil
}

// Leave takes the terminal out of the workshop it shows until a
// moderator switches it back; another workshop the hub lists may follow.
func (e *Engine) Leave(ctx context.Context) error {
	e.choose.Lock()
	defer e.choose.Unlock()
	e.mu.Lock()
	sh, avail := e.sh, slices.Clone(e.avail)
	e.mu.Unlock()
	if sh.Current == "" {
		return errNoWorkshop
	}
	sh.Left = append(slices.Clone(sh.Left), sh.Current)
	if sh.Chosen == sh.Current {
		sh.Chosen = ""
	}
	next, info := pick(sh, avail)
	if err := e.setShown(ctx, sh, next, info); err != nil {
		return err
	}
	e.wakeRelist()
	return nil
}

func (e *Engine) wakeRelist() {
	select {
	case e.relist <- struct{}{}:
	default:
	}
}

// pick chooses what to show from the hub's list: the moderator's choice
// if listed, else what is shown if still listed, else the first listed
// the terminal did not leave.
func pick(sh shown, avail []Info) (string, *Info) {
	find := func(id string) *Info {
		for i := range avail {
			if avail[i].ID == id {
				return &avail[i]
			}
		}
		return nil
	}
	if sh.Chosen != "" {
		if info := find(sh.Chosen); info != nil {
			return sh.Chosen, info
		}
	}
	if sh.Current != "" && !slices.Contains(sh.Left, sh.Current) {
		if info := find(sh.Current); info != nil {
			return sh.Current, info
		}
	}
	for i := range avail {
		if !slices.Contains(sh.Left, avail[i].ID) {
			return avail[i].ID, &avail[i]
		}
	}
	return "", nil
}

// setShown records sh with Current = id and loads id (info: the hub's
// newest word on it; nil to use the log's).
func (e *Engine) setShown(ctx context.Context, sh shown, id string, info *Info) error {
	sh.Current = id
	if info != nil {
		if err := e.lf.saveInfo(*info, e.opts.Now()); err != nil {
			return err
		}
	}
	if err := e.lf.saveShown(sh); err != nil {
		return err
	}
	e.mu.Lock()
	e.sh = sh
	same := e.cur != nil && e.cur.info.ID == id
	if id == "" {
		e.cur = nil
	}
	if same && info != nil {
		if spec, err := decodeSpec(info.Spec); err == nil {
			e.cur.info, e.cur.spec = *info, spec
			e.cur.dirty = true
		}
	}
	e.mu.Unlock()
	if id != "" && !same {
		if err := e.show(ctx, id, info); err != nil {
			return err
		}
	}
	e.changed()
	return nil
}

// jitter returns d scaled by a random factor in [0.5, 1).
func (e *Engine) jitter(d time.Duration) time.Duration {
	var b [8]byte
	if _, err := io.ReadFull(e.opts.Rand, b[:]); err != nil {
		return d
	}
	f := 0.5 + float64(binary.BigEndian.Uint64(b[:])>>11)/float64(1<<53)/2
	return time.Duration(float64(d) * f)
}
