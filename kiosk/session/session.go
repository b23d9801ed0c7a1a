// Package session is the resident session logic of the terminal window,
// without Fyne: when a session starts and ends (done, timeout with a
// warning first, card removed), what it holds (language, display mode,
// the drafts of a report or survey) and that all of it is wiped at its
// end; card hashing with the deployment key; the survey once-rules; the
// receipts the window prints; what sensor values mean. It builds with
// CGO_ENABLED=0 and every time-dependent part takes a clock.
//
// A session is private to one resident: the next session starts from a
// zero Session, so it cannot see anything of the previous one (see
// TestNextSessionSeesNothing here and in kiosk/ui).
//
// It speaks its own types (SurveyResponse, Device, receipt.Receipt), not
// the local API's: the window's client, kiosk/ui/backend, converts them
// to and from kiosk/localapi, so this logic does not change when the
// wire format does.
package session

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// Defaults for zero Opts fields.
const (
	DefaultTimeout   = 120 * time.Second
	DefaultWarning   = 30 * time.Second
	DefaultCardHold  = 5 * time.Second
	DefaultLanguage  = "de"
	MaxReportText    = api.MaxReportText // the hub refuses longer texts
	MaxSurveyText    = api.MaxSurveyText
	DefaultLargeText = false
	// MinWarning: the timeout warning gives a resident at least this long
	// to ask for more time (EN 301 549 7.1 and WCAG 2.2.1 ask for 20 s),
	// whatever the content sets.
	MinWarning = 20 * time.Second
	// SpeechFactor lengthens every timeout while the terminal speaks: a
	// resident who listens to a screen needs far longer than one who
	// glances at it.
	SpeechFactor = 3
)

// EndReason says why a session ended.
type EndReason int

const (
	EndDone        EndReason = iota + 1 // the resident finished
	EndTimeout                          // no touch for Timeout + Warning
	EndCardRemoved                      // the card that had lain on the reader was taken away
	EndOutOfOrder                       // the terminal went out of order
)

func (r EndReason) String() string {
	switch r {
	case EndDone:
		return "done"
	case EndTimeout:
		return "timeout"
	case EndCardRemoved:
		return "card_removed"
	case EndOutOfOrder:
		return "out_of_order"
	}
	return "unknown"
}

// State is where the session stands.
type State int

const (
	Idle    State = iota // no session: the attract screen
	Active               // a resident is using the terminal
	Warning              // inactive for Timeout: ask whether they need more time
)

func (s State) String() string {
	return [...]string{"idle", "active", "warning"}[s]
}

// Opts configures a Manager.
type Opts struct {
	// Timeout of inactivity before the warning; default 120 s.
	Timeout time.Duration
	// Warning is how long the warning shows before the session ends;
	// default 30 s, at least MinWarning.
	Warning time.Duration
	// CardHold: a card that lay on the reader at least this long ends the
	// session when it is taken away; a shorter tap only identifies.
	// Default 5 s.
	CardHold time.Duration
	// Language at the start of every session; default "de".
	Language string
	// Now defaults to time.Now.
	Now func() time.Time
	// NewID makes session ids; default 16 random bytes in hex.
	NewID func() string
	// Lock, if set, is held from a session's start to its end (whatever
	// ends it), so the updater does not restart the kiosk meanwhile.
	Lock SessionLock
}

// SessionLock is what the Manager holds during a session (*Lock).
type SessionLock interface {
	Hold()
	Release()
}

// Session is what one resident's session holds. The window reads and
// writes it; Manager.End replaces it with nothing.
type Session struct {
	ID      string
	Started time.Time
	// CardHash is the keyed hash of the card that started or identified
	// the session, or "".
	CardHash string
	Language string
	// Display modes chosen in this session.
	LargeText, HighContrast bool
	Report                  Report
	// Survey is the survey being answered.
	Survey SurveyDraft
	// Answered lists the surveys answered in this session.
	Answered map[string]bool
	// Ticket is the waiting number drawn in this session, 0 if none.
	Ticket int
	// Reference of the report sent in this session.
	Reference string
}

// Report is the draft of a problem report.
type Report struct {
	Category string
	Text     string
	Place    string
}

// SurveyDraft is a survey being answered.
type SurveyDraft struct {
	ID      string
	Step    int
	Choices map[string][]string
	Scale   map[string]int
	Text    map[string]string
}

// Manager runs one session at a time.
type Manager struct {
	opts Opts

	mu      sync.Mutex
	cur     *Session
	last    time.Time // last activity
	cardAt  time.Time // when the session's card was presented
	cardIn  bool
	ended   int
	lastWhy EndReason
	speech  bool
}

// NewManager returns a Manager without a session.
func NewManager(opts Opts) *Manager {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Warning <= 0 {
		opts.Warning = DefaultWarning
	}
	opts.Warning = max(opts.Warning, MinWarning)
	if opts.CardHold <= 0 {
		opts.CardHold = DefaultCardHold
	}
	if opts.Language == "" {
		opts.Language = DefaultLanguage
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewID == nil {
		opts.NewID = func() string {
			b := make([]byte, 16)
			_, _ = rand.Read(b)
			return hex.EncodeToString(b)
		}
	}
	return &Manager{opts: opts}
}

// SetTiming changes timeout and warning (from the content); zero keeps
// the current value.
func (m *Manager) SetTiming(timeout, warning time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if timeout > 0 {
		m.opts.Timeout = timeout
	}
	if warning > 0 {
		m.opts.Warning = max(warning, MinWarning)
	}
}

// SetSpeechMode lengthens (on) or restores (off) every timeout by
// SpeechFactor. The window owns the mode: a session's end does not
// change it, since headphones may still be plugged in.
func (m *Manager) SetSpeechMode(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.speech = on
}

// SpeechMode reports whether timeouts are lengthened for speech.
func (m *Manager) SpeechMode() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.speech
}

// Timing is the timeout and warning in force now (lengthened in speech
// mode).
func (m *Manager) Timing() (timeout, warning time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.timingLocked()
}

func (m *Manager) timingLocked() (timeout, warning time.Duration) {
	if m.speech {
		return m.opts.Timeout * SpeechFactor, m.opts.Warning * SpeechFactor
	}
	return m.opts.Timeout, m.opts.Warning
}

// SetDefaultLanguage sets the language sessions start in.
func (m *Manager) SetDefaultLanguage(lang string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if lang != "" {
		m.opts.Language = lang
	}
}

// DefaultLanguage is the language sessions start in.
func (m *Manager) DefaultLanguage() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.opts.Language
}

// Start begins a session (or returns the running one). cardHash may be "".
func (m *Manager) Start(cardHash string) *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	m.last = now
	if m.cur != nil {
		return m.cur
	}
	if m.opts.Lock != nil {
		m.opts.Lock.Hold()
	}
	m.cur = &Session{ID: m.opts.NewID(), Started: now, Language: m.opts.Language, Answered: map[string]bool{}}
	m.cur.Survey = SurveyDraft{}
	if cardHash != "" {
		m.cur.CardHash, m.cardAt, m.cardIn = cardHash, now, true
	}
	return m.cur
}

// Current is the running session, or nil.
func (m *Manager) Current() *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

// Touch records activity: the inactivity timer starts again, and a
// warning is dismissed.
func (m *Manager) Touch() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = m.opts.Now()
}

// Extend is the warning's "more time" button (or any key): it may be
// used any number of times.
func (m *Manager) Extend() { m.Touch() }

// Card handles a card presented or removed. It returns the session (nil if
// it ended) and whether this call started or ended one.
func (m *Manager) Card(presented bool, hash string) (s *Session, started, ended bool) {
	m.mu.Lock()
	now := m.opts.Now()
	if presented {
		if m.cur == nil {
			m.mu.Unlock()
			return m.Start(hash), true, false
		}
		m.last = now
		if m.cur.CardHash == "" || m.cur.CardHash == hash {
			m.cur.CardHash, m.cardAt, m.cardIn = hash, now, true
		}
		defer m.mu.Unlock()
		return m.cur, false, false
	}
	if m.cur == nil || hash != m.cur.CardHash || !m.cardIn {
		defer m.mu.Unlock()
		return m.cur, false, false
	}
	m.cardIn = false
	if now.Sub(m.cardAt) >= m.opts.CardHold {
		m.endLocked(EndCardRemoved)
		m.mu.Unlock()
		return nil, false, true
	}
	m.last = now
	defer m.mu.Unlock()
	return m.cur, false, false
}

// Check ends a session that has been inactive for Timeout+Warning and
// reports the state and, in Warning, the time left.
func (m *Manager) Check() (State, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == nil {
		return Idle, 0
	}
	idle := m.opts.Now().Sub(m.last)
	timeout, warning := m.timingLocked()
	switch {
	case idle >= timeout+warning:
		m.endLocked(EndTimeout)
		return Idle, 0
	case idle >= timeout:
		return Warning, timeout + warning - idle
	}
	return Active, 0
}

// End ends the session and wipes it.
func (m *Manager) End(why EndReason) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.endLocked(why)
}

// LastEnd says why the last session ended and how many have ended.
func (m *Manager) LastEnd() (EndReason, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastWhy, m.ended
}

func (m *Manager) endLocked(why EndReason) {
	if m.cur == nil {
		return
	}
	// Overwrite what the window may still hold a pointer to, so a stale
	// screen cannot show or send it. (Go strings cannot be zeroed in place;
	// the references go and the garbage collector reclaims them.)
	*m.cur = Session{}
	m.cur = nil
	m.cardIn = false
	m.cardAt = time.Time{}
	m.ended++
	m.lastWhy = why
	if m.opts.Lock != nil {
		m.opts.Lock.Release()
	}
}
