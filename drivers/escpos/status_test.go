package escpos

import (
	"bytes"
	"fmt"
	"testing"
)

func TestStatusRepliesMatchProtocol(t *testing.T) {
	cases := []struct {
		name           string
		st             Status
		n1, n2, n3, n4 byte
	}{
		{"all clear", Status{Online: true}, 0x12, 0x12, 0x12, 0x12},
		// The worked values in docs/protocols.md.
		{"out of paper", Status{Paper: PaperOut}, 0x1A, 0x32, 0x12, 0x7E},
		{"near end", Status{Online: true, Paper: PaperNearEnd}, 0x12, 0x12, 0x12, 0x1E},
		{"cover open", Status{CoverOpen: true}, 0x1A, 0x16, 0x12, 0x12},
		{"cutter error", Status{Error: true, Cause: ErrAutocutter}, 0x1A, 0x52, 0x1A, 0x12},
		{"unrecoverable", Status{Error: true, Cause: ErrUnrecoverable | ErrMechanical}, 0x1A, 0x52, 0x36, 0x12},
		{"drawer, feed button", Status{Online: true, DrawerHigh: true, FeedButton: true}, 0x56, 0x12, 0x12, 0x12},
	}
	for _, c := range cases {
		got := []byte{c.st.Reply(1), c.st.Reply(2), c.st.Reply(3), c.st.Reply(4)}
		want := []byte{c.n1, c.n2, c.n3, c.n4}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: replies % X, want % X", c.name, got, want)
		}
		var back Status
		for i, b := range got {
			if !IsStatusReply(b) {
				t.Fatalf("%s: %02X is not of the form 0xx1xx10", c.name, b)
			}
			if err := back.Apply(byte(i+1), b); err != nil {
				t.Fatal(err)
			}
		}
		back.FeedButton = c.st.FeedButton // n=2 bit 3 is the same button
		if back != c.st {
			t.Errorf("%s: parsed %+v, want %+v", c.name, back, c.st)
		}
	}
}

func TestStatusApplyRejects(t *testing.T) {
	var s Status
	for _, b := range []byte{0x00, 0x10, 0x11, 0x13, 0x92, 0xFF, 0x02} {
		if err := s.Apply(1, b); err == nil {
			t.Errorf("%02X accepted as a reply", b)
		}
	}
	if err := s.Apply(5, 0x12); err == nil {
		t.Error("n=5 accepted")
	}
}

func TestStatusPrintable(t *testing.T) {
	for _, c := range []struct {
		st   Status
		want bool
		str  string
	}{
		{Status{Online: true}, true, "online, paper ok"},
		{Status{Online: true, Paper: PaperNearEnd}, true, "online, paper near_end"},
		{Status{Paper: PaperOut}, false, "offline, paper out"},
		{Status{CoverOpen: true}, false, "offline, paper ok, cover open"},
		{Status{Error: true, Cause: ErrAutocutter}, false, "offline, paper ok, error (autocutter)"},
		{Status{}, false, "offline, paper ok"},
	} {
		if c.st.Printable() != c.want || c.st.String() != c.str {
			t.Errorf("%+v: printable %v %q", c.st, c.st.Printable(), c.st.String())
		}
	}
}

func msgs(s *Scanner) []string {
	var out []string
	for {
		m, ok := s.Next()
		if !ok {
			return out
		}
		out = append(out, m.String())
	}
}

// stream holds replies, an ASB, XON/XOFF and noise, including a would-be
// ASB that breaks off and a byte after it that is a real reply.
func stream() ([]byte, []string) {
	var s []byte
	s = append(s, 0x00, 0xFF, 0x80)             // noise
	s = append(s, 0x12)                         // reply
	s = append(s, 0x14, 0x00, 0x0C, 0x00)       // ASB
	s = append(s, 0x1A, 0x32, 0x7E)             // three replies
	s = append(s, 0x13)                         // XOFF
	s = append(s, 0x30, 0x01, 0x1E)             // ASB broken off by a reply
	s = append(s, 0x92, 0x01)                   // noise
	s = append(s, 0x11)                         // XON
	s = append(s, 0x10, 0x40, 0x00, 0x03, 0x56) // ASB, reply
	s = append(s, 0x18, 0x00)                   // unfinished ASB at the end
	return s, []string{"reply 12", "asb 14 00 0C 00", "reply 1A", "reply 32", "reply 7E", "xoff 13",
		"reply 1E", "xon 11", "asb 10 40 00 03", "reply 56"}
}

func TestScannerSplitAtEveryPosition(t *testing.T) {
	data, want := stream()
	for cut1 := 0; cut1 <= len(data); cut1++ {
		for _, cut2 := range []int{cut1, (cut1 + len(data)) / 2, len(data)} {
			var s Scanner
			var got []string
			for _, part := range [][]byte{data[:cut1], data[cut1:cut2], data[cut2:]} {
				s.Write(part)
				got = append(got, msgs(&s)...)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("cuts %d,%d: got %v, want %v", cut1, cut2, got, want)
			}
			if s.Pending() != 2 {
				t.Fatalf("cuts %d,%d: %d bytes pending, want the unfinished ASB's 2", cut1, cut2, s.Pending())
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
		got = append(got, msgs(&s)...)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// 00 FF 80, the broken ASB's 30 01, 92 01.
	if s.Skipped != 7 {
		t.Fatalf("skipped %d, want 7", s.Skipped)
	}
	s.Reset()
	if s.Pending() != 0 {
		t.Fatal("Reset kept bytes")
	}
}

func TestScannerRejects(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{[]byte{0x14, 0x00, 0x10, 0x00, 0x00}, "[]"},           // ASB byte 3 with bit 4 set: both break off
		{[]byte{0x14, 0x80, 0x00, 0x00}, "[]"},                 // bit 7 set in byte 2
		{[]byte{0x12, 0x12}, "[reply 12 reply 12]"},            // replies need no frame
		{[]byte{0x13, 0x13, 0x11}, "[xoff 13 xoff 13 xon 11]"}, // flow control
	} {
		var s Scanner
		s.Write(c.in)
		if got := fmt.Sprint(msgs(&s)); got != c.want {
			t.Errorf("% X: %s, want %s", c.in, got, c.want)
		}
	}
}

func FuzzScanner(f *testing.F) {
	data, _ := stream()
	f.Add(data, uint8(3))
	f.Add([]byte{0x12, 0x1A, 0x32, 0x7E}, uint8(1))
	f.Add([]byte{0x14, 0x00, 0x0C}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		step := int(chunk%16) + 1
		var s Scanner
		consumed := 0
		for i := 0; i < len(data); i += step {
			s.Write(data[i:min(i+step, len(data))])
			for {
				m, ok := s.Next()
				if !ok {
					break
				}
				// Every message must be the bytes at its place in the input.
				n := 1
				if m.Kind == MsgASB {
					n = 4
				}
				for consumed < len(data) && !bytes.Equal(data[consumed:min(consumed+n, len(data))], m.Bytes[:n]) {
					consumed++ // skipped noise
				}
				if consumed >= len(data) {
					t.Fatalf("message %s not found in order in the input", m)
				}
				switch m.Kind {
				case MsgReply:
					if !IsStatusReply(m.Bytes[0]) {
						t.Fatalf("reply %02X has the wrong form", m.Bytes[0])
					}
				case MsgASB:
					if !isASBFirst(m.Bytes[0]) {
						t.Fatalf("ASB % X has the wrong form", m.Bytes)
					}
				}
				consumed += n
			}
			if s.Pending() > 3 {
				t.Fatalf("%d bytes pending", s.Pending())
			}
		}
	})
}
