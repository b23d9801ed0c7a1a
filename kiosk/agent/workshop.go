package agent

// The workshop endpoints (localapi.WorkshopBackend): the engine is
// kiosk/workshop; here its state becomes the local API's view and its
// refusals the API's codes.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/userr"
	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	kws "github.com/quartierhub/quartierhub/kiosk/workshop"
)

var _ localapi.WorkshopBackend = (*Agent)(nil)

// openWorkshops opens the workshop engine on ob (the outbox) with hub as
// the hub's workshop API (nil: offline only).
func (a *Agent) openWorkshops(ctx context.Context, ob kws.Outbox, hub kws.Hub) (*kws.Engine, error) {
	return kws.Open(ctx, kws.Opts{
		Path:   filepath.Join(a.opts.DataDir, kws.File),
		Outbox: ob,
		Hub:    hub,
		Terminal: func() (string, error) {
			id, err := a.ids.Get()
			return id.TerminalID, err
		},
		CardKey:      a.win.cards.Key, // the hub's key may replace it at run time
		ListInterval: a.opts.Workshop.ListInterval,
		MinBackoff:   a.opts.Workshop.MinBackoff,
		MaxBackoff:   a.opts.Workshop.MaxBackoff,
		OnChange: func(n kws.Note) {
			a.win.events.Publish(localapi.Event{Type: localapi.EventWorkshop, Time: a.opts.Now(),
				Workshop: &localapi.WorkshopNote{Workshop: n.Workshop, Cursor: n.Cursor}})
		},
		Now:    a.opts.Now,
		Logger: a.log,
	})
}

// WorkshopOpts tunes the workshop engine; zero values are its defaults.
type WorkshopOpts struct {
	// Hub replaces the hub client (tests); nil uses kiosk/hubsync's.
	Hub                                  kws.Hub
	ListInterval, MinBackoff, MaxBackoff time.Duration
}

func (a *Agent) workshops() (*kws.Engine, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ws == nil {
		return nil, userr.New("the agent is starting", localapi.ErrUnavailable)
	}
	return a.ws, nil
}

// workshopErr turns the engine's refusals into the API's.
func workshopErr(err error) error {
	var r *kws.Refused
	if errors.As(err, &r) {
		status := 409
		switch r.Code {
		case kws.CodeNoWorkshop, kws.CodeUnknownVoter, kws.CodeNoSuchWorkshop, string(ws.ReasonUnknownItem), string(ws.ReasonNotCheckedIn):
			status = 404
		case string(ws.ReasonInvalid), kws.CodeTooLong:
			status = 400
		case string(ws.ReasonNotAllowed), string(ws.ReasonRemoved):
			status = 403
		case kws.CodeRecovering:
			status = 503
		}
		return &localapi.WorkshopError{Code: r.Code, Message: r.Msg, Status: status}
	}
	return err
}

// Workshop implements localapi.WorkshopBackend.
func (a *Agent) Workshop(_ context.Context, voter string) (localapi.WorkshopView, error) {
	if len(voter) > ws.MaxIDLen {
		return localapi.WorkshopView{}, userr.New(fmt.Sprintf("a voter ID has at most %d characters", ws.MaxIDLen), localapi.ErrInvalid)
	}
	e, err := a.workshops()
	if err != nil {
		return localapi.WorkshopView{}, err
	}
	return workshopView(e.Snapshot(), voter), nil
}

// workshopView is the engine's snapshot as the window sees it: what
// participants may see, and voter's own part.
func workshopView(s kws.Snapshot, voter string) localapi.WorkshopView {
	v := localapi.WorkshopView{Online: s.Online, Ideas: []localapi.WorkshopIdea{}, Themes: []localapi.WorkshopTheme{}}
	for _, info := range s.Available {
		v.Available = append(v.Available, localapi.WorkshopSummary{ID: info.ID, Title: info.Title})
	}
	if s.Info == nil || s.State == nil {
		return v
	}
	st := s.State
	v.Active, v.ID, v.Title, v.Question, v.Lang, v.Method = true, s.Info.ID, s.Spec.Title, s.Spec.Question, s.Spec.Lang, s.Spec.Method
	if v.Title == "" {
		v.Title = s.Info.Title
	}
	v.Named, v.JoinURL, v.ResultsURL = s.Spec.Named, s.Info.JoinURL, kws.ResultsURL(s.Info.JoinURL)
	if s.Spec.Method == ws.MethodCafe {
		v.Tables = s.Spec.Tables
	}
	v.MaxIdeaChars = s.Spec.IdeaChars()
	v.Started, v.Ended, v.JoinOpen = st.PhaseIndex >= 0 || st.Ended, st.Ended, st.JoinOpen
	v.Queued, v.LastSync = s.Queued, s.Synced
	if p := st.Phase(); p != nil && !st.Ended {
		v.Phase = &localapi.WorkshopPhase{Index: st.PhaseIndex, Count: len(s.Spec.Phases), Kind: p.Kind, Title: p.Title, EndsAt: st.PhaseEndsAt, Round: p.Round}
	}
	for _, i := range st.Ideas {
		if !i.Visible() {
			continue
		}
		v.Ideas = append(v.Ideas, localapi.WorkshopIdea{ID: i.ID, Text: i.Text, Author: i.Author, Theme: i.Theme,
			MergedInto: i.MergedInto, Late: i.Late, Pending: i.Pending, Mine: voter != "" && i.Voter == voter})
	}
	for _, t := range st.Themes {
		v.Themes = append(v.Themes, localapi.WorkshopTheme{ID: t.ID, Name: t.Name, Ideas: slices.Clone(t.Ideas)})
	}
	v.Counts.Ideas = len(v.Ideas)
	for _, vt := range st.Voters {
		if vt.Removed || vt.Left {
			continue
		}
		v.Counts.Voters++
		if vt.DonePhases[st.PhaseIndex] {
			v.Counts.Done++
		}
	}
	if r := st.CurrentRound(); r != nil {
		v.Round = &localapi.WorkshopRound{N: r.N, On: r.On, Dots: r.Dots, MaxPerItem: r.MaxPerItem, Revealed: r.Revealed, Closed: r.Closed, Items: roundItems(st, r)}
		for _, d := range st.Dots {
			if d.Round == r.N && d.Status == ws.DotCounted {
				v.Counts.Dots++
			}
		}
		if r.Revealed {
			for _, res := range st.Tally(r.N) {
				v.Results = append(v.Results, localapi.WorkshopResult{Item: res.Item, Text: res.Text, Dots: res.Dots, Rank: res.Rank, NearTie: res.NearTie})
			}
		}
	} else if r := kws.RevealedRound(st); r != nil {
		// Voting is over (the results phase): the newest revealed round
		// stays on the screen, as on the printed summary.
		for _, res := range st.Tally(r.N) {
			v.Results = append(v.Results, localapi.WorkshopResult{Item: res.Item, Text: res.Text, Dots: res.Dots, Rank: res.Rank, NearTie: res.NearTie})
		}
	}
	if voter != "" {
		v.Me = voterView(st, voter, v.Ideas)
	}
	return v
}

// roundItems are what one may vote on in r: its candidates (a runoff),
// else the visible ideas that are no duplicates, or the themes.
func roundItems(st *ws.State, r *ws.Round) []string {
	if r.Candidates != nil {
		return slices.Clone(r.Candidates)
	}
	items := []string{}
	if r.On == ws.OnThemes {
		for _, t := range st.Themes {
			items = append(items, t.ID)
		}
		return items
	}
	for _, i := range st.Ideas {
		if i.Visible() && i.MergedInto == "" {
			items = append(items, i.ID)
		}
	}
	return items
}

func voterView(st *ws.State, voter string, ideas []localapi.WorkshopIdea) *localapi.WorkshopMe {
	var vt *ws.Voter
	for _, x := range st.Voters {
		if x.ID == voter {
			vt = x
		}
	}
	if vt == nil {
		return nil
	}
	me := &localapi.WorkshopMe{Voter: vt.ID, Label: vt.Label, Via: vt.Via, Pending: vt.Pending, Removed: vt.Removed,
		Done: vt.DonePhases[st.PhaseIndex], Dots: []localapi.WorkshopDot{}}
	for _, i := range ideas {
		if i.Mine {
			me.Ideas++
		}
	}
	if r := st.CurrentRound(); r != nil {
		left, dots := st.VoterDots(voter, r.N)
		me.DotsLeft = left
		for _, d := range dots {
			if d.Status == ws.DotTaken {
				continue
			}
			me.Dots = append(me.Dots, localapi.WorkshopDot{ID: d.ID, Item: d.Item, Status: string(d.Status)})
		}
	}
	return me
}

// WorkshopCheckin implements localapi.WorkshopBackend.
func (a *Agent) WorkshopCheckin(ctx context.Context, req localapi.WorkshopCheckinRequest) (localapi.WorkshopCheckin, error) {
	e, err := a.workshops()
	if err != nil {
		return localapi.WorkshopCheckin{}, err
	}
	var v kws.Voter
	switch {
	case req.Guest && req.CardHash == "" && req.CardUID == "":
		v, err = e.CheckInGuest(ctx)
	case !req.Guest && (req.CardHash == "") != (req.CardUID == ""):
		hash, herr := a.cardHash(req.CardHash, req.CardUID)
		if herr != nil {
			return localapi.WorkshopCheckin{}, herr
		}
		v, err = e.CheckInCard(ctx, hash)
	default:
		return localapi.WorkshopCheckin{}, userr.New("one of card_hash, card_uid or guest is required", localapi.ErrInvalid)
	}
	if err != nil {
		return localapi.WorkshopCheckin{}, workshopErr(err)
	}
	return localapi.WorkshopCheckin{Voter: v.ID, Label: v.Label, New: v.New, Pending: v.Pending}, nil
}

// cardHash is a card's keyed hash: given, or made from its UID (the CLI).
func (a *Agent) cardHash(hash, uid string) (string, error) {
	if hash != "" {
		hash = strings.ToLower(hash)
		if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
			return "", userr.New("card_hash is a hex HMAC-SHA256", localapi.ErrInvalid)
		}
		return hash, nil
	}
	if len(uid) > 64 || strings.TrimSpace(uid) == "" {
		return "", userr.New("card_uid is 1 to 64 characters", localapi.ErrInvalid)
	}
	key := a.win.cards.Key()
	if key == nil {
		return "", userr.New("the agent has no card key", localapi.ErrUnavailable)
	}
	return session.HashCard(key, uid), nil
}

// WorkshopIdea implements localapi.WorkshopBackend.
func (a *Agent) WorkshopIdea(ctx context.Context, req localapi.WorkshopIdeaRequest) (localapi.WorkshopIdeaResponse, error) {
	e, err := a.workshops()
	if err != nil {
		return localapi.WorkshopIdeaResponse{}, err
	}
	id, pending, late, err := e.AddIdeaAt(ctx, req.Voter, req.Text, req.Author, req.Table)
	if err != nil {
		return localapi.WorkshopIdeaResponse{}, workshopErr(err)
	}
	return localapi.WorkshopIdeaResponse{ID: id, Pending: pending, Late: late}, nil
}

// WorkshopDot implements localapi.WorkshopBackend.
func (a *Agent) WorkshopDot(ctx context.Context, req localapi.WorkshopDotRequest) (localapi.WorkshopDotResponse, error) {
	e, err := a.workshops()
	if err != nil {
		return localapi.WorkshopDotResponse{}, err
	}
	d, left, err := e.PlaceDot(ctx, req.Voter, req.Item)
	if err != nil {
		return localapi.WorkshopDotResponse{}, workshopErr(err)
	}
	return localapi.WorkshopDotResponse{ID: d.ID, Status: string(d.Status), DotsLeft: left}, nil
}

// WorkshopDotTake implements localapi.WorkshopBackend.
func (a *Agent) WorkshopDotTake(ctx context.Context, req localapi.WorkshopDotTakeRequest) (localapi.WorkshopDotResponse, error) {
	e, err := a.workshops()
	if err != nil {
		return localapi.WorkshopDotResponse{}, err
	}
	left, err := e.TakeDot(ctx, req.Voter, req.Dot)
	if err != nil {
		return localapi.WorkshopDotResponse{}, workshopErr(err)
	}
	return localapi.WorkshopDotResponse{ID: req.Dot, Status: string(ws.DotTaken), DotsLeft: left}, nil
}

// WorkshopDone implements localapi.WorkshopBackend.
func (a *Agent) WorkshopDone(ctx context.Context, req localapi.WorkshopDoneRequest) error {
	e, err := a.workshops()
	if err != nil {
		return err
	}
	return workshopErr(e.Done(ctx, req.Voter))
}

// WorkshopPrint implements localapi.WorkshopBackend: the summary of the
// newest revealed round through the printer front.
func (a *Agent) WorkshopPrint(ctx context.Context, req localapi.WorkshopPrintRequest) (localapi.PrintResponse, error) {
	e, err := a.workshops()
	if err != nil {
		return localapi.PrintResponse{}, err
	}
	if req.Top < 0 || req.Top > 20 {
		return localapi.PrintResponse{}, userr.New("top is 0 to 20", localapi.ErrInvalid)
	}
	snap := e.Snapshot()
	if snap.Info == nil {
		return localapi.PrintResponse{}, workshopErr(&kws.Refused{Code: kws.CodeNoWorkshop, Msg: "this terminal takes part in no workshop now"})
	}
	r, ok := kws.Summary(snap, req.Lang, req.Top)
	if !ok {
		return localapi.PrintResponse{}, &localapi.WorkshopError{Code: string(ws.ReasonWrongPhase), Message: "no results are revealed yet", Status: 409}
	}
	n, err := a.win.printer.print(ctx, r)
	if err != nil {
		return localapi.PrintResponse{}, err
	}
	return localapi.PrintResponse{Bytes: n}, nil
}

// WorkshopSwitch implements localapi.WorkshopBackend: a moderator's
// card and PIN (see moderator) choose the workshop.
func (a *Agent) WorkshopSwitch(ctx context.Context, req localapi.WorkshopSwitchRequest) (localapi.WorkshopView, error) {
	e, err := a.workshops()
	if err != nil {
		return localapi.WorkshopView{}, err
	}
	if err := a.moderator(req.CardHash, req.CardUID, req.PIN); err != nil {
		return localapi.WorkshopView{}, err
	}
	if err := e.Switch(ctx, req.Workshop); err != nil {
		return localapi.WorkshopView{}, workshopErr(err)
	}
	return workshopView(e.Snapshot(), ""), nil
}

// WorkshopLeave implements localapi.WorkshopBackend.
func (a *Agent) WorkshopLeave(ctx context.Context, req localapi.WorkshopLeaveRequest) (localapi.WorkshopView, error) {
	e, err := a.workshops()
	if err != nil {
		return localapi.WorkshopView{}, err
	}
	if err := a.moderator(req.CardHash, req.CardUID, req.PIN); err != nil {
		return localapi.WorkshopView{}, err
	}
	if err := e.Leave(ctx); err != nil {
		return localapi.WorkshopView{}, workshopErr(err)
	}
	return workshopView(e.Snapshot(), ""), nil
}

// PIN tries at the terminal: after maxModeratorTries wrong ones in a row,
// the switch refuses everyone for moderatorLockout.
const (
	maxModeratorTries = 5
	moderatorLockout  = time.Minute
)

// moderatorGate counts wrong credentials.
type moderatorGate struct {
	mu     sync.Mutex
	wrong  int
	locked time.Time
}

// moderator checks a moderator's card and PIN: one of the configuration's
// moderator cards with the moderator PIN, or a service card with the
// service PIN.
func (a *Agent) moderator(hash, uid, pin string) error {
	bad := &localapi.WorkshopError{Code: localapi.CodeBadCredentials, Message: "this card or PIN does not allow it", Status: 403}
	g := &a.modGate
	now := a.opts.Now()
	g.mu.Lock()
	if now.Before(g.locked) {
		g.mu.Unlock()
		return &localapi.WorkshopError{Code: localapi.CodeBadCredentials, Message: "too many wrong tries; wait a minute", Status: 429}
	}
	g.mu.Unlock()
	card, err := a.cardHash(hash, uid)
	if err != nil {
		return err
	}
	c, err := a.content()
	if err != nil {
		return fmt.Errorf("agent: workshop switch: %w", err)
	}
	ok := len(pin) <= api.MaxPINLen &&
		(session.IsServiceCard(card, c.ModeratorCards) && c.ModeratorPIN != "" && api.CheckPIN(c.ModeratorPIN, pin) ||
			session.IsServiceCard(card, c.ServiceCards) && c.ServicePIN != "" && api.CheckPIN(c.ServicePIN, pin))
	g.mu.Lock()
	defer g.mu.Unlock()
	if !ok {
		g.wrong++
		if g.wrong >= maxModeratorTries {
			g.wrong, g.locked = 0, now.Add(moderatorLockout)
			a.log.Warn("workshop switch: too many wrong tries")
		}
		return bad
	}
	g.wrong = 0
	return nil
}
