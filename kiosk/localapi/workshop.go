package localapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/quartierhub/quartierhub/internal/userr"
)

// Workshop endpoints (workshop.go): a participation workshop the terminal
// takes part in (internal/workshop is the model, kiosk/workshop the
// terminal's engine). Everything works offline: what a participant does
// here is stored on the terminal first and marked pending until the hub
// has it.
//
//	GET  /v1/workshop[?voter=V]
//	                   WorkshopView: the workshop this terminal shows
//	                   (Active false: none), and with voter V, that
//	                   voter's label, dots and whether they are done
//	POST /v1/workshop/checkin
//	                   WorkshopCheckinRequest → WorkshopCheckin: a card
//	                   (its keyed hash from a card event, or its UID from
//	                   the CLI) or a new guest number
//	POST /v1/workshop/ideas
//	                   WorkshopIdeaRequest → 201 WorkshopIdeaResponse
//	POST /v1/workshop/dots
//	                   WorkshopDotRequest → 201 WorkshopDotResponse
//	POST /v1/workshop/dots/take
//	                   WorkshopDotTakeRequest → WorkshopDotResponse
//	POST /v1/workshop/done
//	                   WorkshopDoneRequest → {}
//	POST /v1/workshop/print
//	                   WorkshopPrintRequest → PrintResponse: the summary
//	                   receipt (question, top items, QR of the public
//	                   results page); 503 printer_unavailable
//	POST /v1/workshop/switch
//	                   WorkshopSwitchRequest → WorkshopView: a moderator
//	                   (a card of the configuration's moderator_cards with
//	                   moderator_pin, or a service card with service_pin)
//	                   puts the terminal into one of the workshops the hub
//	                   lists for it; 403 bad_credentials, 429 after five
//	                   wrong tries (for a minute)
//	POST /v1/workshop/leave
//	                   WorkshopLeaveRequest → WorkshopView: a moderator
//	                   takes the terminal out of the workshop (back to its
//	                   services) until switched again
//
//	event "workshop"   WorkshopNote: the workshop's state changed (an
//	                   event pulled or written, a workshop opened or
//	                   ended, the hub connection came or went): refetch
//	                   GET /v1/workshop
//
// Refusals are 4xx Error answers whose Code is a workshop.Reason
// (not_open, wrong_phase, not_checked_in, join_closed, removed, too_many,
// unknown_item, not_allowed, invalid, duplicate) or one of the Code*
// constants below; the window translates the code, Error is English.

// EventWorkshop: the workshop's state changed (Event.Workshop).
const EventWorkshop = "workshop"

// WorkshopNote is the payload of a "workshop" event.
type WorkshopNote struct {
	// Workshop is the workshop shown now ("" for none).
	Workshop string `json:"workshop"`
	// Cursor is the highest hub sequence the terminal holds.
	Cursor uint64 `json:"cursor"`
}

// Workshop refusal codes besides the workshop.Reason values.
const (
	// CodeNoWorkshop: the terminal takes part in no workshop now.
	CodeNoWorkshop = "no_workshop"
	// CodeUnknownVoter: the voter has not checked in on this terminal's
	// copy of the workshop.
	CodeUnknownVoter = "unknown_voter"
	// CodeBadCredentials: the card is no moderator's or service card, or
	// the PIN is wrong.
	CodeBadCredentials = "bad_credentials"
	// CodeNoSuchWorkshop: the hub lists no such open workshop for this
	// terminal.
	CodeNoSuchWorkshop = "no_such_workshop"
	// CodeTooLong: an idea or name is longer than the workshop allows.
	CodeTooLong = "too_long"
	// CodeNoDotsLeft: the voter has placed all their dots this round.
	CodeNoDotsLeft = "no_dots_left"
	// CodeItemCap: the voter has the most dots allowed on this item.
	CodeItemCap = "item_cap"
	// CodeRecovering (503): the terminal lost its workshop log to a
	// storage fault and waits for the hub before it takes new entries.
	CodeRecovering = "recovering"
)

// WorkshopError is a workshop action the agent refused: Code says why
// (a workshop.Reason or a Code* constant), Message in English. The
// server answers it with Status; the client returns it from the
// workshop calls (errors.As).
type WorkshopError struct {
	Code    string
	Message string
	Status  int
}

func (e *WorkshopError) Error() string { return "workshop: " + e.Message + " (" + e.Code + ")" }

// ErrWorkshop matches every *WorkshopError (errors.Is).
var ErrWorkshop = errors.New("localapi: workshop action refused")

// Is lets errors.Is(err, ErrWorkshop) find any refusal.
func (e *WorkshopError) Is(target error) bool { return target == ErrWorkshop }

// WorkshopView is the body of GET /v1/workshop.
type WorkshopView struct {
	// Active: the terminal takes part in a workshop; nothing else is set
	// otherwise except Available and Online.
	Active   bool   `json:"active"`
	ID       string `json:"id,omitempty"`
	Title    string `json:"title,omitempty"`
	Question string `json:"question,omitempty"`
	Lang     string `json:"lang,omitempty"`   // the workshop's language, de or en
	Method   string `json:"method,omitempty"` // simple, 1-2-4-all, cafe
	// Named: ideas may carry a first name (WorkshopIdeaRequest.Author).
	Named bool `json:"named,omitempty"`
	// Tables is the number of café tables (method cafe), 0 otherwise: a
	// participant names theirs with each idea (WorkshopIdeaRequest.Table).
	Tables int `json:"tables,omitempty"`
	// MaxIdeaChars is the longest idea in characters.
	MaxIdeaChars int `json:"max_idea_chars,omitempty"`
	// JoinURL is for the join QR code (phones), "" if phones may not join.
	JoinURL string `json:"join_url,omitempty"`
	// ResultsURL is the public results page.
	ResultsURL string `json:"results_url,omitempty"`
	// Started: the first phase has opened; Ended: the workshop is over.
	Started  bool `json:"started"`
	Ended    bool `json:"ended"`
	JoinOpen bool `json:"join_open"`
	// Phase is the current phase; nil before the workshop starts.
	Phase *WorkshopPhase `json:"phase,omitempty"`
	// Ideas visible to participants (not hidden or held), oldest first,
	// duplicates included with MergedInto set.
	Ideas  []WorkshopIdea  `json:"ideas"`
	Themes []WorkshopTheme `json:"themes"`
	// Round is the current voting round; nil before voting.
	Round *WorkshopRound `json:"round,omitempty"`
	// Results of the current round once the moderator revealed them,
	// best first.
	Results []WorkshopResult `json:"results,omitempty"`
	Counts  WorkshopCounts   `json:"counts"`
	// Online: the terminal holds a live connection to the hub for this
	// workshop. Queued: this terminal's events the hub has not stored
	// yet. LastSync: when the terminal last heard from the hub about it.
	Online   bool      `json:"online"`
	Queued   int       `json:"queued"`
	LastSync time.Time `json:"last_sync,omitzero"`
	// Me is the voter asked for with ?voter=.
	Me *WorkshopMe `json:"me,omitempty"`
	// Available are the open workshops the hub lists for this terminal
	// (for a moderator's switch).
	Available []WorkshopSummary `json:"available,omitempty"`
}

// WorkshopSummary names a workshop a moderator may switch to.
type WorkshopSummary struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// WorkshopPhase is the current phase.
type WorkshopPhase struct {
	Index int    `json:"index"` // from 0
	Count int    `json:"count"` // phases in the plan
	Kind  string `json:"kind"`  // ideas, cluster, vote, results
	Title string `json:"title"`
	// EndsAt is the phase's timer, zero for none.
	EndsAt time.Time `json:"ends_at,omitzero"`
	// Round is the café round of an ideas phase, 0 elsewhere.
	Round int `json:"round,omitempty"`
}

// WorkshopIdea is one idea as participants see it.
type WorkshopIdea struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Author string `json:"author,omitempty"`
	// Theme is the theme's ID, "" unsorted, "parking" the parking lot.
	Theme      string `json:"theme,omitempty"`
	MergedInto string `json:"merged_into,omitempty"`
	Late       bool   `json:"late,omitempty"`
	// Pending: only this terminal has it yet.
	Pending bool `json:"pending,omitempty"`
	// Mine: written by the voter asked for.
	Mine bool `json:"mine,omitempty"`
}

// WorkshopTheme is a theme and its ideas' IDs.
type WorkshopTheme struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Ideas []string `json:"ideas"`
}

// WorkshopRound is a voting round.
type WorkshopRound struct {
	N          int    `json:"n"`  // from 1
	On         string `json:"on"` // ideas or themes
	Dots       int    `json:"dots"`
	MaxPerItem int    `json:"max_per_item,omitempty"`
	// Items one may vote on (idea or theme IDs) in display order.
	Items    []string `json:"items"`
	Revealed bool     `json:"revealed"`
	Closed   bool     `json:"closed"`
}

// WorkshopResult is one ranked item of a revealed round.
type WorkshopResult struct {
	Item    string `json:"item"`
	Text    string `json:"text"`
	Dots    int    `json:"dots"`
	Rank    int    `json:"rank"`
	NearTie bool   `json:"near_tie,omitempty"`
}

// WorkshopCounts are the live numbers.
type WorkshopCounts struct {
	Voters int `json:"voters"`
	Ideas  int `json:"ideas"`
	// Done: voters who said "I'm done" in the current phase.
	Done int `json:"done"`
	// Dots counted in the current round.
	Dots int `json:"dots"`
}

// WorkshopMe is one voter's part.
type WorkshopMe struct {
	Voter string `json:"voter"`
	Label string `json:"label"`
	Via   string `json:"via"` // card, guest
	// Pending: the check-in is on this terminal only yet.
	Pending  bool          `json:"pending,omitempty"`
	Removed  bool          `json:"removed,omitempty"`
	Done     bool          `json:"done"` // in the current phase
	Ideas    int           `json:"ideas"`
	DotsLeft int           `json:"dots_left"`
	Dots     []WorkshopDot `json:"dots"`
}

// WorkshopDot is one of the voter's dots in the current round.
type WorkshopDot struct {
	ID   string `json:"id"`
	Item string `json:"item"`
	// Status: counted, pending, over_limit, late, rejected, void
	// (workshop.DotStatus; taken dots are left out).
	Status string `json:"status"`
}

// WorkshopCheckinRequest is the body of POST /v1/workshop/checkin: one of
// CardHash (from a card event), CardUID (the CLI; the agent hashes it)
// or Guest.
type WorkshopCheckinRequest struct {
	CardHash string `json:"card_hash,omitempty"`
	CardUID  string `json:"card_uid,omitempty"`
	Guest    bool   `json:"guest,omitempty"`
}

// WorkshopCheckin is the voter checked in. A card that checked in
// before gets its voter back (New false).
type WorkshopCheckin struct {
	Voter   string `json:"voter"`
	Label   string `json:"label"`
	New     bool   `json:"new"`
	Pending bool   `json:"pending"`
}

// WorkshopIdeaRequest is the body of POST /v1/workshop/ideas. Author is
// kept only in a workshop with named ideas. Table is the café table the
// participant sits at (1 to WorkshopView.Tables; invalid elsewhere); 0
// is the terminal's own table, if the café has one for it.
type WorkshopIdeaRequest struct {
	Voter  string `json:"voter"`
	Text   string `json:"text"`
	Author string `json:"author,omitempty"`
	Table  int    `json:"table,omitempty"`
}

// WorkshopIdeaResponse is the idea stored.
type WorkshopIdeaResponse struct {
	ID      string `json:"id"`
	Pending bool   `json:"pending"`
	// Late: the phase had closed; the idea goes to the late lane.
	Late bool `json:"late,omitempty"`
}

// WorkshopDotRequest is the body of POST /v1/workshop/dots: one dot on
// Item (an idea's or theme's ID) of the current round.
type WorkshopDotRequest struct {
	Voter string `json:"voter"`
	Item  string `json:"item"`
}

// WorkshopDotTakeRequest is the body of POST /v1/workshop/dots/take.
type WorkshopDotTakeRequest struct {
	Voter string `json:"voter"`
	Dot   string `json:"dot"`
}

// WorkshopDotResponse is the dot placed or taken back.
type WorkshopDotResponse struct {
	ID       string `json:"id"`
	Status   string `json:"status"` // pending, counted, …, taken
	DotsLeft int    `json:"dots_left"`
}

// WorkshopDoneRequest is the body of POST /v1/workshop/done.
type WorkshopDoneRequest struct {
	Voter string `json:"voter"`
}

// WorkshopPrintRequest is the body of POST /v1/workshop/print.
type WorkshopPrintRequest struct {
	// Lang of the receipt's labels (de, en); "" for the workshop's.
	Lang string `json:"lang,omitempty"`
	// Top is how many items to print, 0 for 5.
	Top int `json:"top,omitempty"`
}

// WorkshopSwitchRequest is the body of POST /v1/workshop/switch. Exactly
// one of CardHash (from a card event) and CardUID (CLI) names the card.
type WorkshopSwitchRequest struct {
	Workshop string `json:"workshop"`
	CardHash string `json:"card_hash,omitempty"`
	CardUID  string `json:"card_uid,omitempty"`
	PIN      string `json:"pin"`
}

// WorkshopLeaveRequest is the body of POST /v1/workshop/leave.
type WorkshopLeaveRequest struct {
	CardHash string `json:"card_hash,omitempty"`
	CardUID  string `json:"card_uid,omitempty"`
	PIN      string `json:"pin"`
}

// WorkshopBackend is what the workshop endpoints need of the agent. A
// Backend that does not implement it answers them with 503.
type WorkshopBackend interface {
	Workshop(ctx context.Context, voter string) (WorkshopView, error)
	WorkshopCheckin(ctx context.Context, req WorkshopCheckinRequest) (WorkshopCheckin, error)
	WorkshopIdea(ctx context.Context, req WorkshopIdeaRequest) (WorkshopIdeaResponse, error)
	WorkshopDot(ctx context.Context, req WorkshopDotRequest) (WorkshopDotResponse, error)
	WorkshopDotTake(ctx context.Context, req WorkshopDotTakeRequest) (WorkshopDotResponse, error)
	WorkshopDone(ctx context.Context, req WorkshopDoneRequest) error
	WorkshopPrint(ctx context.Context, req WorkshopPrintRequest) (PrintResponse, error)
	WorkshopSwitch(ctx context.Context, req WorkshopSwitchRequest) (WorkshopView, error)
	WorkshopLeave(ctx context.Context, req WorkshopLeaveRequest) (WorkshopView, error)
}

func (s *Server) workshopRoutes(mux *http.ServeMux) {
	with := func(h func(WorkshopBackend, http.ResponseWriter, *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, ok := s.backend.(WorkshopBackend)
			if !ok {
				s.fail(w, userr.New("this agent runs no workshops", ErrUnavailable))
				return
			}
			h(b, w, r)
		}
	}
	mux.HandleFunc("GET /v1/workshop", with(func(b WorkshopBackend, w http.ResponseWriter, r *http.Request) {
		v, err := b.Workshop(r.Context(), r.URL.Query().Get("voter"))
		s.answer(w, http.StatusOK, v, err)
	}))
	mux.HandleFunc("POST /v1/workshop/checkin", with(workshopPost(s, http.StatusOK, WorkshopBackend.WorkshopCheckin)))
	mux.HandleFunc("POST /v1/workshop/ideas", with(workshopPost(s, http.StatusCreated, WorkshopBackend.WorkshopIdea)))
	mux.HandleFunc("POST /v1/workshop/dots", with(workshopPost(s, http.StatusCreated, WorkshopBackend.WorkshopDot)))
	mux.HandleFunc("POST /v1/workshop/dots/take", with(workshopPost(s, http.StatusOK, WorkshopBackend.WorkshopDotTake)))
	mux.HandleFunc("POST /v1/workshop/done", with(workshopPost(s, http.StatusOK,
		func(b WorkshopBackend, ctx context.Context, req WorkshopDoneRequest) (struct{}, error) {
			return struct{}{}, b.WorkshopDone(ctx, req)
		})))
	mux.HandleFunc("POST /v1/workshop/print", with(workshopPost(s, http.StatusOK, WorkshopBackend.WorkshopPrint)))
	mux.HandleFunc("POST /v1/workshop/switch", with(workshopPost(s, http.StatusOK, WorkshopBackend.WorkshopSwitch)))
	mux.HandleFunc("POST /v1/workshop/leave", with(workshopPost(s, http.StatusOK, WorkshopBackend.WorkshopLeave)))
}

// workshopPost is a workshop endpoint taking a small JSON request and
// answering call's response with status (or call's error).
func workshopPost[Req, Resp any](s *Server, status int, call func(WorkshopBackend, context.Context, Req) (Resp, error)) func(WorkshopBackend, http.ResponseWriter, *http.Request) {
	return func(b WorkshopBackend, w http.ResponseWriter, r *http.Request) {
		var req Req
		if s.decodeSmall(w, r, &req) {
			resp, err := call(b, r.Context(), req)
			s.answer(w, status, resp, err)
		}
	}
}

// maxWorkshopRequest bounds a workshop request's body: an idea is at most
// a few KiB of UTF-8.
const maxWorkshopRequest = 16 << 10

func (s *Server) decodeSmall(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxWorkshopRequest)
	return s.decode(w, r, v)
}

// Workshop returns the workshop this terminal shows; voter may be "".
func (c *Client) Workshop(ctx context.Context, voter string) (WorkshopView, error) {
	var out WorkshopView
	path := "/v1/workshop"
	if voter != "" {
		path += "?voter=" + url.QueryEscape(voter)
	}
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out, err
}

// WorkshopCheckin checks a card or a new guest in.
func (c *Client) WorkshopCheckin(ctx context.Context, req WorkshopCheckinRequest) (WorkshopCheckin, error) {
	var out WorkshopCheckin
	err := c.do(ctx, http.MethodPost, "/v1/workshop/checkin", req, &out)
	return out, err
}

// WorkshopIdea adds an idea.
func (c *Client) WorkshopIdea(ctx context.Context, req WorkshopIdeaRequest) (WorkshopIdeaResponse, error) {
	var out WorkshopIdeaResponse
	err := c.do(ctx, http.MethodPost, "/v1/workshop/ideas", req, &out)
	return out, err
}

// WorkshopDot places a dot.
func (c *Client) WorkshopDot(ctx context.Context, req WorkshopDotRequest) (WorkshopDotResponse, error) {
	var out WorkshopDotResponse
	err := c.do(ctx, http.MethodPost, "/v1/workshop/dots", req, &out)
	return out, err
}

// WorkshopDotTake takes a dot back.
func (c *Client) WorkshopDotTake(ctx context.Context, req WorkshopDotTakeRequest) (WorkshopDotResponse, error) {
	var out WorkshopDotResponse
	err := c.do(ctx, http.MethodPost, "/v1/workshop/dots/take", req, &out)
	return out, err
}

// WorkshopDone says the voter is done with the current phase.
func (c *Client) WorkshopDone(ctx context.Context, req WorkshopDoneRequest) error {
	return c.do(ctx, http.MethodPost, "/v1/workshop/done", req, nil)
}

// WorkshopPrint prints the summary receipt.
func (c *Client) WorkshopPrint(ctx context.Context, req WorkshopPrintRequest) (PrintResponse, error) {
	var out PrintResponse
	err := c.do(ctx, http.MethodPost, "/v1/workshop/print", req, &out)
	return out, err
}

// WorkshopSwitch puts the terminal into a workshop (moderator).
func (c *Client) WorkshopSwitch(ctx context.Context, req WorkshopSwitchRequest) (WorkshopView, error) {
	var out WorkshopView
	err := c.do(ctx, http.MethodPost, "/v1/workshop/switch", req, &out)
	return out, err
}

// WorkshopLeave takes the terminal out of its workshop (moderator).
func (c *Client) WorkshopLeave(ctx context.Context, req WorkshopLeaveRequest) (WorkshopView, error) {
	var out WorkshopView
	err := c.do(ctx, http.MethodPost, "/v1/workshop/leave", req, &out)
	return out, err
}
