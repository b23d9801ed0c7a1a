package sds011

import (
	"encoding/binary"
	"fmt"

	"github.com/quartierhub/quartierhub/drivers/internal/framer"
)

// Wire constants (Control Protocol V1.3).
const (
	head        = 0xAA
	tail        = 0xAB
	kindCommand = 0xB4

	// KindData marks a data frame (sensor to host).
	KindData = 0xC0
	// KindReply marks a command reply (sensor to host).
	KindReply = 0xC5

	// FrameLen is the length of a frame from the sensor.
	FrameLen = 10
	// CommandLen is the length of a command frame from the host.
	CommandLen = 19

	// AnyID addresses every sensor on the line.
	AnyID uint16 = 0xFFFF
)

// Command codes, byte 2 of a command frame and of its reply.
const (
	CmdReportingMode = 0x02 // d1 0 get / 1 set, d2 0 active / 1 query
	CmdQueryData     = 0x04 // answered with a data frame
	CmdDeviceID      = 0x05 // d11 d12 new id
	CmdSleepWork     = 0x06 // d1 0 get / 1 set, d2 0 sleep / 1 work
	CmdFirmware      = 0x07 // reply: year, month, day
	CmdWorkingPeriod = 0x08 // d1 0 get / 1 set, d2 minutes 0–30
)

func cmdName(c byte) string {
	switch c {
	case CmdReportingMode:
		return "reporting mode"
	case CmdQueryData:
		return "query data"
	case CmdDeviceID:
		return "device id"
	case CmdSleepWork:
		return "sleep/work"
	case CmdFirmware:
		return "firmware version"
	case CmdWorkingPeriod:
		return "working period"
	}
	return fmt.Sprintf("command %02X", c)
}

func checksum(b []byte) byte {
	var s byte
	for _, x := range b {
		s += x
	}
	return s
}

// Frame is one valid 10-byte frame from the sensor: a data frame (Kind
// KindData) or a command reply (KindReply).
type Frame struct {
	Kind byte
	// Payload is bytes 2…5: PM2.5 × 10 and PM10 × 10 (little-endian) in a
	// data frame; the command code and three answer bytes in a reply.
	Payload [4]byte
	// ID is the device id, bytes 6 and 7 (id1 << 8 | id2), e.g. 0xA160.
	ID uint16
}

// DataFrame returns a data frame carrying PM2.5 and PM10 in tenths of
// µg/m³.
func DataFrame(pm25x10, pm10x10, id uint16) Frame {
	f := Frame{Kind: KindData, ID: id}
	binary.LittleEndian.PutUint16(f.Payload[0:2], pm25x10)
	binary.LittleEndian.PutUint16(f.Payload[2:4], pm10x10)
	return f
}

// ReplyFrame returns the reply to command cmd with answer bytes a, b, c.
func ReplyFrame(cmd, a, b, c byte, id uint16) Frame {
	return Frame{Kind: KindReply, Payload: [4]byte{cmd, a, b, c}, ID: id}
}

// IsData reports whether f is a data frame.
func (f Frame) IsData() bool { return f.Kind == KindData }

// PM25x10 is a data frame's PM2.5 in tenths of µg/m³.
func (f Frame) PM25x10() uint16 { return binary.LittleEndian.Uint16(f.Payload[0:2]) }

// PM10x10 is a data frame's PM10 in tenths of µg/m³.
func (f Frame) PM10x10() uint16 { return binary.LittleEndian.Uint16(f.Payload[2:4]) }

// IsReplyTo reports whether f is a reply to command cmd.
func (f Frame) IsReplyTo(cmd byte) bool { return f.Kind == KindReply && f.Payload[0] == cmd }

// Bytes encodes f with its checksum.
func (f Frame) Bytes() []byte {
	b := make([]byte, FrameLen)
	b[0], b[1] = head, f.Kind
	copy(b[2:6], f.Payload[:])
	binary.BigEndian.PutUint16(b[6:8], f.ID)
	b[8] = checksum(b[2:8])
	b[9] = tail
	return b
}

func (f Frame) String() string {
	if f.IsData() {
		return fmt.Sprintf("sds011 data pm2.5=%d.%d pm10=%d.%d id=%04X",
			f.PM25x10()/10, f.PM25x10()%10, f.PM10x10()/10, f.PM10x10()%10, f.ID)
	}
	if f.Kind == KindReply {
		return fmt.Sprintf("sds011 reply %s % X id=%04X", cmdName(f.Payload[0]), f.Payload[1:], f.ID)
	}
	return fmt.Sprintf("sds011 frame %02X % X id=%04X", f.Kind, f.Payload[:], f.ID)
}

// Command is one 19-byte command frame from the host.
type Command struct {
	Cmd  byte
	Data [12]byte // d1…d12
	ID   uint16   // AnyID for any sensor
}

// NewCommand returns command cmd with d1 and d2 set, the other data bytes
// zero, for any sensor.
func NewCommand(cmd, d1, d2 byte) Command {
	c := Command{Cmd: cmd, ID: AnyID}
	c.Data[0], c.Data[1] = d1, d2
	return c
}

// Bytes encodes c with its checksum.
func (c Command) Bytes() []byte {
	b := make([]byte, CommandLen)
	b[0], b[1], b[2] = head, kindCommand, c.Cmd
	copy(b[3:15], c.Data[:])
	binary.BigEndian.PutUint16(b[15:17], c.ID)
	b[17] = checksum(b[2:17])
	b[18] = tail
	return b
}

func (c Command) String() string {
	return fmt.Sprintf("sds011 command %s %02X %02X id=%04X", cmdName(c.Cmd), c.Data[0], c.Data[1], c.ID)
}

// spec is a frame of size bytes whose byte 1 passes kind, checked by
// tail and checksum.
func spec(size int, kind func(byte) bool) framer.Spec {
	return framer.Spec{
		Size:   size,
		Head:   head,
		Second: kind,
		Valid: func(fr []byte) bool {
			return fr[size-1] == tail && fr[size-2] == checksum(fr[2:size-2])
		},
	}
}

var (
	sensorSpec  = spec(FrameLen, func(b byte) bool { return b == KindData || b == KindReply })
	commandSpec = spec(CommandLen, func(b byte) bool { return b == kindCommand })
)

// Scanner finds valid sensor frames (data and replies) in a byte stream
// that arrives in arbitrary chunks. The zero value is ready to use.
type Scanner struct{ f framer.Buffer }

// Write appends received bytes. It never fails.
func (s *Scanner) Write(p []byte) (int, error) { return s.f.Write(p) }

// Next returns the next valid frame, if a whole one is in.
func (s *Scanner) Next() (Frame, bool) {
	b, ok := s.f.Next(sensorSpec)
	if !ok {
		return Frame{}, false
	}
	f := Frame{Kind: b[1], ID: binary.BigEndian.Uint16(b[6:8])}
	copy(f.Payload[:], b[2:6])
	return f, true
}

// Buffered is the number of bytes kept for the next frame.
func (s *Scanner) Buffered() int { return s.f.Buffered() }

// Bad counts candidate frames rejected (wrong tail or checksum).
func (s *Scanner) Bad() int { return s.f.Bad }

// Skipped counts bytes discarded as noise or parts of bad frames.
func (s *Scanner) Skipped() int { return s.f.Skipped }

func (s *Scanner) String() string {
	return fmt.Sprintf("sds011.Scanner(%d buffered, %d bad, %d skipped)", s.Buffered(), s.Bad(), s.Skipped())
}

// CommandScanner finds valid command frames from the host in a byte
// stream; simulators use it. The zero value is ready to use.
type CommandScanner struct{ f framer.Buffer }

// Write appends received bytes. It never fails.
func (s *CommandScanner) Write(p []byte) (int, error) { return s.f.Write(p) }

// Next returns the next valid command, if a whole one is in.
func (s *CommandScanner) Next() (Command, bool) {
	b, ok := s.f.Next(commandSpec)
	if !ok {
		return Command{}, false
	}
	c := Command{Cmd: b[2], ID: binary.BigEndian.Uint16(b[15:17])}
	copy(c.Data[:], b[3:15])
	return c, true
}

// Buffered is the number of bytes kept for the next command.
func (s *CommandScanner) Buffered() int { return s.f.Buffered() }

// Bad counts candidate commands rejected (wrong tail or checksum).
func (s *CommandScanner) Bad() int { return s.f.Bad }

// Skipped counts bytes discarded as noise or parts of bad commands.
func (s *CommandScanner) Skipped() int { return s.f.Skipped }

func (s *CommandScanner) String() string {
	return fmt.Sprintf("sds011.CommandScanner(%d buffered, %d bad, %d skipped)", s.Buffered(), s.Bad(), s.Skipped())
}
