package store

import (
	"errors"
	"time"
)

// ErrAlertResolved: the alert is no longer open (it cannot be
// acknowledged any more).
var ErrAlertResolved = errors.New("store: alert already resolved")

// AlertAck is an acknowledgement of an open alert: someone is on it.
type AlertAck struct {
	At   time.Time // zero: not acknowledged
	By   string
	Note string
}

// AlertEntry is an alert as staff see it: with its acknowledgement and
// whether a mute covers it.
type AlertEntry struct {
	Alert
	Ack AlertAck
	// Muted: a mute of its terminal (and kind) is active at the time the
	// entries were asked for.
	Muted bool
}

// Acked reports whether someone acknowledged the alert.
func (e *AlertEntry) Acked() bool { return !e.Ack.At.IsZero() }

// AlertMute holds back the webhook notices of a terminal's alerts (of one
// kind, or of every kind) from CreatedAt until Until, or until lifted.
type AlertMute struct {
	ID         string // chosen by the caller
	TerminalID string
	Kind       string // "" mutes every kind
	Reason     string
	CreatedAt  time.Time
	CreatedBy  string
	Until      time.Time
	LiftedAt   time.Time // zero unless lifted before Until
	LiftedBy   string
}

// End is when the mute stops: Until, or when it was lifted.
func (m *AlertMute) End() time.Time {
	if !m.LiftedAt.IsZero() && m.LiftedAt.Before(m.Until) {
		return m.LiftedAt
	}
	return m.Until
}

// ActiveAt reports whether the mute holds back notices at t.
func (m *AlertMute) ActiveAt(t time.Time) bool { return !t.Before(m.CreatedAt) && t.Before(m.End()) }

// Covers reports whether the mute applies to alerts of kind.
func (m *AlertMute) Covers(kind string) bool { return m.Kind == "" || m.Kind == kind }

// MuteFilter selects mutes. Zero fields select everything.
type MuteFilter struct {
	TerminalID string
	ActiveAt   time.Time // only mutes active at this time
	Limit      int
}

// AlertNotice is an alert with a webhook notice due.
type AlertNotice struct {
	Alert
	// Suppress: the alert resolved under a mute before its opening was
	// sent; the notifier records both notices as done without sending.
	Suppress bool
}

// DiagnosticsInfo describes a stored diagnostics bundle without its body.
type DiagnosticsInfo struct {
	ID         string
	TerminalID string
	CommandID  string
	ReceivedAt time.Time
	Size       int64 // bytes of the bundle's JSON
}
