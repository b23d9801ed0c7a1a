package workshops

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// ModeratorActor is the event actor of a console user.
func ModeratorActor(userName string) string { return workshop.ActorModeratorPrefix + userName }

// CLIActor is the event actor of the hub's command line run by the OS
// user osUser: "m:cli." and the name (characters an actor cannot hold
// become '_'), so the log tells it from the console's users.
func CLIActor(osUser string) string {
	name := []rune(strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '@' || r == '-' {
			return r
		}
		return '_'
	}, osUser))
	if len(name) == 0 {
		name = []rune("unknown")
	}
	return workshop.ActorModeratorPrefix + "cli." + string(name[:min(len(name), 60)])
}

// Act appends an event the hub authors for actor: a moderator ("m:…",
// the console or the command line) may append moderator and participant
// events, a voter ("v:…", a phone) only participant events, as itself.
// The event is folded before it is stored: one the workshop's rules
// refuse is not stored and comes back as *Refused with the fold's reason.
// data is the type's payload (workshop.Idea, workshop.Phase, …).
func (s *Service) Act(ctx context.Context, workshopID, actor string, t workshop.Type, data any) (workshop.Event, error) {
	switch {
	case strings.HasPrefix(actor, workshop.ActorModeratorPrefix):
		if !workshop.ModeratorType(t) && !workshop.ParticipantType(t) {
			return workshop.Event{}, &Refused{Reason: workshop.ReasonInvalid, Err: fmt.Errorf("unknown event type %q", t)}
		}
	case strings.HasPrefix(actor, workshop.ActorVoterPrefix):
		if !workshop.ParticipantType(t) {
			return workshop.Event{}, &Refused{Reason: workshop.ReasonNotAllowed, Err: fmt.Errorf("a voter may not append %q", t)}
		}
	default:
		return workshop.Event{}, &Refused{Reason: workshop.ReasonNotAllowed, Err: fmt.Errorf("actor %.70q is neither a moderator nor a voter", actor)}
	}
	raw, err := workshop.Encode(data)
	if err != nil {
		return workshop.Event{}, &Refused{Reason: workshop.ReasonInvalid, Err: err}
	}
	now := s.o.Now()
	id, err := s.newULID(now)
	if err != nil {
		return workshop.Event{}, err
	}
	// Seq and HubSeq are the store's to stamp (commit); 1 stands in for
	// the check of the rest.
	ev := workshop.Event{ID: id, Workshop: workshopID, Device: workshop.DeviceHub, Seq: 1, HLC: s.clock.Now(),
		Actor: actor, Type: t, Data: raw}
	if err := ev.Validate(); err != nil {
		return workshop.Event{}, &Refused{Reason: workshop.ReasonInvalid, Err: err}
	}
	ev.Seq = 0
	req := &actRequest{ev: ev, at: now.UTC(), done: make(chan actResult, 1)}
	if by, ok := strings.CutPrefix(actor, workshop.ActorModeratorPrefix); ok {
		req.audit = store.Audit{At: now.UTC(), Actor: by, Action: ActionEvent, Subject: "workshop:" + workshopID, Detail: string(t) + " " + ev.ID}
	}
	e := s.entry(workshopID)
	if e.enqueue(req) {
		s.drain(ctx, e)
	}
	select {
	case r := <-req.done:
		return r.ev, r.err
	case <-ctx.Done():
		return workshop.Event{}, fmt.Errorf("workshops: act: %w", ctx.Err())
	}
}

// refusalOf returns the fold's reason for refusing event id, or "".
func refusalOf(st *workshop.State, id string) workshop.Reason {
	for _, r := range st.Refused {
		if r.Event == id {
			return r.Reason
		}
	}
	return ""
}

// Append stores events a terminal sent over its live socket (each the
// event's JSON as the terminal wrote it): each must decode
// (workshop.DecodeEvent) and carry the terminal's device, "t:" + its ID;
// otherwise nothing is stored. Storing is idempotent by event ID; events
// of an unknown workshop are acknowledged and dropped, as the upload
// path does. It returns the IDs the terminal may consider delivered.
func (s *Service) Append(ctx context.Context, terminalID string, raws []json.RawMessage) ([]string, error) {
	device := workshop.DeviceTerminalPrefix + terminalID
	byWorkshop := map[string][]store.WorkshopEvent{}
	var order []string
	ids := make([]string, 0, len(raws))
	for i, raw := range raws {
		ev, err := workshop.DecodeEvent(raw)
		if err != nil {
			return nil, fmt.Errorf("workshops: event %d: %w", i, err)
		}
		if ev.Device != device {
			return nil, fmt.Errorf("workshops: event %d: device %.70q is not the sending terminal", i, ev.Device)
		}
		ev.HubSeq = 0
		body, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("workshops: event %d: %w", i, err)
		}
		if _, ok := byWorkshop[ev.Workshop]; !ok {
			order = append(order, ev.Workshop)
		}
		byWorkshop[ev.Workshop] = append(byWorkshop[ev.Workshop], store.WorkshopEvent{ID: ev.ID, Workshop: ev.Workshop,
			Device: ev.Device, Seq: ev.Seq, Body: body, ReceivedAt: s.o.Now().UTC()})
		ids = append(ids, ev.ID)
		s.clock.Observe(ev.HLC)
	}
	for _, w := range order {
		seqs, err := s.st.AppendWorkshopEvents(ctx, w, byWorkshop[w], store.Audit{})
		// As the upload path does: what no store could keep is
		// acknowledged and dropped, so it never blocks the terminal.
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrWorkshopFull) || errors.Is(err, store.ErrWorkshopEvent) {
			s.o.Logger.Warn("workshop events acknowledged but not stored", "terminal", terminalID, "workshop", w,
				"events", len(byWorkshop[w]), "err", err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("workshops: append: %w", err)
		}
		s.m.appended.WithLabelValues("terminal").Add(float64(len(seqs)))
		if err := s.refreshNow(ctx, w); err != nil {
			// Stored; the next read of the workshop catches up.
			s.Advanced(w)
		}
	}
	return ids, nil
}

// refreshNow reads what workshop id's log gained and tells its
// subscribers, when it is cached.
func (s *Service) refreshNow(ctx context.Context, id string) error {
	s.mu.Lock()
	e := s.entries[id]
	s.mu.Unlock()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := s.refreshLocked(ctx, e, false)
	return err
}

// GoToPhase moves the workshop to phase index (-1 ends it) as actor: the
// phase it leaves closes now, the new one's timer starts from its plan.
func (s *Service) GoToPhase(ctx context.Context, workshopID, actor string, index int) (workshop.Event, error) {
	v, err := s.Get(ctx, workshopID)
	if err != nil {
		return workshop.Event{}, err
	}
	if index < -1 || index >= len(v.State.Spec.Phases) {
		return workshop.Event{}, &Refused{Reason: workshop.ReasonInvalid, Err: fmt.Errorf("no phase %d", index)}
	}
	now := s.o.Now()
	p := workshop.Phase{Index: index, Deadline: now.UnixMilli()}
	if index >= 0 {
		if m := v.State.Spec.Phases[index].Minutes; m > 0 {
			p.EndsAt = now.Add(time.Duration(m) * time.Minute).UnixMilli()
		}
	}
	return s.Act(ctx, workshopID, actor, workshop.TypePhase, p)
}

// ParsePhase turns what a person names a phase by into its index: an
// index, a phase kind that names exactly one phase, "next" (from the
// current one) or "end" (-1).
func ParsePhase(st *workshop.State, to string) (int, error) {
	phases := st.Spec.Phases
	switch to {
	case "end":
		return -1, nil
	case "next":
		n := st.PhaseIndex + 1
		if n >= len(phases) {
			return 0, fmt.Errorf("phase %d is the last; use end to close the workshop", st.PhaseIndex)
		}
		return n, nil
	}
	if i, err := strconv.Atoi(to); err == nil {
		if i < 0 || i >= len(phases) {
			return 0, fmt.Errorf("no phase %d: the workshop has phases 0 to %d", i, len(phases)-1)
		}
		return i, nil
	}
	found := -1
	for i, p := range phases {
		if p.Kind == to {
			if found >= 0 {
				return 0, fmt.Errorf("more than one phase is of kind %q (%d and %d): give its index", to, found, i)
			}
			found = i
		}
	}
	if found < 0 {
		return 0, fmt.Errorf("no phase of kind %q: give an index, a kind, next or end", to)
	}
	return found, nil
}

// GuestKeyMin is the least length of a phone's guest key: it is the
// only secret behind a phone's voter ID.
const GuestKeyMin = 16

// PhoneVoter is the voter ID of a phone's guest key in a workshop:
// "v:g" and 16 hex of HMAC-SHA256 keyed with the guest key over the
// workshop's ID. The key is a random secret in the phone's cookie, so
// nothing needs storing to find a returning phone's voter, the ID does
// not reveal the key, and the same phone is another voter in another
// workshop.
func PhoneVoter(workshopID, guestKey string) string {
	m := hmac.New(sha256.New, []byte(guestKey))
	m.Write([]byte(workshopID))
	return workshop.ActorVoterPrefix + "g" + hex.EncodeToString(m.Sum(nil))[:16]
}

// JoinPhone checks a phone in to the workshop with the join code typed
// (as its guest key's voter, once: a returning phone gets its voter
// back) and returns the voter ID and the label it is shown as ("Handy 3"
// in a German workshop, "Phone 3" in an English one). Refusals (phones
// not allowed, joining closed, not open) come as *Refused.
func (s *Service) JoinPhone(ctx context.Context, code, guestKey string) (voter, label string, err error) {
	if utf8.RuneCountInString(guestKey) < GuestKeyMin || len(guestKey) > 256 {
		return "", "", fmt.Errorf("workshops: a guest key has %d to 256 characters", GuestKeyMin)
	}
	v, err := s.GetByCode(ctx, code)
	if err != nil {
		return "", "", err
	}
	id := v.Workshop.ID
	voter = PhoneVoter(id, guestKey)
	if l, ok := voterLabel(v.State, voter); ok {
		return voter, l, nil
	}
	// One phone at a time per workshop in this process, so two tabs get
	// one voter and numbers are not handed out twice; across processes
	// the fold refuses a second check-in of the same voter.
	e := s.entry(id)
	e.joinMu.Lock()
	defer e.joinMu.Unlock()
	if v, err = s.Get(ctx, id); err != nil {
		return "", "", err
	}
	if l, ok := voterLabel(v.State, voter); ok {
		return voter, l, nil
	}
	label = phoneLabel(v.State)
	_, err = s.Act(ctx, id, voter, workshop.TypeCheckIn, workshop.CheckIn{Via: workshop.ViaPhone, Label: label})
	if Reason(err) == workshop.ReasonDuplicate {
		if v, gerr := s.Get(ctx, id); gerr == nil {
			if l, ok := voterLabel(v.State, voter); ok {
				return voter, l, nil
			}
		}
	}
	if err != nil {
		return "", "", err
	}
	return voter, label, nil
}

// voterLabel returns the label of voter if it checked in.
func voterLabel(st *workshop.State, voter string) (string, bool) {
	for _, v := range st.Voters {
		if v.ID == voter {
			return v.Label, true
		}
	}
	return "", false
}

// phoneLabel is the next phone's label, "Handy N" ("Phone N" in an
// English workshop): one above the highest phone number so far. Phones
// have a word of their own because terminals hand out "Gast N" numbers
// interleaved among themselves, offline, which a phone's number would
// clash with.
func phoneLabel(st *workshop.State) string {
	word := "Handy "
	if st.Spec.Lang == "en" {
		word = "Phone "
	}
	high := 0
	for _, v := range st.Voters {
		for _, w := range []string{"Handy ", "Phone "} {
			if rest, ok := strings.CutPrefix(v.Label, w); ok {
				if n, err := strconv.Atoi(rest); err == nil {
					high = max(high, n)
				}
			}
		}
	}
	return word + strconv.Itoa(high+1)
}
