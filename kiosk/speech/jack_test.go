package speech_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/speech"
)

func sw(value int32) speech.InputEvent {
	return speech.InputEvent{Type: 5, Code: 2, Value: value} // EV_SW, SW_HEADPHONE_INSERT
}

var synReport = speech.InputEvent{Type: 0, Code: 0, Value: 0}

// record is one real input_event as the kernel writes it (time stamp
// included), built by hand rather than through AppendInputEvent.
func record(sec, usec int64, typ, code uint16, value int32) []byte {
	b := make([]byte, speech.RecordSize)
	w := speech.RecordSize/2 - 4 // bytes per long
	put := func(off int, v uint64, n int) {
		for i := range n {
			b[off+i] = byte(v >> (8 * i)) // little-endian: amd64, arm64
		}
	}
	put(0, uint64(sec), w)
	put(w, uint64(usec), w)
	put(2*w, uint64(typ), 2)
	put(2*w+2, uint64(code), 2)
	put(2*w+4, uint64(uint32(value)), 4)
	return b
}

func TestJackReportsPluggingFromAFifo(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "event7")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	changes := make(chan bool, 10)
	j := &speech.Jack{Path: fifo, OnChange: func(p bool) { changes <- p }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx) }()
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for Run to open it
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := func(p bool) {
		t.Helper()
		select {
		case got := <-changes:
			if got != p {
				t.Fatalf("plugged %v, want %v", got, p)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no change to %v", p)
		}
	}
	write := func(b []byte) {
		t.Helper()
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	// Plugged in: a switch event and a report, as the kernel sends them.
	plug := append(record(1700000000, 1, 5, 2, 1), record(1700000000, 1, 0, 0, 0)...)
	write(plug)
	want(true)
	// A key press and a second "plugged" (no change) are not reported;
	// a record split over two writes is put together.
	unplug := append(record(1700000001, 5, 1, 28, 1), plug...)
	unplug = append(unplug, record(1700000002, 0, 5, 2, 0)...)
	write(unplug[:len(unplug)-5])
	write(unplug[len(unplug)-5:])
	want(false)
	write(speech.AppendInputEvent(nil, sw(1), speech.RecordSize))
	want(true)
	select {
	case p := <-changes:
		t.Fatalf("an extra change %v", p)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestJackMissingDevice(t *testing.T) {
	j := &speech.Jack{Path: filepath.Join(t.TempDir(), "event99"), OnChange: func(bool) {}}
	if err := j.Run(context.Background()); err == nil {
		t.Fatal("a missing device was taken")
	}
}

func TestParseInputEvents(t *testing.T) {
	for _, size := range []int{16, 24} {
		var b []byte
		in := []speech.InputEvent{sw(1), synReport, sw(0), {Type: 3, Code: 0x35, Value: -7}}
		for _, e := range in {
			b = speech.AppendInputEvent(b, e, size)
		}
		b = append(b, 1, 2, 3) // a partial record
		got, used, err := speech.ParseInputEvents(b, size)
		if err != nil || used != len(in)*size || len(got) != len(in) {
			t.Fatalf("size %d: %v, %d bytes, %v", size, got, used, err)
		}
		for i := range in {
			if got[i] != in[i] {
				t.Fatalf("size %d: event %d is %+v, want %+v", size, i, got[i], in[i])
			}
		}
	}
	if _, _, err := speech.ParseInputEvents(nil, 20); err == nil {
		t.Fatal("a record size of 20 was taken")
	}
}

// FuzzParseInputEvents: any bytes decode to whole records only, and the
// records encode back to the same type, code and value bytes.
func FuzzParseInputEvents(f *testing.F) {
	f.Add(record(1, 2, 5, 2, 1), true)
	f.Add(append(record(1, 2, 5, 2, 0), 9, 9), false)
	f.Fuzz(func(t *testing.T, b []byte, wide bool) {
		size := 16
		if wide {
			size = 24
		}
		events, used, err := speech.ParseInputEvents(b, size)
		if err != nil {
			t.Fatal(err)
		}
		if used%size != 0 || used > len(b) || len(b)-used >= size || len(events) != used/size {
			t.Fatalf("%d bytes: used %d for %d events", len(b), used, len(events))
		}
		for i, e := range events {
			again := speech.AppendInputEvent(nil, e, size)
			if string(again[size-8:]) != string(b[i*size+size-8:(i+1)*size]) {
				t.Fatalf("event %d does not encode back", i)
			}
		}
	})
}
