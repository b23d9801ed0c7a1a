package api

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Content is what a terminal shows: its services, pages, announcements,
// surveys, problem categories and places, and the settings of its
// sessions. The hub serves one Content per quarter (a later part of the
// terminal API); until then a terminal loads it from a file or from its
// embedded demo content. Every text a resident reads is a [Text], one
// string per language.
type Content struct {
	// Version identifies this content (e.g. a timestamp or a counter); a
	// terminal keeps the last good version and reports which one it shows.
	Version string `json:"version"`
	// Quarter is the quarter's name as shown on the attract screen.
	Quarter Text `json:"quarter"`
	// Languages the terminal offers, in the order of the language switch;
	// the first is the default. Each needs a translation file on the
	// terminal. Default ["de", "en"].
	Languages []string `json:"languages,omitempty"`
	// Session timing. Zero values: 120 s of inactivity, then a warning
	// that lasts 30 s before the session ends.
	SessionTimeoutSeconds int `json:"session_timeout_seconds,omitempty"`
	WarningSeconds        int `json:"warning_seconds,omitempty"`

	// Services are the home screen's tiles, in order.
	Services          []Service      `json:"services"`
	Pages             []Page         `json:"pages,omitempty"`
	Announcements     []Announcement `json:"announcements,omitempty"`
	Surveys           []Survey       `json:"surveys,omitempty"`
	ProblemCategories []Category     `json:"problem_categories,omitempty"`
	// Places are nearby locations a resident may name in a report,
	// besides the terminal's own location (TerminalPlace).
	Places        []Place  `json:"places,omitempty"`
	TerminalPlace Place    `json:"terminal_place"`
	HelpDesk      HelpDesk `json:"help_desk"`
	// ServiceCards are keyed hashes (hex HMAC-SHA256 of the card UID with
	// the deployment's card key) of the cards that open the service menu,
	// together with ServicePIN.
	ServiceCards []string `json:"service_cards,omitempty"`
	// ServicePIN is a PIN hash made by [HashPIN].
	ServicePIN string `json:"service_pin,omitempty"`
	// ModeratorCards are keyed hashes (as ServiceCards) of the cards that,
	// with ModeratorPIN, let a workshop's moderator switch a terminal
	// into a workshop or out of it; they open nothing else. Service cards
	// with the service PIN may do the same.
	ModeratorCards []string `json:"moderator_cards,omitempty"`
	// ModeratorPIN is a PIN hash made by [HashPIN].
	ModeratorPIN string `json:"moderator_pin,omitempty"`
}

// Text is a text in several languages: language code → text.
type Text map[string]string

// In returns the text in lang, else in fallback, else any non-empty one
// (the lowest language code, so the choice is stable).
func (t Text) In(lang, fallback string) string {
	if s := t[lang]; s != "" {
		return s
	}
	if s := t[fallback]; s != "" {
		return s
	}
	best := ""
	for l, s := range t {
		if s != "" && (best == "" || l < best) {
			best = l
		}
	}
	return t[best]
}

// Service kinds: what a home tile opens.
const (
	ServiceInfo   = "info"   // an information page (Target: page id)
	ServiceReport = "report" // report a problem
	ServiceSurvey = "survey" // a survey (Target: survey id) or, empty, the list
	ServiceAir    = "air"    // air and climate
	ServiceTicket = "ticket" // a waiting ticket for the help desk
)

// Service is one tile on the home screen.
type Service struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Title Text   `json:"title"`
	// Subtitle says in a few words what the tile is for.
	Subtitle Text `json:"subtitle,omitempty"`
	// Icon names an icon the terminal knows (info, report, survey, air,
	// ticket); empty uses the kind's.
	Icon string `json:"icon,omitempty"`
	// Target is a page or survey id, depending on Kind.
	Target string `json:"target,omitempty"`
}

// Page is an information page: a title and paragraphs of plain text
// (paragraphs separated by a blank line).
type Page struct {
	ID    string `json:"id"`
	Title Text   `json:"title"`
	Body  Text   `json:"body"`
}

// Announcement is shown on the attract screen while it is valid.
type Announcement struct {
	ID    string    `json:"id"`
	Title Text      `json:"title"`
	Body  Text      `json:"body,omitempty"`
	From  time.Time `json:"from,omitzero"`  // zero: already valid
	Until time.Time `json:"until,omitzero"` // zero: no end
}

// ValidAt reports whether the announcement is shown at t.
func (a Announcement) ValidAt(t time.Time) bool {
	return (a.From.IsZero() || !t.Before(a.From)) && (a.Until.IsZero() || t.Before(a.Until))
}

// Survey once-rules: how often one resident may answer.
const (
	OncePerCard    = "card"    // one response per card (keyed hash); needs a card
	OncePerSession = "session" // one response per session
)

// Question kinds.
const (
	QuestionSingle   = "single"   // one of Options
	QuestionMultiple = "multiple" // any of Options
	QuestionScale    = "scale"    // an integer from Min to Max
	QuestionText     = "text"     // free text
)

// Survey is a set of questions.
type Survey struct {
	ID        string     `json:"id"`
	Title     Text       `json:"title"`
	Intro     Text       `json:"intro,omitempty"`
	Once      string     `json:"once"`
	Questions []Question `json:"questions"`
	From      time.Time  `json:"from,omitzero"`
	Until     time.Time  `json:"until,omitzero"`
}

// OpenAt reports whether the survey takes responses at t.
func (s Survey) OpenAt(t time.Time) bool {
	return (s.From.IsZero() || !t.Before(s.From)) && (s.Until.IsZero() || t.Before(s.Until))
}

// Question is one question of a survey.
type Question struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Text     Text     `json:"text"`
	Options  []Option `json:"options,omitempty"` // single, multiple
	Min      int      `json:"min,omitempty"`     // scale
	Max      int      `json:"max,omitempty"`     // scale
	MinLabel Text     `json:"min_label,omitempty"`
	MaxLabel Text     `json:"max_label,omitempty"`
	Optional bool     `json:"optional,omitempty"`
}

// Option is one answer of a choice question.
type Option struct {
	ID    string `json:"id"`
	Label Text   `json:"label"`
}

// Category is a kind of problem a resident may report.
type Category struct {
	ID    string `json:"id"`
	Label Text   `json:"label"`
}

// Place is a location a report may name.
type Place struct {
	ID   string `json:"id"`
	Name Text   `json:"name"`
	// Lat and Lon (WGS 84) are optional.
	Lat float64 `json:"lat,omitempty"`
	Lon float64 `json:"lon,omitempty"`
}

// HelpDesk is the desk whose waiting tickets the terminal prints.
type HelpDesk struct {
	Name Text `json:"name"`
	// Hours are the opening hours as text, printed on the ticket.
	Hours Text `json:"hours,omitempty"`
}

// Limits of content.
const (
	MaxContentBytes = 4 << 20
	MaxPINLen       = 12
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks the content's ids, kinds and references, so a terminal
// never has to handle a tile that points nowhere.
func (c Content) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	ids := func(what string, list []string) map[string]bool {
		seen := map[string]bool{}
		for _, id := range list {
			if !idPattern.MatchString(id) {
				bad("%s id %q: lower-case letters, digits, - and _ only", what, id)
			}
			if seen[id] {
				bad("%s id %q used twice", what, id)
			}
			seen[id] = true
		}
		return seen
	}
	if len(c.Quarter) == 0 {
		bad("quarter: a name is required")
	}
	for _, l := range c.Languages {
		if !ValidLanguage(l) {
			bad("language %q: use a lower-case code such as de", l)
		}
	}
	if c.SessionTimeoutSeconds < 0 || c.WarningSeconds < 0 {
		bad("session timing must not be negative")
	}
	pages := ids("page", collect(c.Pages, func(p Page) string { return p.ID }))
	surveys := ids("survey", collect(c.Surveys, func(s Survey) string { return s.ID }))
	ids("service", collect(c.Services, func(s Service) string { return s.ID }))
	ids("announcement", collect(c.Announcements, func(a Announcement) string { return a.ID }))
	ids("category", collect(c.ProblemCategories, func(a Category) string { return a.ID }))
	ids("place", collect(c.Places, func(a Place) string { return a.ID }))
	// A report names its place by id (api.ProblemReport), the terminal's
	// own place too.
	if id := c.TerminalPlace.ID; id != "" && !idPattern.MatchString(id) {
		bad("terminal place id %q: lower-case letters, digits, - and _ only", id)
	}
	if len(c.Services) == 0 {
		bad("services: at least one is required")
	}
	for _, s := range c.Services {
		if len(s.Title) == 0 {
			bad("service %s: a title is required", s.ID)
		}
		switch s.Kind {
		case ServiceInfo:
			if !pages[s.Target] {
				bad("service %s: page %q does not exist", s.ID, s.Target)
			}
		case ServiceSurvey:
			if s.Target != "" && !surveys[s.Target] {
				bad("service %s: survey %q does not exist", s.ID, s.Target)
			}
		case ServiceReport:
			if len(c.ProblemCategories) == 0 {
				bad("service %s: reports need problem categories", s.ID)
			}
		case ServiceAir, ServiceTicket:
		default:
			bad("service %s: unknown kind %q", s.ID, s.Kind)
		}
	}
	for _, s := range c.Surveys {
		if s.Once != OncePerCard && s.Once != OncePerSession {
			bad("survey %s: once must be card or session", s.ID)
		}
		if len(s.Questions) == 0 {
			bad("survey %s: no questions", s.ID)
		}
		ids("survey "+s.ID+" question", collect(s.Questions, func(q Question) string { return q.ID }))
		for _, q := range s.Questions {
			switch q.Kind {
			case QuestionSingle, QuestionMultiple:
				if len(q.Options) < 2 {
					bad("survey %s question %s: at least two options", s.ID, q.ID)
				}
				ids("survey "+s.ID+" option", collect(q.Options, func(o Option) string { return o.ID }))
			case QuestionScale:
				if q.Max <= q.Min || q.Max-q.Min > 10 {
					bad("survey %s question %s: scale needs min < max, at most 11 steps", s.ID, q.ID)
				}
			case QuestionText:
			default:
				bad("survey %s question %s: unknown kind %q", s.ID, q.ID, q.Kind)
			}
		}
	}
	for _, h := range c.ServiceCards {
		if len(h) != 64 || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
			bad("service card %q: a hex HMAC-SHA256 is required", h)
		}
	}
	if c.ServicePIN != "" {
		if _, _, _, err := parsePIN(c.ServicePIN); err != nil {
			bad("service_pin: %v", err)
		}
	}
	for _, h := range c.ModeratorCards {
		if len(h) != 64 || strings.Trim(strings.ToLower(h), "0123456789abcdef") != "" {
			bad("moderator card %q: a hex HMAC-SHA256 is required", h)
		}
	}
	if c.ModeratorPIN != "" {
		if _, _, _, err := parsePIN(c.ModeratorPIN); err != nil {
			bad("moderator_pin: %v", err)
		}
	}
	return errors.Join(errs...)
}

func collect[T any](list []T, id func(T) string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = id(v)
	}
	return out
}

// PIN hashes are "pbkdf2-sha256$ITERATIONS$SALT$KEY" (salt and key in
// unpadded base64url). A PIN has few digits, so only a slow hash keeps it
// from being read off a terminal's cached content at once.
const pinScheme = "pbkdf2-sha256"

// DefaultPINIterations is the work factor HashPIN uses.
const DefaultPINIterations = 200_000

// HashPIN returns the hash of pin with salt (use 16 random bytes) for
// Content.ServicePIN.
func HashPIN(pin string, salt []byte, iterations int) (string, error) {
	if iterations <= 0 {
		iterations = DefaultPINIterations
	}
	key, err := pbkdf2.Key(sha256.New, pin, salt, iterations, 32)
	if err != nil {
		return "", fmt.Errorf("api: pin hash: %w", err)
	}
	enc := base64.RawURLEncoding
	return fmt.Sprintf("%s$%d$%s$%s", pinScheme, iterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPIN reports whether pin matches hash (made by HashPIN).
func CheckPIN(hash, pin string) bool {
	iter, salt, want, err := parsePIN(hash)
	if err != nil || len(pin) == 0 || len(pin) > MaxPINLen {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pin, salt, iter, len(want))
	return err == nil && hmac.Equal(got, want)
}

func parsePIN(hash string) (int, []byte, []byte, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != pinScheme {
		return 0, nil, nil, errors.New("not a " + pinScheme + " hash")
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return 0, nil, nil, errors.New("bad iteration count")
	}
	salt, err1 := base64.RawURLEncoding.DecodeString(parts[2])
	key, err2 := base64.RawURLEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(key) < 16 {
		return 0, nil, nil, errors.New("bad salt or key")
	}
	return iter, salt, key, nil
}
