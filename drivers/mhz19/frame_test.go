package mhz19

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// mustHex parses "FF 01 86 …" into bytes.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func must(f Frame, err error) Frame {
	if err != nil {
		panic(err)
	}
	return f
}

// Every frame of the table in docs/protocols.md, byte for byte.
func TestCommandFramesMatchProtocolTable(t *testing.T) {
	cases := []struct {
		name string
		got  Frame
		want string
	}{
		{"read CO2", ReadCommand(), "FF 01 86 00 00 00 00 00 79"},
		{"ABC on", ABCCommand(true), "FF 01 79 A0 00 00 00 00 E6"},
		{"ABC off", ABCCommand(false), "FF 01 79 00 00 00 00 00 86"},
		{"zero", ZeroCommand(), "FF 01 87 00 00 00 00 00 78"},
		{"span 2000", must(SpanCommand(2000)), "FF 01 88 07 D0 00 00 00 A0"},
		{"range 2000", must(RangeCommand(2000)), "FF 01 99 00 00 00 07 D0 8F"},
		{"range 5000", must(RangeCommand(5000)), "FF 01 99 00 00 00 13 88 CB"},
		{"range 10000", must(RangeCommand(10000)), "FF 01 99 00 00 00 27 10 2F"},
	}
	for _, c := range cases {
		if got := c.got.String(); got != c.want {
			t.Errorf("%s = %s, want %s", c.name, got, c.want)
		}
		if !c.got.Valid() {
			t.Errorf("%s: not valid", c.name)
		}
		// What the sensor's framer sees must decode to the same frame.
		sc := Scanner{Want: SensorNumber}
		sc.Write(mustHex(t, c.want))
		if f, ok := sc.Next(); !ok || f != c.got {
			t.Errorf("%s: scanner gave %s, %v", c.name, f, ok)
		}
	}
}

func TestReadResponseExamples(t *testing.T) {
	cases := []struct {
		frame  string
		co2    int
		tempC  int
		status byte
	}{
		{"FF 86 02 20 00 00 00 00 58", 544, -40, 0}, // datasheet: byte 4 is 0
		{"FF 86 01 F4 40 00 00 00 45", 500, 24, 0},
	}
	for _, c := range cases {
		f := Frame(mustHex(t, c.frame))
		co2, temp, status, err := ParseReadResponse(f)
		if err != nil || co2 != c.co2 || temp != c.tempC || status != c.status {
			t.Errorf("%s: got %d ppm %d °C %02X %v", c.frame, co2, temp, status, err)
		}
		if got := ReadResponse(c.co2, c.tempC, c.status); got != f {
			t.Errorf("ReadResponse(%d, %d) = %s, want %s", c.co2, c.tempC, got, c.frame)
		}
	}
}

func TestBadArguments(t *testing.T) {
	for _, ppm := range []int{0, 1000, 3000, 20000, -5000} {
		if _, err := RangeCommand(ppm); err == nil {
			t.Errorf("RangeCommand(%d) accepted", ppm)
		}
	}
	for _, ppm := range []int{0, 999, 10001, -1} {
		if _, err := SpanCommand(ppm); err == nil {
			t.Errorf("SpanCommand(%d) accepted", ppm)
		}
	}
	bad := ReadResponse(544, 24, 0)
	bad[8]++
	if _, _, _, err := ParseReadResponse(bad); err == nil {
		t.Error("bad checksum accepted")
	}
	if _, _, _, err := ParseReadResponse(NewResponse(CmdABC, [6]byte{1})); err == nil {
		t.Error("ABC response taken as a reading")
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

// stream is read responses with noise around and between them: stray FF
// and FF 86 bytes, a reading whose data holds FF 86, a frame with a bad
// checksum hiding a real one, an ABC reply some units send, a truncated
// frame at the end.
func stream() ([]byte, []Frame) {
	a := ReadResponse(544, 24, 0)
	b := ReadResponse(0xFF86, 215, 0xFF) // FF 86 FF 86 FF FF 00 00 CS
	c := ReadResponse(1234, 30, 0x40)
	bad := ReadResponse(999, 20, 0)
	bad[8] ^= 0x10
	abc := NewResponse(CmdABC, [6]byte{1})
	var s []byte
	s = append(s, 0x00, 0xFF, 0xFF, 0x86, 0x01) // noise with a stray header
	s = append(s, a[:]...)                      // frame 1
	s = append(s, bad[:4]...)                   // a bad frame cut short...
	s = append(s, b[:]...)                      // ...before a real one
	s = append(s, 0xFF)                         // stray FF
	s = append(s, abc[:]...)                    // not a reading
	s = append(s, bad[:]...)                    // checksum mismatch
	s = append(s, c[:]...)                      // frame 3
	s = append(s, 0xFF, 0x86, 0x00)             // truncated at the end
	return s, []Frame{a, b, c}
}

func equalFrames(a, b []Frame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScannerSplitAtEveryPosition(t *testing.T) {
	data, want := stream()
	for cut1 := 0; cut1 <= len(data); cut1++ {
		for cut2 := cut1; cut2 <= len(data); cut2++ {
			var s Scanner
			var got []Frame
			for _, part := range [][]byte{data[:cut1], data[cut1:cut2], data[cut2:]} {
				s.Write(part)
				got = append(got, scanAll(&s)...)
				if s.Buffered() >= FrameLen {
					t.Fatalf("cuts %d,%d: %d bytes left buffered", cut1, cut2, s.Buffered())
				}
			}
			if !equalFrames(got, want) {
				t.Fatalf("cuts %d,%d: got %v, want %v", cut1, cut2, got, want)
			}
		}
	}
}

func TestScannerByteByByte(t *testing.T) {
	data, want := stream()
	var s Scanner
	var got []Frame
	for i := range data {
		s.Write(data[i : i+1])
		got = append(got, scanAll(&s)...)
	}
	if !equalFrames(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s.Bad == 0 {
		t.Fatal("bad frames were not counted")
	}
}

// The sensor's side: commands split anywhere, with noise between them.
func TestScannerCommandsSplit(t *testing.T) {
	want := []Frame{ReadCommand(), ABCCommand(false), must(RangeCommand(2000)), ZeroCommand()}
	var data []byte
	for i, f := range want {
		data = append(data, 0xFF, byte(i), 0x01)
		data = append(data, f[:]...)
	}
	for cut := 0; cut <= len(data); cut++ {
		s := Scanner{Want: SensorNumber}
		s.Write(data[:cut])
		got := scanAll(&s)
		s.Write(data[cut:])
		got = append(got, scanAll(&s)...)
		if !equalFrames(got, want) {
			t.Fatalf("cut %d: got %v, want %v", cut, got, want)
		}
	}
}

func TestScannerRejects(t *testing.T) {
	good := ReadResponse(544, 24, 0)
	badsum := good
	badsum[8]++
	flipped := good
	flipped[3] ^= 0x01
	cases := map[string]struct {
		frame []byte
		ok    bool
	}{
		"valid":               {good[:], true},
		"checksum":            {badsum[:], false},
		"data changed":        {flipped[:], false},
		"truncated":           {good[:8], false},
		"other response":      {func() []byte { f := NewResponse(CmdRange, [6]byte{}); return f[:] }(), false},
		"command, not answer": {func() []byte { f := ReadCommand(); return f[:] }(), false},
		"no start byte":       {append([]byte{0xFE}, good[1:]...), false},
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

func TestScannerReset(t *testing.T) {
	f := ReadResponse(544, 24, 0)
	var s Scanner
	s.Write(f[:5])
	s.Reset()
	s.Write(f[5:])
	if _, ok := s.Next(); ok {
		t.Fatal("frame assembled across Reset")
	}
	s.Write(f[:])
	if got, ok := s.Next(); !ok || got != f {
		t.Fatalf("after reset: %s, %v", got, ok)
	}
}

func FuzzScanner(f *testing.F) {
	data, _ := stream()
	f.Add(data, uint8(3), false)
	f.Add(mustHex(f, "FF 86 02 20 00 00 00 00 58"), uint8(1), false)
	f.Add(mustHex(f, "FF FF 86 FF 86 FF 86 01 F4 40 00 00 00 45"), uint8(2), false)
	cmd := ReadCommand()
	f.Add(append([]byte{0xFF, 0x01, 0xFF}, cmd[:]...), uint8(4), true)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, commands bool) {
		step := int(chunk%16) + 1
		s := Scanner{}
		want := byte(CmdRead)
		if commands {
			s.Want, want = SensorNumber, SensorNumber
		}
		for i := 0; i < len(data); i += step {
			s.Write(data[i:min(i+step, len(data))])
			for {
				fr, ok := s.Next()
				if !ok {
					break
				}
				if !fr.Valid() || fr[1] != want {
					t.Fatalf("found invalid frame %s", fr)
				}
				// Every frame found must really be in the input.
				if !bytes.Contains(data, fr[:]) {
					t.Fatalf("found %s, which is not in the input", fr)
				}
				if commands {
					if NewCommand(fr[2], [5]byte(fr[3:8])) != fr {
						t.Fatalf("command %s does not round-trip", fr)
					}
					continue
				}
				if NewResponse(fr[1], [6]byte(fr[2:8])) != fr {
					t.Fatalf("response %s does not round-trip", fr)
				}
				co2, temp, st, err := ParseReadResponse(fr)
				if err != nil {
					t.Fatal(err)
				}
				if fr[6] == 0 && fr[7] == 0 && ReadResponse(co2, temp, st) != fr {
					t.Fatalf("reading %s does not round-trip", fr)
				}
			}
			if s.Buffered() >= FrameLen {
				t.Fatalf("buffer holds %d bytes after scanning", s.Buffered())
			}
		}
	})
}
