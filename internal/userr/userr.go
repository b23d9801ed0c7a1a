// Package userr marks errors whose message may be shown to a person: a
// resident at a terminal, or IT staff in the console. Everything else is
// logged and replaced by a generic message.
package userr

import "errors"

// Error carries a message safe to show, and the cause for the logs.
type Error struct {
	// Msg is plain language, without internals or personal data.
	Msg string
	// Err is the underlying cause; it may be nil.
	Err error
}

// New returns a user-visible error with message msg wrapping cause.
func New(msg string, cause error) *Error { return &Error{Msg: msg, Err: cause} }

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Message returns the message to show for err: the Msg of the first
// *Error in its chain, or fallback if there is none.
func Message(err error, fallback string) string {
	var ue *Error
	if errors.As(err, &ue) {
		return ue.Msg
	}
	return fallback
}
