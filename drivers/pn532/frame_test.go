package pn532

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// h parses a spaced hex string such as "00 00 FF".
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The worked examples from docs/protocols.md, byte for byte.
var examples = []struct {
	name string
	got  func() []byte
	want []byte
}{
	{"GetFirmwareVersion", func() []byte { return Command(CmdGetFirmwareVersion) },
		h("00 00 FF 02 FE D4 02 2A 00")},
	{"GetFirmwareVersion reply", func() []byte { return Encode(PN532ToHost, h("03 32 01 06 07")) },
		h("00 00 FF 06 FA D5 03 32 01 06 07 E8 00")},
	{"SAMConfiguration normal", func() []byte { return Command(CmdSAMConfiguration, 0x01, 0x14, 0x01) },
		h("00 00 FF 05 FB D4 14 01 14 01 02 00")},
	{"SAMConfiguration reply", func() []byte { return Encode(PN532ToHost, h("15")) },
		h("00 00 FF 02 FE D5 15 16 00")},
	{"InListPassiveTarget", func() []byte { return Command(CmdInListPassiveTarget, 0x01, 0x00) },
		h("00 00 FF 04 FC D4 4A 01 00 E1 00")},
	{"InListPassiveTarget reply DEADBEEF", func() []byte {
		return Encode(PN532ToHost, append(h("4B 01"), TargetData(1, h("DEADBEEF"))...))
	}, h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00")},
	{"ACK", ACK, h("00 00 FF 00 FF 00")},
	{"NACK", NACK, h("00 00 FF FF 00 00")},
	{"error frame", ErrorFrame, h("00 00 FF 01 FF 7F 81 00")},
}

func TestEncodeMatchesProtocolExamples(t *testing.T) {
	for _, ex := range examples {
		if got := ex.got(); !bytes.Equal(got, ex.want) {
			t.Errorf("%s = % X, want % X", ex.name, got, ex.want)
		}
	}
}

func TestScannerDecodesProtocolExamples(t *testing.T) {
	want := []string{
		"info D4 02", "info D5 0332010607", "info D4 14011401", "info D5 15",
		"info D4 4A0100", "info D5 4B010100040804DEADBEEF", "ack", "nack", "error",
	}
	for i, ex := range examples {
		var s Scanner
		s.Write(ex.want)
		f, ok := s.Next()
		if !ok {
			t.Fatalf("%s: no frame found", ex.name)
		}
		if got, w := show(f), strings.ReplaceAll(want[i], " ", ""); strings.ReplaceAll(got, " ", "") != w {
			t.Errorf("%s: scanned %s, want %s", ex.name, got, want[i])
		}
		if _, more := s.Next(); more || s.Bad != 0 {
			t.Errorf("%s: extra frame or bad count %d", ex.name, s.Bad)
		}
	}
}

func TestParseTargetsAndFirmware(t *testing.T) {
	fw, err := ParseFirmware(h("32 01 06 07"))
	if err != nil || fw != (Firmware{IC: 0x32, Version: 1, Revision: 6, Support: 7}) {
		t.Fatalf("ParseFirmware = %v, %v", fw, err)
	}
	if fw.String() != "PN532 firmware 1.6 (support 07)" {
		t.Errorf("Firmware.String() = %q", fw.String())
	}
	ts, err := ParseTargets(h("01 01 00 04 08 04 DE AD BE EF"))
	if err != nil || len(ts) != 1 || FormatUID(ts[0].UID) != "DEADBEEF" || ts[0].SelRes != 0x08 {
		t.Fatalf("ParseTargets = %v, %v", ts, err)
	}
	// 7-byte UID of an ISO 14443-4 card with ATS.
	ts, err = ParseTargets(h("01 01 03 44 20 07 04 11 22 33 44 55 66 05 75 77 81 02"))
	if err != nil || len(ts) != 1 || FormatUID(ts[0].UID) != "04112233445566" || len(ts[0].ATS) != 5 {
		t.Fatalf("ParseTargets with ATS = %v, %v", ts, err)
	}
	for _, uid := range []string{"DEADBEEF", "04112233445566", "0102030405060708090A"} {
		b, err := ParseUID(uid)
		if err != nil {
			t.Fatal(err)
		}
		ts, err := ParseTargets(append([]byte{1}, TargetData(1, b)...))
		if err != nil || len(ts) != 1 || FormatUID(ts[0].UID) != uid {
			t.Errorf("round trip %s: %v, %v", uid, ts, err)
		}
	}
	if ts, err := ParseTargets(h("00")); err != nil || len(ts) != 0 {
		t.Errorf("no targets: %v, %v", ts, err)
	}
	for _, bad := range []string{"", "03", "01 01 00 04 08 05 DE AD BE EF 00", "01 01 00 04 08 04 DE AD", "01 01 00 04 28 04 DE AD BE EF 09 00"} {
		if _, err := ParseTargets(h(bad)); err == nil {
			t.Errorf("ParseTargets(%s) accepted", bad)
		}
	}
	for _, bad := range []string{"DEADBE", "DEADBEEFAA", "XYZ", ""} {
		if _, err := ParseUID(bad); err == nil {
			t.Errorf("ParseUID(%q) accepted", bad)
		}
	}
	if b, err := ParseUID("de:ad:be:ef"); err != nil || FormatUID(b) != "DEADBEEF" {
		t.Errorf("ParseUID with colons = %X, %v", b, err)
	}
}

func show(f Frame) string {
	if f.Kind != FrameInfo {
		return f.Kind.String()
	}
	return fmt.Sprintf("info %02X %X", f.TFI, f.Data)
}

func scanAll(s *Scanner) []string {
	var out []string
	for {
		f, ok := s.Next()
		if !ok {
			return out
		}
		out = append(out, show(f))
	}
}

// extended encodes an extended frame even for short data, as a sender may.
func extended(tfi byte, data []byte) []byte {
	n := 1 + len(data)
	m, l := byte(n>>8), byte(n)
	f := []byte{0x00, 0x00, 0xFF, 0xFF, 0xFF, m, l, -(m + l), tfi}
	sum := tfi
	for _, b := range data {
		sum += b
	}
	f = append(f, data...)
	return append(f, -sum, 0x00)
}

// stream is every kind of frame with noise around and between them: a
// stray start code, a bad frame hiding a real one, a long preamble, a
// missing postamble, an extended frame, and a frame cut short at the end.
func stream() ([]byte, []string) {
	fw := Encode(PN532ToHost, h("03 32 01 06 07"))
	card := Encode(PN532ToHost, h("4B 01 01 00 04 08 04 DE AD BE EF"))
	big := bytes.Repeat([]byte{0xA5}, 300)
	badDCS := append([]byte(nil), card...)
	badDCS[len(badDCS)-2]++
	badLCS := append([]byte(nil), fw...)
	badLCS[4]++
	var s []byte
	s = append(s, 0x55, 0x00, 0xFF, 0x13)                   // noise with a stray start code (bad LEN/LCS)
	s = append(s, ACK()...)                                 // 1
	s = append(s, badDCS[:9]...)                            // start of a bad frame...
	s = append(s, fw...)                                    // 2 ...with a real frame inside its window
	s = append(s, 0x00, 0x00, 0x00, 0x00)                   // long preamble
	s = append(s, card[2:len(card)-1]...)                   // 3 short preamble, no postamble
	s = append(s, badDCS...)                                // DCS mismatch
	s = append(s, badLCS...)                                // LCS mismatch
	s = append(s, NACK()...)                                // 4
	s = append(s, ErrorFrame()...)                          // 5
	s = append(s, extended(PN532ToHost, h("15"))...)        // 6 extended, short
	s = append(s, Encode(HostToPN532, big)...)              // 7 extended, long
	s = append(s, 0xFF, 0x00, 0x00)                         // garbage
	s = append(s, Command(CmdInListPassiveTarget, 1, 0)...) // 8
	s = append(s, card[:10]...)                             // cut short at the end
	return s, []string{
		"ack", "info D5 0332010607", "info D5 4B010100040804DEADBEEF",
		"nack", "error", "info D5 15", "info D4 " + strings.ToUpper(hex.EncodeToString(big)), "info D4 4A0100",
	}
}

func norm(ss []string) string {
	return strings.ReplaceAll(strings.Join(ss, "|"), " ", "")
}

func TestScannerSplitAtEveryPosition(t *testing.T) {
	data, want := stream()
	w := norm(want)
	for cut1 := 0; cut1 <= len(data); cut1++ {
		for _, cut2 := range []int{cut1, (cut1 + len(data)) / 2, len(data)} {
			var s Scanner
			var got []string
			for _, part := range [][]byte{data[:cut1], data[cut1:cut2], data[cut2:]} {
				s.Write(part)
				got = append(got, scanAll(&s)...)
			}
			if norm(got) != w {
				t.Fatalf("cuts %d,%d: got\n%v\nwant\n%v", cut1, cut2, got, want)
			}
			if s.Bad < 3 {
				t.Fatalf("cuts %d,%d: %d bad frames counted, want at least 3", cut1, cut2, s.Bad)
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
	if norm(got) != norm(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !s.Partial() {
		t.Fatal("the frame cut short at the end is not pending")
	}
	s.Reset()
	if s.Partial() {
		t.Fatal("Reset left bytes behind")
	}
}

func TestScannerRejects(t *testing.T) {
	card := h("00 00 FF 0C F4 D5 4B 01 01 00 04 08 04 DE AD BE EF 96 00")
	mod := func(i int, v byte) []byte {
		b := append([]byte(nil), card...)
		b[i] = v
		return b
	}
	cases := map[string]struct {
		frame []byte
		ok    bool
	}{
		"valid":               {card, true},
		"no postamble":        {card[:len(card)-1], true},
		"bad DCS":             {mod(17, 0x97), false},
		"bad LCS":             {mod(4, 0xF5), false},
		"data changed":        {mod(13, 0xDF), false},
		"truncated":           {card[:12], false},
		"LEN 0 LCS 0":         {h("00 00 FF 00 00 D5 2B 00"), false},
		"ACK with bad LCS":    {h("00 00 FF 00 FE 00"), false},
		"extended bad LCS":    {h("00 00 FF FF FF 00 02 FF D5 15 16 00"), false},
		"extended too long":   {h("00 00 FF FF FF 10 00 F0 D5 15 16 00"), false},
		"extended zero":       {h("00 00 FF FF FF 00 00 00 D5 15 16 00"), false},
		"only start code":     {h("00 FF"), false},
		"error frame bad DCS": {h("00 00 FF 01 FF 7F 80 00"), false},
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

// contains reports whether f occurs in data in some encoding a sender may
// use (from the start code on, without postamble).
func contains(data []byte, f Frame) bool {
	var cands [][]byte
	switch f.Kind {
	case FrameACK:
		cands = [][]byte{h("00 FF 00 FF")}
	case FrameNACK:
		cands = [][]byte{h("00 FF FF 00")}
	case FrameError:
		cands = [][]byte{h("00 FF 01 FF 7F 81"), h("00 FF FF FF 00 01 FF 7F 81")}
	case FrameInfo:
		n := Encode(f.TFI, f.Data)
		x := extended(f.TFI, f.Data)
		cands = [][]byte{n[1 : len(n)-1], x[1 : len(x)-1]}
	}
	for _, c := range cands {
		if bytes.Contains(data, c) {
			return true
		}
	}
	return false
}

func FuzzScanner(f *testing.F) {
	data, _ := stream()
	f.Add(data, uint8(3))
	for _, ex := range examples {
		f.Add(ex.want, uint8(1))
	}
	f.Add(h("00 FF FF FF 01 00 FF"), uint8(0))
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
				if !contains(data, fr) {
					t.Fatalf("found %s, which is not in the input", show(fr))
				}
				_ = fr.String()
			}
			if len(s.buf) >= maxFrameLen {
				t.Fatalf("buffer holds %d bytes after scanning", len(s.buf))
			}
		}
		// Round trip: the input as payload of a frame comes back intact.
		payload := data[:min(len(data), MaxFrameData-1)]
		var r Scanner
		r.Write(append([]byte{0x13, 0x00}, Encode(PN532ToHost, payload)...))
		fr, ok := r.Next()
		if !ok || fr.Kind != FrameInfo || fr.TFI != PN532ToHost || !bytes.Equal(fr.Data, payload) {
			t.Fatalf("round trip of % X: %v %s", payload, ok, show(fr))
		}
	})
}

func FuzzParseTargets(f *testing.F) {
	f.Add(h("01 01 00 04 08 04 DE AD BE EF"))
	f.Add(h("01 01 03 44 20 07 04 11 22 33 44 55 66 05 75 77 81 02"))
	f.Add(h("02 01 00 04 08 04 DE AD BE EF 02 00 44 00 07 04 11 22 33 44 55 66"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := ParseTargets(data)
		if err != nil {
			return
		}
		for _, tg := range ts {
			if !validUIDLen(len(tg.UID)) || !bytes.Contains(data, tg.UID) {
				t.Fatalf("target %s with UID % X from % X", tg, tg.UID, data)
			}
		}
	})
}
