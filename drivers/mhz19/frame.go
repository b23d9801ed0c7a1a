package mhz19

import (
	"fmt"
	"strings"

	"github.com/quartierhub/quartierhub/drivers/internal/framer"
)

// FrameLen is the length of every MH-Z19B frame, command or response.
const FrameLen = 9

const start = 0xFF

// SensorNumber is byte 1 of every command frame (the manual's "sensor No.").
const SensorNumber = 0x01

// Command codes (byte 2 of a command, byte 1 of its response).
const (
	CmdRead  = 0x86 // read CO2; answered
	CmdABC   = 0x79 // automatic baseline correction on (d3 = A0) / off (00)
	CmdZero  = 0x87 // zero point calibration at 400 ppm
	CmdSpan  = 0x88 // span point calibration, ppm in d3 d4
	CmdRange = 0x99 // detection range, ppm in d6 d7
)

// Detection ranges the manual documents for CmdRange.
var validRanges = []int{2000, 5000, 10000}

// Frame is one 9-byte frame, command or response.
type Frame [FrameLen]byte

// String returns the frame as spaced uppercase hex, e.g. "FF 01 86 00 …".
func (f Frame) String() string {
	var b strings.Builder
	for i, c := range f {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// Valid reports whether f starts with FF and its checksum holds.
func (f Frame) Valid() bool { return f[0] == start && Checksum(f[:]) == f[8] }

// Checksum returns the checksum of a frame: (0xFF − (sum of bytes 1…7 mod
// 256)) + 1. f must hold at least 8 bytes.
func Checksum(f []byte) byte {
	var sum byte
	for _, c := range f[1:8] {
		sum += c
	}
	return 0xFF - sum + 1
}

// NewCommand returns the command frame FF 01 cmd d3…d7 CS.
func NewCommand(cmd byte, d [5]byte) Frame {
	f := Frame{start, SensorNumber, cmd, d[0], d[1], d[2], d[3], d[4]}
	f[8] = Checksum(f[:])
	return f
}

// NewResponse returns the response frame FF cmd b2…b7 CS.
func NewResponse(cmd byte, b [6]byte) Frame {
	f := Frame{start, cmd, b[0], b[1], b[2], b[3], b[4], b[5]}
	f[8] = Checksum(f[:])
	return f
}

// ReadCommand is FF 01 86 00 00 00 00 00 79.
func ReadCommand() Frame { return NewCommand(CmdRead, [5]byte{}) }

// ABCCommand switches automatic baseline correction on (FF 01 79 A0 … E6)
// or off (FF 01 79 00 … 86).
func ABCCommand(on bool) Frame {
	if on {
		return NewCommand(CmdABC, [5]byte{0xA0})
	}
	return NewCommand(CmdABC, [5]byte{})
}

// ZeroCommand is FF 01 87 00 00 00 00 00 78: the air around the sensor is
// taken as 400 ppm.
func ZeroCommand() Frame { return NewCommand(CmdZero, [5]byte{}) }

// MinSpanPPM and MaxSpanPPM bound span calibration: the manual recommends
// 2000 ppm and at least 1000 ppm; more than the widest range makes no sense.
const (
	MinSpanPPM = 1000
	MaxSpanPPM = 10000
)

// SpanCommand calibrates the span point to ppm (FF 01 88 07 D0 … A0 for
// 2000), which must be within MinSpanPPM…MaxSpanPPM.
func SpanCommand(ppm int) (Frame, error) {
	if ppm < MinSpanPPM || ppm > MaxSpanPPM {
		return Frame{}, fmt.Errorf("mhz19: span %d ppm: want %d…%d ppm", ppm, MinSpanPPM, MaxSpanPPM)
	}
	return NewCommand(CmdSpan, [5]byte{byte(ppm >> 8), byte(ppm)}), nil
}

// RangeCommand sets the detection range to 2000, 5000 or 10000 ppm
// (FF 01 99 00 00 00 13 88 CB for 5000).
func RangeCommand(ppm int) (Frame, error) {
	if !ValidRange(ppm) {
		return Frame{}, fmt.Errorf("mhz19: detection range %d ppm: want 2000, 5000 or 10000", ppm)
	}
	return NewCommand(CmdRange, [5]byte{0, 0, 0, byte(ppm >> 8), byte(ppm)}), nil
}

// ValidRange reports whether ppm is a detection range the manual documents.
func ValidRange(ppm int) bool {
	for _, r := range validRanges {
		if ppm == r {
			return true
		}
	}
	return false
}

// ReadResponse returns the sensor's answer to a read: co2 ppm (clamped to
// 0…65535), tempC (clamped to −40…215) and status, bytes 6–7 zero.
func ReadResponse(co2, tempC int, status byte) Frame {
	co2 = max(0, min(co2, 0xFFFF))
	t := max(0, min(tempC+40, 0xFF))
	return NewResponse(CmdRead, [6]byte{byte(co2 >> 8), byte(co2), byte(t), status})
}

// ParseReadResponse decodes a read response: CO2 in ppm, the coarse
// internal temperature in °C and the status byte.
func ParseReadResponse(f Frame) (co2, tempC int, status byte, err error) {
	if !f.Valid() {
		return 0, 0, 0, fmt.Errorf("mhz19: bad frame %s", f)
	}
	if f[1] != CmdRead {
		return 0, 0, 0, fmt.Errorf("mhz19: frame %s is no read response", f)
	}
	return int(f[2])<<8 | int(f[3]), int(f[4]) - 40, f[5], nil
}

// Scanner finds valid frames in a byte stream that arrives in arbitrary
// chunks. It keeps leftovers between writes, hunts for FF followed by Want,
// checks the checksum and, on a bad frame, drops one byte and rescans: FF
// occurs inside data, so a real header may sit inside a bad frame.
type Scanner struct {
	// Want is byte 1 of the frames to find: CmdRead (the default when zero)
	// for the sensor's read responses, SensorNumber for commands as the
	// sensor receives them.
	Want byte
	// Buffer keeps leftovers and counts Skipped bytes and Bad candidates
	// (right header, checksum failed).
	framer.Buffer
}

func (s *Scanner) String() string {
	return fmt.Sprintf("mhz19.Scanner(want FF %02X, %d buffered, %d skipped, %d bad)", s.want(), s.Buffered(), s.Skipped, s.Bad)
}

func (s *Scanner) want() byte {
	if s.Want == 0 {
		return CmdRead
	}
	return s.Want
}

// Next returns the next valid frame in the stream, if a whole one is in.
func (s *Scanner) Next() (Frame, bool) {
	want := s.want()
	f, ok := s.Buffer.Next(framer.Spec{
		Size:   FrameLen,
		Head:   start,
		Second: func(b byte) bool { return b == want },
		Valid:  func(f []byte) bool { return Frame(f).Valid() },
	})
	if !ok {
		return Frame{}, false
	}
	return Frame(f), true
}
