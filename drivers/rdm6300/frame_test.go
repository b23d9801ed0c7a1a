package rdm6300

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// The worked example from docs/protocols.md.
var exampleFrame = []byte{0x02, 0x30, 0x31, 0x30, 0x30, 0x34, 0x43, 0x41, 0x35, 0x33, 0x42, 0x44, 0x33, 0x03}

func TestEncodeMatchesProtocolExample(t *testing.T) {
	id, err := ParseUID("01004CA53B")
	if err != nil {
		t.Fatal(err)
	}
	if got := Encode(id); !bytes.Equal(got, exampleFrame) {
		t.Fatalf("Encode = % X, want % X", got, exampleFrame)
	}
}

func scanAll(s *Scanner) []string {
	var out []string
	for {
		id, ok := s.Next()
		if !ok {
			return out
		}
		out = append(out, hex.EncodeToString(id[:]))
	}
}

// stream is three frames with noise around and between them, including a
// stray STX and a frame with a bad checksum that hides a real one.
func stream() ([]byte, []string) {
	a, _ := ParseUID("01004CA53B")
	b, _ := ParseUID("0A0B0C0D0E")
	c, _ := ParseUID("FFFFFFFFFF")
	bad := Encode(b)
	bad[11] = 'F'
	var s []byte
	s = append(s, 0xFF, 0x02, 'Z')        // power-up noise with a stray STX
	s = append(s, Encode(a)...)           // frame 1
	s = append(s, bad[:5]...)             // truncated bad frame...
	s = append(s, Encode(b)...)           // ...with a real frame inside the window
	s = append(s, 0x03, 0x00, 0x30, 0x31) // garbage
	s = append(s, Encode(c)...)           // frame 3
	s = append(s, bad...)                 // checksum mismatch
	s = append(s, Encode(a)[:7]...)       // cut short at the end
	return s, []string{"01004ca53b", "0a0b0c0d0e", "ffffffffff"}
}

func TestScannerSplitAtEveryPosition(t *testing.T) {
	data, want := stream()
	for cut1 := 0; cut1 <= len(data); cut1++ {
		for _, cut2 := range []int{cut1, (cut1 + len(data)) / 2, len(data)} {
			var s Scanner
			var got []string
			for _, part := range [][]byte{data[:cut1], data[cut1:cut2], data[cut2:]} {
				s.Write(part)
				got = append(got, scanAll(&s)...)
			}
			if len(got) != len(want) {
				t.Fatalf("cuts %d,%d: got %v, want %v", cut1, cut2, got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("cuts %d,%d: got %v, want %v", cut1, cut2, got, want)
				}
			}
		}
	}
}

func TestScannerByteByByte(t *testing.T) {
	data, want := stream()
	var s Scanner
	var got []string
	for i := range data {
		s.Write(data[i : i+1])
		got = append(got, scanAll(&s)...)
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if s.Bad == 0 {
		t.Fatal("bad frames were not counted")
	}
}

func TestScannerRejects(t *testing.T) {
	lower := append([]byte(nil), exampleFrame...)
	copy(lower[1:13], bytes.ToLower(lower[1:13]))
	cases := map[string]struct {
		frame []byte
		ok    bool
	}{
		"valid":         {exampleFrame, true},
		"lowercase hex": {lower, true},
		"wrong ETX":     {append(append([]byte(nil), exampleFrame[:13]...), 0x04), false},
		"non-hex":       {append([]byte{0x02, 'G'}, exampleFrame[2:]...), false},
		"checksum":      {append(append(append([]byte(nil), exampleFrame[:11]...), 'D', '4'), 0x03), false},
		"truncated":     {exampleFrame[:13], false},
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

func FuzzScanner(f *testing.F) {
	data, _ := stream()
	f.Add(data, uint8(3))
	f.Add(exampleFrame, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		step := int(chunk%16) + 1
		var s Scanner
		for i := 0; i < len(data); i += step {
			s.Write(data[i:min(i+step, len(data))])
			for {
				id, ok := s.Next()
				if !ok {
					break
				}
				// Every frame found must really be in the input.
				if f := Encode(id); !bytes.Contains(bytes.ToUpper(data), f) {
					t.Fatalf("found %X, whose frame is not in the input", id)
				}
			}
			if s.Buffered() >= frameLen+step {
				t.Fatalf("buffer holds %d bytes after scanning", s.Buffered())
			}
		}
	})
}
