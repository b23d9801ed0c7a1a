package escpos

import (
	"fmt"
	"strings"
	"time"
)

// Real-time status requests: DLE EOT n (docs/protocols.md). Every reply is one
// byte of the form 0xx1xx10.
const (
	StatusPrinter    = 1 // drawer, offline, waiting for recovery, feed button
	StatusOffline    = 2 // cover open, feeding by button, stopped at paper end, error
	StatusErrorCause = 3 // mechanical, autocutter, unrecoverable, auto-recoverable
	StatusPaper      = 4 // near end, paper end
)

// StatusRequest returns the DLE EOT n bytes asking for status n (1–4).
func StatusRequest(n byte) []byte { return []byte{dle, 0x04, n} }

// IsStatusReply reports whether b has the form of a DLE EOT reply, 0xx1xx10.
func IsStatusReply(b byte) bool { return b&0x93 == 0x12 }

// isASBFirst reports whether b starts an automatic status block, xxx1xx00.
func isASBFirst(b byte) bool { return b&0x93 == 0x10 }

// isASBRest reports whether b can be byte 2–4 of an automatic status block:
// bits 4 and 7 are 0, so it can never look like a DLE EOT reply.
func isASBRest(b byte) bool { return b&0x90 == 0 }

const (
	xon  = 0x11
	xoff = 0x13
)

// Paper is the paper roll's state.
type Paper int

const (
	PaperOK Paper = iota
	PaperNearEnd
	PaperOut
)

func (p Paper) String() string {
	switch p {
	case PaperOK:
		return "ok"
	case PaperNearEnd:
		return "near_end"
	case PaperOut:
		return "out"
	}
	return fmt.Sprintf("Paper(%d)", int(p))
}

// ErrorCause is the set of error bits from DLE EOT 3.
type ErrorCause byte

const (
	ErrMechanical      ErrorCause = 1 << 2 // e.g. the print head did not return home
	ErrAutocutter      ErrorCause = 1 << 3 // paper jammed in the cutter
	ErrUnrecoverable   ErrorCause = 1 << 5 // power the printer off and on
	ErrAutoRecoverable ErrorCause = 1 << 6 // e.g. head too hot; clears by itself
)

func (c ErrorCause) String() string {
	var parts []string
	for _, x := range []struct {
		bit  ErrorCause
		name string
	}{{ErrMechanical, "mechanical"}, {ErrAutocutter, "autocutter"}, {ErrUnrecoverable, "unrecoverable"}, {ErrAutoRecoverable, "auto-recoverable"}} {
		if c&x.bit != 0 {
			parts = append(parts, x.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "+")
}

// Status is the printer's state from DLE EOT 1, 2 and 4 (and 3 when it
// reports an error).
type Status struct {
	Online    bool
	Paper     Paper
	CoverOpen bool
	// Error: the printer stopped because of an error; Cause says which.
	Error bool
	Cause ErrorCause
	// DrawerHigh is the level of the cash drawer connector's pin 3; whether
	// high means open depends on the drawer.
	DrawerHigh bool
	// Waiting: offline and waiting for recovery. FeedButton: the paper
	// feed button is pressed (or feeding by it).
	Waiting, FeedButton bool
	Time                time.Time
}

// Printable reports whether a job may be sent now.
func (s Status) Printable() bool {
	return s.Online && s.Paper != PaperOut && !s.CoverOpen && !s.Error
}

func (s Status) String() string {
	var b strings.Builder
	if s.Online {
		b.WriteString("online")
	} else {
		b.WriteString("offline")
	}
	fmt.Fprintf(&b, ", paper %s", s.Paper)
	if s.CoverOpen {
		b.WriteString(", cover open")
	}
	if s.Error {
		fmt.Fprintf(&b, ", error (%s)", s.Cause)
	}
	if s.FeedButton {
		b.WriteString(", feed button")
	}
	return b.String()
}

// condition is the part of a status that changes what the driver reports.
func (s Status) condition() Status {
	return Status{Online: s.Online, Paper: s.Paper, CoverOpen: s.CoverOpen, Error: s.Error, Cause: s.Cause}
}

// Apply merges the reply b to DLE EOT n into s. It fails when b is not a
// status reply or n is not 1–4.
func (s *Status) Apply(n, b byte) error {
	if !IsStatusReply(b) {
		return fmt.Errorf("escpos: %02X is not a status reply", b)
	}
	switch n {
	case StatusPrinter:
		s.DrawerHigh = b&0x04 != 0
		s.Online = b&0x08 == 0
		s.Waiting = b&0x20 != 0
		s.FeedButton = b&0x40 != 0
	case StatusOffline:
		s.CoverOpen = b&0x04 != 0
		s.FeedButton = s.FeedButton || b&0x08 != 0
		if b&0x20 != 0 {
			s.Paper = PaperOut
		}
		s.Error = b&0x40 != 0
	case StatusErrorCause:
		s.Cause = ErrorCause(b & 0x6C)
	case StatusPaper:
		// Each sensor sets two bits; one of the pair is enough for us.
		switch {
		case b&0x60 != 0:
			s.Paper = PaperOut
		case b&0x0C != 0:
			if s.Paper != PaperOut {
				s.Paper = PaperNearEnd
			}
		}
	default:
		return fmt.Errorf("escpos: no status %d", n)
	}
	return nil
}

// Reply returns the reply byte a printer in state s sends to DLE EOT n,
// the inverse of Apply. Simulators and tests use it.
func (s Status) Reply(n byte) byte {
	b := byte(0x12)
	switch n {
	case StatusPrinter:
		if s.DrawerHigh {
			b |= 0x04
		}
		if !s.Online {
			b |= 0x08
		}
		if s.Waiting {
			b |= 0x20
		}
		if s.FeedButton {
			b |= 0x40
		}
	case StatusOffline:
		if s.CoverOpen {
			b |= 0x04
		}
		if s.Paper == PaperOut {
			b |= 0x20
		}
		if s.Error {
			b |= 0x40
		}
	case StatusErrorCause:
		b |= byte(s.Cause) & 0x6C
	case StatusPaper:
		switch s.Paper {
		case PaperNearEnd:
			b |= 0x0C
		case PaperOut:
			b |= 0x0C | 0x60
		}
	}
	return b
}

// MsgKind says what a Scanner found in the printer's output.
type MsgKind int

const (
	// MsgReply is a DLE EOT reply byte.
	MsgReply MsgKind = iota + 1
	// MsgASB is a 4-byte automatic status block (GS a), sent unasked.
	MsgASB
	// MsgXOFF: the printer asks the host to stop sending.
	MsgXOFF
	// MsgXON: the printer takes data again.
	MsgXON
)

func (k MsgKind) String() string {
	switch k {
	case MsgReply:
		return "reply"
	case MsgASB:
		return "asb"
	case MsgXOFF:
		return "xoff"
	case MsgXON:
		return "xon"
	}
	return fmt.Sprintf("MsgKind(%d)", int(k))
}

// Msg is one unit of what the printer sends.
type Msg struct {
	Kind MsgKind
	// Bytes holds the reply byte (Bytes[0]) or the ASB block.
	Bytes [4]byte
}

func (m Msg) String() string {
	if m.Kind == MsgASB {
		return fmt.Sprintf("asb % X", m.Bytes)
	}
	return fmt.Sprintf("%s %02X", m.Kind, m.Bytes[0])
}

// Scanner splits the printer's output into replies, automatic status
// blocks and XON/XOFF. Printers have no framing beyond the bit patterns:
// a reply is any byte 0xx1xx10; an ASB starts with xxx1xx00 followed by
// three bytes with bits 4 and 7 clear; 11 and 13 are XON and XOFF. A
// would-be ASB whose next bytes do not fit loses its first byte and the
// rest is rescanned. Anything else is noise.
type Scanner struct {
	buf []byte // at most an incomplete ASB: 3 bytes
	// Skipped counts bytes that were none of the above.
	Skipped int
}

// Write appends received bytes. It never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// Next returns the next message in the stream, if a whole one is in.
func (s *Scanner) Next() (Msg, bool) {
	for len(s.buf) > 0 {
		b := s.buf[0]
		var m Msg
		m.Bytes[0] = b
		switch {
		case IsStatusReply(b):
			m.Kind = MsgReply
		case b == xoff:
			m.Kind = MsgXOFF
		case b == xon:
			m.Kind = MsgXON
		case isASBFirst(b):
			n := 1
			for n < len(s.buf) && n < 4 && isASBRest(s.buf[n]) {
				n++
			}
			if n < 4 && n == len(s.buf) {
				s.compact()
				return Msg{}, false // wait for the rest
			}
			if n == 4 {
				m.Kind = MsgASB
				copy(m.Bytes[:], s.buf[:4])
				s.buf = s.buf[4:]
				s.compact()
				return m, true
			}
		}
		s.buf = s.buf[1:]
		if m.Kind != 0 {
			s.compact()
			return m, true
		}
		s.Skipped++
	}
	s.compact()
	return Msg{}, false
}

// Pending is the number of bytes held back waiting for more.
func (s *Scanner) Pending() int { return len(s.buf) }

// Reset forgets held-back bytes.
func (s *Scanner) Reset() { s.buf = s.buf[:0] }

func (s *Scanner) compact() {
	if cap(s.buf) > 64 && len(s.buf) < 4 {
		s.buf = append(make([]byte, 0, 8), s.buf...)
	}
}
