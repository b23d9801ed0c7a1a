package console

import (
	"context"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// workshopRunData is what the run, cluster, projector and results pages
// show of a workshop; the live socket sends the same, rendered.
type workshopRunData struct {
	Info  store.Workshop
	Spec  workshop.Spec
	S     *workshop.State
	Phase *workshop.PhaseSpec // nil before it opens and after it ended
	// Next and Prev are the phases the controls go to (nil: none).
	Next, Prev *workshop.PhaseSpec
	EndsAt     int64  // the timer, unix ms; 0 for none
	EndsClock  string // the timer's end as a clock reads, for pages without JavaScript
	Counts     workshopCounts
	// Inbox is every idea that is no duplicate, newest first; Held the
	// ones the word list holds, Late the late lane.
	Inbox, Held, Late []*workshop.IdeaState
	LateDots          []*workshop.DotState
	Voters            []*workshop.Voter
	Terminals         []workshopTerminal
	// Round is the newest voting round (nil: none yet); OpenRound a new
	// round's number; Dots the dots a new round would give by default.
	Round     *workshop.Round
	OpenRound int
	Dots      int
	Results   []roundResults
	// Board is the cluster board: themes, unsorted, parking lot, duplicates.
	Themes   []themeColumn
	Unsorted []*workshop.IdeaState
	Parking  []*workshop.IdeaState
	Merged   []*workshop.IdeaState
	JoinURL  string
	ShortURL string
	QR       template.HTML
	// ResultsQR is the public results page's QR code (ResultsShort its
	// address to read), which the projector shows instead of the join
	// code once there are results to read; empty before.
	ResultsQR    template.HTML
	ResultsShort string
	// NoPublicURL: the hub runs without a public address, so the
	// terminals taking part can show no join QR code and print no QR
	// code on their summary (they build both from it).
	NoPublicURL bool
	// LogSHA is the event-log archive's SHA-256 (results page).
	LogSHA string
}

// workshopCounts are the live numbers.
type workshopCounts struct {
	Voters  int `json:"voters"`  // checked in, not removed, not left
	Done    int `json:"done"`    // "I'm done" with the current phase
	Ideas   int `json:"ideas"`   // visible, not duplicates
	Dots    int `json:"dots"`    // counted in the newest round
	Pending int `json:"pending"` // the newest round's dots only their device has yet
}

// workshopTerminal is a taking-part terminal's state.
type workshopTerminal struct {
	ID, Name, Quarter, Status string
	Seen                      *Message
	Queued                    int64
	Known                     bool // enrolled (a removed terminal may still be in the spec)
}

// roundResults is a round's ranking and its dots by status.
type roundResults struct {
	Round   *workshop.Round
	Results []workshop.Result
	Dots    dotTally
}

// dotTally is how a round's dots stand. Taken-back and rejected dots
// are left out: nobody waits on them.
type dotTally struct {
	Counted, Pending, OverLimit, Late, Void int
	// Over are the voters with dots over the limit, in check-in order:
	// the moderator may want to tell them.
	Over []voterOver
}

// voterOver is a voter's dots over the limit in one round, named by the
// voter's pseudonymous label ("Karte 3"), never their ID.
type voterOver struct {
	Label string
	N     int
}

// themeColumn is a theme and its ideas on the board.
type themeColumn struct {
	Theme *workshop.ThemeState
	Ideas []*workshop.IdeaState
}

// runData builds the pages' data from a workshop's view.
func (c *Console) runData(ctx context.Context, r *http.Request, v workshops.View, fleet *fleetCache) (workshopRunData, error) {
	s := v.State
	d := workshopRunData{Info: v.Workshop, Spec: s.Spec, S: s}
	if !s.Ended && s.PhaseIndex >= 0 && s.PhaseIndex < len(s.Spec.Phases) {
		d.Phase = &s.Spec.Phases[s.PhaseIndex]
		if s.PhaseIndex > 0 {
			d.Prev = &s.Spec.Phases[s.PhaseIndex-1]
		}
	}
	if !s.Ended && s.PhaseIndex+1 < len(s.Spec.Phases) {
		d.Next = &s.Spec.Phases[s.PhaseIndex+1]
	}
	if !s.PhaseEndsAt.IsZero() {
		d.EndsAt = s.PhaseEndsAt.UnixMilli()
		d.EndsClock = s.PhaseEndsAt.Local().Format("15:04")
	}
	byID := map[string]*workshop.IdeaState{}
	for _, i := range s.Ideas {
		byID[i.ID] = i
	}
	for _, vo := range s.Voters {
		if vo.Removed || vo.Left {
			continue
		}
		d.Counts.Voters++
		if vo.DonePhases[s.PhaseIndex] {
			d.Counts.Done++
		}
	}
	d.Voters = s.Voters
	placed := map[string]bool{}
	for i := len(s.Ideas) - 1; i >= 0; i-- {
		idea := s.Ideas[i]
		switch {
		case idea.MergedInto != "":
			d.Merged = append(d.Merged, idea)
			continue
		case idea.Held && !idea.Hidden:
			d.Held = append(d.Held, idea)
		}
		d.Inbox = append(d.Inbox, idea)
		if idea.Visible() {
			d.Counts.Ideas++
		}
		if idea.Late && idea.Theme == workshop.PlaceUnsorted && idea.Visible() {
			d.Late = append(d.Late, idea)
		}
	}
	for _, t := range s.Themes {
		col := themeColumn{Theme: t}
		for _, id := range t.Ideas {
			if i := byID[id]; i != nil && i.MergedInto == "" && !i.Hidden && i.Theme == t.ID {
				col.Ideas = append(col.Ideas, i)
				placed[id] = true
			}
		}
		d.Themes = append(d.Themes, col)
	}
	for _, i := range s.Ideas {
		if i.MergedInto != "" || i.Hidden || placed[i.ID] || (i.Late && i.Theme == workshop.PlaceUnsorted) {
			continue
		}
		if i.Theme == workshop.PlaceParking {
			d.Parking = append(d.Parking, i)
		} else {
			d.Unsorted = append(d.Unsorted, i)
		}
	}
	if n := len(s.Rounds); n > 0 {
		d.Round = s.Rounds[n-1]
	}
	d.OpenRound = len(s.Rounds) + 1
	if d.Round != nil && !d.Round.Closed && !d.Round.Revealed {
		d.OpenRound = d.Round.N
	}
	d.Dots = s.Spec.Dots
	if d.Dots == 0 {
		d.Dots = workshop.DefaultDots(d.Counts.Ideas)
	}
	for _, dot := range s.Dots {
		if d.Round != nil && dot.Round == d.Round.N {
			switch dot.Status {
			case workshop.DotCounted:
				d.Counts.Dots++
			case workshop.DotPending:
				d.Counts.Pending++
			}
		}
		if dot.Status == workshop.DotLate {
			d.LateDots = append(d.LateDots, dot)
		}
	}
	tallies := dotTallies(s)
	for _, rd := range s.Rounds {
		d.Results = append(d.Results, roundResults{Round: rd, Results: s.Tally(rd.N), Dots: tallies[rd.N]})
	}
	if err := c.workshopTerminals(ctx, &d, fleet); err != nil {
		return d, err
	}
	d.NoPublicURL = c.o.PublicURL == ""
	d.ShortURL, d.JoinURL = c.joinURL(r, v.Workshop.JoinCode)
	qr, err := qrSVG(d.JoinURL, d.ShortURL)
	if err != nil {
		return d, err
	}
	d.QR = qr
	if resultsToRead(s, d.Phase) {
		d.ResultsShort = d.ShortURL + "/results"
		if d.ResultsQR, err = qrSVG(d.JoinURL+"/results", d.ResultsShort); err != nil {
			return d, err
		}
	}
	return d, nil
}

// dotTallies counts each round's dots by status, and who spent dots
// over their limit (one card on two offline terminals).
func dotTallies(s *workshop.State) map[int]dotTally {
	tallies := map[int]dotTally{}
	over := map[int]map[string]int{} // round → voter ID → dots over the limit
	for _, dot := range s.Dots {
		t := tallies[dot.Round]
		switch dot.Status {
		case workshop.DotCounted:
			t.Counted++
		case workshop.DotPending:
			t.Pending++
		case workshop.DotOverLimit:
			t.OverLimit++
			if over[dot.Round] == nil {
				over[dot.Round] = map[string]int{}
			}
			over[dot.Round][dot.Voter]++
		case workshop.DotLate:
			t.Late++
		case workshop.DotVoid:
			t.Void++
		}
		tallies[dot.Round] = t
	}
	for n, byVoter := range over {
		t := tallies[n]
		for _, vo := range s.Voters {
			if k := byVoter[vo.ID]; k > 0 {
				t.Over = append(t.Over, voterOver{Label: vo.Label, N: k})
			}
		}
		tallies[n] = t
	}
	return tallies
}

// resultsToRead reports whether the room should be pointed at the
// public results page rather than the join page: once the workshop has
// ended, or in its results phase once a round is revealed.
func resultsToRead(s *workshop.State, phase *workshop.PhaseSpec) bool {
	if s.Ended {
		return true
	}
	if phase == nil || phase.Kind != workshop.PhaseResults {
		return false
	}
	return slices.ContainsFunc(s.Rounds, func(r *workshop.Round) bool { return r.Revealed })
}

// projectorLang is the projector's language: the workshop's, which the
// room reads, when the console speaks it; else the reader's.
func (c *Console) projectorLang(r *http.Request, spec workshop.Spec) string {
	if knownLang(spec.Lang) {
		return spec.Lang
	}
	return c.lang(r, principalFrom(r.Context()), false)
}

// joinURL is the phone page's address: the full one for the QR code and
// a short one to read off the projector (without the scheme).
func (c *Console) joinURL(r *http.Request, code string) (short, full string) {
	base := c.o.PublicURL
	if base == "" {
		scheme := "http"
		if c.secure(r) {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	full = strings.TrimRight(base, "/") + "/w/" + code
	short = full
	if i := strings.Index(short, "://"); i >= 0 {
		short = short[i+3:]
	}
	return short, full
}

// workshopTerminals fills the taking-part terminals' state from the
// fleet: online, last seen, and what their outboxes held at their last
// heartbeat (the workshop's events travel there when offline).
func (c *Console) workshopTerminals(ctx context.Context, d *workshopRunData, fleet *fleetCache) error {
	if len(d.Spec.Terminals) == 0 {
		return nil
	}
	rows, err := fleet.rows(ctx, c)
	if err != nil {
		return err
	}
	for _, id := range d.Spec.Terminals {
		t := workshopTerminal{ID: id, Name: id}
		if i := slices.IndexFunc(rows, func(r terminalRow) bool { return r.ID == id }); i >= 0 {
			row := rows[i]
			t = workshopTerminal{ID: id, Name: row.Name, Quarter: row.Quarter, Status: row.Status, Seen: row.Seen, Queued: row.Backlog, Known: true}
		}
		d.Terminals = append(d.Terminals, t)
	}
	return nil
}

// fleetCache keeps the fleet's rows for a live socket a few seconds: a
// workshop changes far more often than terminals report. A nil cache
// reads them every time.
type fleetCache struct {
	at   time.Time
	list []terminalRow
}

// fleetCacheFor is how long a live socket trusts the fleet's rows.
const fleetCacheFor = 5 * time.Second

func (f *fleetCache) rows(ctx context.Context, c *Console) ([]terminalRow, error) {
	if f != nil && !f.at.IsZero() && time.Since(f.at) < fleetCacheFor {
		return f.list, nil
	}
	rows, err := c.fleetRows(ctx)
	if err != nil {
		return nil, err
	}
	if f != nil {
		f.at, f.list = time.Now(), rows
	}
	return rows, nil
}

// pageData loads the workshop of the path and the data of its pages.
func (c *Console) pageData(w http.ResponseWriter, r *http.Request) (workshopRunData, bool) {
	v, ok := c.workshopOf(w, r)
	if !ok {
		return workshopRunData{}, false
	}
	d, err := c.runData(r.Context(), r, v, nil)
	if err != nil {
		c.serverError(w, r, "workshop", err)
		return d, false
	}
	return d, true
}

// workshopPageCSP lets the workshop pages load their script and open
// their live socket to this origin; everything else stays as strict as
// the console's.
const workshopPageCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (c *Console) showWorkshopPage(w http.ResponseWriter, r *http.Request, page string, title *Message, d workshopRunData) {
	w.Header().Set("Content-Security-Policy", workshopPageCSP)
	c.render(w, r, http.StatusOK, page, title, "workshops", d)
}

// workshopRun is the moderator's run page.
func (c *Console) workshopRun(w http.ResponseWriter, r *http.Request) {
	if d, ok := c.pageData(w, r); ok {
		c.showWorkshopPage(w, r, "workshop_run", verbatim(d.Info.Title), d)
	}
}

// workshopCluster is the cluster board.
func (c *Console) workshopCluster(w http.ResponseWriter, r *http.Request) {
	if d, ok := c.pageData(w, r); ok {
		c.showWorkshopPage(w, r, "workshop_cluster", msg("workshops.cluster"), d)
	}
}

// workshopProjector is the view for the room's projector.
func (c *Console) workshopProjector(w http.ResponseWriter, r *http.Request) {
	if d, ok := c.pageData(w, r); ok {
		w.Header().Set("Content-Security-Policy", workshopPageCSP)
		c.renderIn(w, r, http.StatusOK, c.projectorLang(r, d.Spec), "workshop_projector", verbatim(d.Info.Title), "workshops", d)
	}
}

// workshopResults is the printable results page with the exports.
func (c *Console) workshopResults(w http.ResponseWriter, r *http.Request) {
	d, ok := c.pageData(w, r)
	if !ok {
		return
	}
	sha, err := c.o.Workshops.Export(r.Context(), d.Info.ID, "log", io.Discard)
	if err != nil {
		c.serverError(w, r, "workshop log digest", err)
		return
	}
	d.LogSHA = sha
	c.showWorkshopPage(w, r, "workshop_results", msg("workshops.results"), d)
}
