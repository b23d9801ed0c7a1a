package sds011

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func unhexs(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The worked examples from docs/protocols.md.
const (
	exampleData     = "AA C0 7B 00 C8 01 A1 60 45 AB" // PM2.5 12.3, PM10 45.6, id A1 60
	exampleSleep    = "AA C5 06 01 00 00 A1 60 08 AB" // set-sleep reply
	exampleFirmware = "AA C5 07 0F 07 0A A1 60 28 AB" // firmware 2015-07-10
)

func TestDataFrameMatchesProtocolExample(t *testing.T) {
	want := unhexs(t, exampleData)
	if got := DataFrame(123, 456, 0xA160).Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("DataFrame = % X, want % X", got, want)
	}
	var s Scanner
	s.Write(want)
	f, ok := s.Next()
	if !ok || !f.IsData() || f.PM25x10() != 123 || f.PM10x10() != 456 || f.ID != 0xA160 {
		t.Fatalf("scanned %v %v", f, ok)
	}
}

func TestRepliesMatchProtocolExamples(t *testing.T) {
	for _, c := range []struct {
		f    Frame
		want string
	}{
		{ReplyFrame(CmdSleepWork, 1, 0, 0, 0xA160), exampleSleep},
		{ReplyFrame(CmdFirmware, 0x0F, 0x07, 0x0A, 0xA160), exampleFirmware},
	} {
		want := unhexs(t, c.want)
		if got := c.f.Bytes(); !bytes.Equal(got, want) {
			t.Errorf("%v = % X, want % X", c.f, got, want)
		}
		var s Scanner
		s.Write(want)
		if f, ok := s.Next(); !ok || f != c.f {
			t.Errorf("scanned %v %v, want %v", f, ok, c.f)
		}
	}
}

// The command table from docs/protocols.md: bytes 2–4 and CS with id FF FF.
func TestCommandsMatchProtocolTable(t *testing.T) {
	for _, c := range []struct {
		name        string
		cmd, d1, d2 byte
		cs          byte
	}{
		{"get reporting mode", 0x02, 0x00, 0x00, 0x00},
		{"set active mode", 0x02, 0x01, 0x00, 0x01},
		{"set query mode", 0x02, 0x01, 0x01, 0x02},
		{"query data", 0x04, 0x00, 0x00, 0x02},
		{"sleep", 0x06, 0x01, 0x00, 0x05},
		{"work", 0x06, 0x01, 0x01, 0x06},
		{"get working period", 0x08, 0x00, 0x00, 0x06},
		{"set working period 0", 0x08, 0x01, 0, 0x07},
		{"set working period 1", 0x08, 0x01, 1, 0x08},
		{"set working period 30", 0x08, 0x01, 30, (0x07 + 30) & 0xFF},
		{"firmware version", 0x07, 0x00, 0x00, 0x05},
	} {
		got := NewCommand(c.cmd, c.d1, c.d2).Bytes()
		want := append([]byte{0xAA, 0xB4, c.cmd, c.d1, c.d2}, make([]byte, 10)...)
		want = append(want, 0xFF, 0xFF, c.cs, 0xAB)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: % X, want % X", c.name, got, want)
		}
	}
	// The full query-data frame, spelled out.
	want := unhexs(t, "AA B4 04 00 00 00 00 00 00 00 00 00 00 00 00 FF FF 02 AB")
	if got := NewCommand(CmdQueryData, 0, 0).Bytes(); !bytes.Equal(got, want) {
		t.Errorf("query data: % X, want % X", got, want)
	}
}

func scanAll(s *Scanner) []Frame {
	var out []Frame
	for {
		f, ok := s.Next()
		if !ok {
			return out
		}
		out = append(out, f)
	}
}

// stream is four frames with noise around and between them: a stray head,
// heads followed by no kind, a bad-checksum frame hiding a real one, a
// frame with a wrong tail, and a cut-short frame at the end.
func stream(t testing.TB) ([]byte, []Frame) {
	data := DataFrame(123, 456, 0xA160)
	sleep := ReplyFrame(CmdSleepWork, 1, 0, 0, 0xA160)
	fw := ReplyFrame(CmdFirmware, 0x0F, 0x07, 0x0A, 0xA160)
	other := DataFrame(0xAAAA, 0xABAB, 0xAAC0) // heads and tails inside
	bad := data.Bytes()
	bad[8]++
	wrongTail := sleep.Bytes()
	wrongTail[9] = 0xAC
	var s []byte
	s = append(s, 0xFF, 0xAA, 0x00, 0xAA) // power-up noise with stray heads
	s = append(s, data.Bytes()...)
	s = append(s, bad[:4]...) // truncated bad frame...
	s = append(s, sleep.Bytes()...)
	s = append(s, 0xAB, 0xAA, 0xAA, 0xC0, 0xC5) // garbage
	s = append(s, other.Bytes()...)
	s = append(s, bad...)       // checksum mismatch
	s = append(s, wrongTail...) // wrong tail
	s = append(s, fw.Bytes()...)
	s = append(s, data.Bytes()[:7]...) // cut short at the end
	return s, []Frame{data, sleep, other, fw}
}

func sameFrames(got, want []Frame) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestScannerSplitAtEveryPosition(t *testing.T) {
	data, want := stream(t)
	for cut1 := 0; cut1 <= len(data); cut1++ {
		for _, cut2 := range []int{cut1, (cut1 + len(data)) / 2, len(data)} {
			var s Scanner
			var got []Frame
			for _, part := range [][]byte{data[:cut1], data[cut1:cut2], data[cut2:]} {
				s.Write(part)
				got = append(got, scanAll(&s)...)
			}
			if !sameFrames(got, want) {
				t.Fatalf("cuts %d,%d: got %v, want %v", cut1, cut2, got, want)
			}
		}
	}
}

func TestScannerByteByByte(t *testing.T) {
	data, want := stream(t)
	var s Scanner
	var got []Frame
	for i := range data {
		s.Write(data[i : i+1])
		got = append(got, scanAll(&s)...)
		if s.Buffered() >= FrameLen {
			t.Fatalf("buffer holds %d bytes", s.Buffered())
		}
	}
	if !sameFrames(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s.Bad() < 2 {
		t.Fatalf("Bad = %d, want at least the checksum and tail failures", s.Bad())
	}
}

func TestScannerRejects(t *testing.T) {
	ex := unhexs(t, exampleData)
	mod := func(i int, v byte) []byte {
		b := append([]byte(nil), ex...)
		b[i] = v
		return b
	}
	cases := map[string]struct {
		frame []byte
		ok    bool
	}{
		"valid":        {ex, true},
		"reply":        {unhexs(t, exampleFirmware), true},
		"checksum":     {mod(8, 0x46), false},
		"wrong tail":   {mod(9, 0xAA), false},
		"wrong head":   {mod(0, 0xAB), false},
		"unknown kind": {mod(1, 0xC1), false},
		"command kind": {mod(1, 0xB4), false},
		"payload bit":  {mod(2, 0x7A), false},
		"truncated":    {ex[:9], false},
	}
	for name, c := range cases {
		var s Scanner
		s.Write(c.frame)
		_, ok := s.Next()
		if ok != c.ok {
			t.Errorf("%s: ok = %v, want %v", name, ok, c.ok)
		}
	}
}

func commandStream() ([]byte, []Command) {
	work := NewCommand(CmdSleepWork, 1, 1)
	query := NewCommand(CmdQueryData, 0, 0)
	setID := NewCommand(CmdDeviceID, 0, 0)
	setID.Data[10], setID.Data[11], setID.ID = 0xAA, 0xB4, 0xA160
	bad := query.Bytes()
	bad[17]++
	var s []byte
	s = append(s, 0xAA, 0x00, 0xAA)
	s = append(s, work.Bytes()...)
	s = append(s, bad[:10]...)
	s = append(s, query.Bytes()...)
	s = append(s, bad...)
	s = append(s, 0xAB, 0xAA, 0xB4)
	s = append(s, setID.Bytes()...)
	s = append(s, DataFrame(1, 2, 3).Bytes()...) // a sensor frame is no command
	s = append(s, work.Bytes()[:18]...)
	return s, []Command{work, query, setID}
}

func TestCommandScannerSplitAtEveryPosition(t *testing.T) {
	data, want := commandStream()
	for cut := 0; cut <= len(data); cut++ {
		var s CommandScanner
		var got []Command
		for _, part := range [][]byte{data[:cut], data[cut:]} {
			s.Write(part)
			for {
				c, ok := s.Next()
				if !ok {
					break
				}
				got = append(got, c)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("cut %d: got %v, want %v", cut, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("cut %d: got %v, want %v", cut, got, want)
			}
		}
		if s.Bad() == 0 {
			t.Fatalf("cut %d: bad command not counted", cut)
		}
	}
}

func TestStrings(t *testing.T) {
	for _, s := range []string{
		DataFrame(123, 456, 0xA160).String(),
		ReplyFrame(CmdFirmware, 15, 7, 10, 0xA160).String(),
		NewCommand(CmdQueryData, 0, 0).String(),
		(&Scanner{}).String(),
		(&CommandScanner{}).String(),
	} {
		if !strings.HasPrefix(s, "sds011") {
			t.Errorf("String() = %q", s)
		}
	}
	if got := DataFrame(123, 456, 0xA160).String(); got != "sds011 data pm2.5=12.3 pm10=45.6 id=A160" {
		t.Errorf("data frame String() = %q", got)
	}
}

func FuzzScanner(f *testing.F) {
	data, _ := stream(f)
	f.Add(data, uint8(3))
	f.Add(unhexs(f, exampleData), uint8(1))
	f.Add(unhexs(f, exampleFirmware+exampleSleep), uint8(9))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		step := int(chunk%16) + 1
		var s Scanner
		for i := 0; i < len(data); i += step {
			s.Write(data[i:min(i+step, len(data))])
			for {
				fr, ok := s.Next()
				if !ok {
					break
				}
				if fr.Kind != KindData && fr.Kind != KindReply {
					t.Fatalf("frame of kind %02X", fr.Kind)
				}
				// Round trip: every frame found really is in the input.
				if !bytes.Contains(data, fr.Bytes()) {
					t.Fatalf("found %v, whose bytes are not in the input", fr)
				}
			}
			if s.Buffered() >= FrameLen {
				t.Fatalf("buffer holds %d bytes after scanning", s.Buffered())
			}
		}
	})
}

func FuzzCommandScanner(f *testing.F) {
	data, _ := commandStream()
	f.Add(data, uint8(5))
	f.Add(NewCommand(CmdWorkingPeriod, 1, 30).Bytes(), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		step := int(chunk%32) + 1
		var s CommandScanner
		for i := 0; i < len(data); i += step {
			s.Write(data[i:min(i+step, len(data))])
			for {
				c, ok := s.Next()
				if !ok {
					break
				}
				if !bytes.Contains(data, c.Bytes()) {
					t.Fatalf("found %v, whose bytes are not in the input", c)
				}
			}
			if s.Buffered() >= CommandLen {
				t.Fatalf("buffer holds %d bytes after scanning", s.Buffered())
			}
		}
	})
}
