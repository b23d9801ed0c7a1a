package pn532

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Frame identifiers (TFI).
const (
	// HostToPN532 is the TFI of every frame the host sends.
	HostToPN532 = 0xD4
	// PN532ToHost is the TFI of every response.
	PN532ToHost = 0xD5
	// errorTFI marks the application-level error frame.
	errorTFI = 0x7F
)

// Command codes used by the driver (UM0701 §7).
const (
	CmdGetFirmwareVersion  = 0x02
	CmdSAMConfiguration    = 0x14
	CmdRFConfiguration     = 0x32
	CmdInListPassiveTarget = 0x4A
	CmdInRelease           = 0x52
)

const (
	// MaxFrameData is the largest TFI + data length Scanner accepts. The
	// PN532's own buffer holds 264 bytes; more is certainly noise.
	MaxFrameData = 512
	// maxFrameLen is the longest frame from the start code on: start code,
	// extended header, TFI + data and DCS.
	maxFrameLen = 2 + 5 + MaxFrameData + 1
)

var (
	ackFrame   = []byte{0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00}
	nackFrame  = []byte{0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00}
	errorFrame = []byte{0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00}
)

// ACK returns the ACK frame 00 00 FF 00 FF 00.
func ACK() []byte { return append([]byte(nil), ackFrame...) }

// NACK returns the NACK frame 00 00 FF FF 00 00.
func NACK() []byte { return append([]byte(nil), nackFrame...) }

// ErrorFrame returns the application error frame 00 00 FF 01 FF 7F 81 00.
func ErrorFrame() []byte { return append([]byte(nil), errorFrame...) }

// FrameKind says what a received frame is.
type FrameKind int

const (
	// FrameInfo is a normal or extended information frame.
	FrameInfo FrameKind = iota + 1
	// FrameACK acknowledges a command (or, from the host, aborts one).
	FrameACK
	// FrameNACK asks the other side to send its last frame again.
	FrameNACK
	// FrameError is the PN532's application-level error frame.
	FrameError
)

func (k FrameKind) String() string {
	switch k {
	case FrameInfo:
		return "info"
	case FrameACK:
		return "ack"
	case FrameNACK:
		return "nack"
	case FrameError:
		return "error"
	}
	return fmt.Sprintf("FrameKind(%d)", int(k))
}

// Frame is one frame found by Scanner.
type Frame struct {
	Kind FrameKind
	// TFI is D4 (host) or D5 (PN532) for information frames.
	TFI byte
	// Data is PD0…PDn: the command or response code, then its parameters.
	Data []byte
}

func (f Frame) String() string {
	if f.Kind != FrameInfo {
		return "pn532 " + f.Kind.String() + " frame"
	}
	code := ""
	if len(f.Data) > 0 {
		code = fmt.Sprintf(" code %02X", f.Data[0])
	}
	return fmt.Sprintf("pn532 frame TFI %02X%s, %d bytes", f.TFI, code, len(f.Data))
}

// Encode returns the information frame for tfi and data (command or
// response code first): a normal frame, or an extended one when TFI + data
// do not fit in a one-byte LEN.
func Encode(tfi byte, data []byte) []byte {
	n := 1 + len(data)
	f := make([]byte, 0, n+10)
	f = append(f, 0x00, 0x00, 0xFF)
	if n <= 0xFF {
		f = append(f, byte(n), byte(-n))
	} else {
		m, l := byte(n>>8), byte(n)
		f = append(f, 0xFF, 0xFF, m, l, -(m + l))
	}
	sum := tfi
	f = append(f, tfi)
	for _, b := range data {
		sum += b
		f = append(f, b)
	}
	return append(f, -sum, 0x00)
}

// Command returns the host frame for command code cmd with params.
func Command(cmd byte, params ...byte) []byte {
	return Encode(HostToPN532, append([]byte{cmd}, params...))
}

// Scanner finds frames in a byte stream that arrives in arbitrary chunks.
// It keeps leftovers between writes, hunts for the start code 00 FF, checks
// LCS and DCS and on a bad frame drops one byte and rescans, since a real
// start code may sit inside it.
type Scanner struct {
	buf []byte
	// Skipped counts bytes outside frames: preamble, postamble, noise and
	// the first bytes of bad candidates.
	Skipped int
	// Bad counts candidate frames rejected (LCS, DCS, impossible length).
	Bad int
}

// Write appends received bytes. It never fails.
func (s *Scanner) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	return len(p), nil
}

// Reset forgets buffered bytes, e.g. before a new command makes whatever
// is left stale.
func (s *Scanner) Reset() { s.buf = s.buf[:0] }

// Partial reports whether the start of a frame waits for its rest (after
// Next returned false). A lone trailing 00 does not count.
func (s *Scanner) Partial() bool { return len(s.buf) >= 2 }

func (s *Scanner) String() string {
	return fmt.Sprintf("pn532.Scanner(%d pending, %d skipped, %d bad)", len(s.buf), s.Skipped, s.Bad)
}

// Next returns the next valid frame in the stream, if a whole one is in.
func (s *Scanner) Next() (Frame, bool) {
	for {
		i := indexStart(s.buf)
		if i < 0 {
			// Keep a trailing 00: it may be the first half of a start code.
			keep := 0
			if n := len(s.buf); n > 0 && s.buf[n-1] == 0x00 {
				keep = 1
			}
			s.Skipped += len(s.buf) - keep
			s.buf = append(s.buf[:0], s.buf[len(s.buf)-keep:]...)
			return Frame{}, false
		}
		if i > 0 {
			s.Skipped += i
			s.buf = s.buf[i:]
		}
		f, n, st := parse(s.buf)
		switch st {
		case needMore:
			s.compact()
			return Frame{}, false
		case good:
			s.buf = s.buf[n:]
			s.compact()
			return f, true
		}
		s.Bad++
		s.Skipped++
		s.buf = s.buf[1:]
	}
}

// compact moves leftovers to the front so the buffer never grows unbounded.
func (s *Scanner) compact() {
	if cap(s.buf) > 4*maxFrameLen && len(s.buf) <= maxFrameLen {
		s.buf = append(make([]byte, 0, maxFrameLen), s.buf...)
	}
}

type status int

const (
	good status = iota
	needMore
	bad
)

// parse reads one frame from b, which starts with the start code 00 FF.
// It returns the frame and how many bytes it used (the postamble is left
// to be skipped as noise, since some senders omit it).
func parse(b []byte) (Frame, int, status) {
	if len(b) < 4 {
		return Frame{}, 0, needMore
	}
	ln, lcs := b[2], b[3]
	hdr, n := 4, int(ln)
	switch {
	case ln == 0x00 && lcs == 0xFF:
		return Frame{Kind: FrameACK}, 4, good
	case ln == 0xFF && lcs == 0x00:
		return Frame{Kind: FrameNACK}, 4, good
	case ln == 0xFF && lcs == 0xFF:
		if len(b) < 7 {
			return Frame{}, 0, needMore
		}
		m, l, c := b[4], b[5], b[6]
		n = int(m)<<8 | int(l)
		if m+l+c != 0 || n == 0 || n > MaxFrameData {
			return Frame{}, 0, bad
		}
		hdr = 7
	case ln+lcs != 0 || ln == 0:
		return Frame{}, 0, bad
	}
	end := hdr + n + 1 // through DCS
	if len(b) < end {
		return Frame{}, 0, needMore
	}
	var sum byte
	for _, x := range b[hdr:end] {
		sum += x
	}
	if sum != 0 {
		return Frame{}, 0, bad
	}
	f := Frame{Kind: FrameInfo, TFI: b[hdr], Data: append([]byte(nil), b[hdr+1:end-1]...)}
	if f.TFI == errorTFI && len(f.Data) == 0 {
		f = Frame{Kind: FrameError, TFI: errorTFI}
	}
	return f, end, good
}

func indexStart(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == 0x00 && b[i+1] == 0xFF {
			return i
		}
	}
	return -1
}

// ParseUID parses a card UID of 4, 7 or 10 bytes written as hex, e.g.
// "DEADBEEF" (upper- or lowercase, optionally separated by ':' or spaces).
func ParseUID(s string) ([]byte, error) {
	clean := strings.NewReplacer(":", "", " ", "", "-", "").Replace(s)
	uid, err := hex.DecodeString(clean)
	if err != nil {
		return nil, fmt.Errorf("pn532: card UID %q: %w", s, err)
	}
	if !validUIDLen(len(uid)) {
		return nil, fmt.Errorf("pn532: card UID %q: %d bytes, want 4, 7 or 10", s, len(uid))
	}
	return uid, nil
}

// FormatUID writes uid as uppercase hex without separators, e.g. "DEADBEEF".
func FormatUID(uid []byte) string { return strings.ToUpper(hex.EncodeToString(uid)) }

func validUIDLen(n int) bool { return n == 4 || n == 7 || n == 10 }
