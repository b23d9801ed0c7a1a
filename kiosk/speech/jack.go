package speech

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
)

// Linux input event codes (linux/input-event-codes.h).
const (
	evSyn             = 0x00
	evSw              = 0x05
	synDropped        = 3
	swHeadphoneInsert = 0x02
)

// RecordSize is the size of the kernel's struct input_event here: a
// struct timeval (two longs) and type u16, code u16, value s32 — 24 bytes
// on 64-bit, 16 on 32-bit.
var RecordSize = 2*strconv.IntSize/8 + 8

// InputEvent is one evdev record without its time stamp.
type InputEvent struct {
	Type, Code uint16
	Value      int32
}

// ParseInputEvents decodes the whole records of size recordSize (16 or
// 24) at the start of b, in the machine's byte order, and says how many
// bytes they took; a partial record at the end is left for the next read.
func ParseInputEvents(b []byte, recordSize int) ([]InputEvent, int, error) {
	if recordSize != 16 && recordSize != 24 {
		return nil, 0, fmt.Errorf("speech: input event size %d: want 16 or 24", recordSize)
	}
	n := len(b) / recordSize
	out := make([]InputEvent, 0, n)
	for i := range n {
		r := b[i*recordSize : (i+1)*recordSize]
		t := recordSize - 8 // past the time stamp
		out = append(out, InputEvent{
			Type:  binary.NativeEndian.Uint16(r[t:]),
			Code:  binary.NativeEndian.Uint16(r[t+2:]),
			Value: int32(binary.NativeEndian.Uint32(r[t+4:])),
		})
	}
	return out, n * recordSize, nil
}

// AppendInputEvent appends e as a record of recordSize bytes with a zero
// time stamp (tests, the fuzz target).
func AppendInputEvent(b []byte, e InputEvent, recordSize int) []byte {
	b = append(b, make([]byte, recordSize-8)...)
	b = binary.NativeEndian.AppendUint16(b, e.Type)
	b = binary.NativeEndian.AppendUint16(b, e.Code)
	return binary.NativeEndian.AppendUint32(b, uint32(e.Value))
}

// Jack watches a headphone jack: the sound card's switch input device
// (e.g. "HDA Intel PCH Headphone" in /proc/bus/input/devices), which
// reports SW_HEADPHONE_INSERT.
type Jack struct {
	// Path of the event device, /dev/input/eventN.
	Path string
	// OnChange gets every change, from Run's goroutine. If the device can
	// say whether headphones are in when Run starts (EVIOCGSW), OnChange
	// gets true then if they are; otherwise the state is unknown (taken
	// as unplugged) until the first event.
	OnChange func(plugged bool)
	Logger   *slog.Logger
}

// Run reads the device until ctx ends or reading fails.
func (j *Jack) Run(ctx context.Context) error {
	log := j.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f, err := os.Open(j.Path)
	if err != nil {
		return fmt.Errorf("speech: headphone jack: %w", err)
	}
	var once sync.Once
	closeFile := func() { once.Do(func() { f.Close() }) }
	defer closeFile()
	stop := context.AfterFunc(ctx, closeFile) // ends a blocked Read
	defer stop()

	plugged := false
	set := func(now bool) {
		if now != plugged {
			plugged = now
			j.OnChange(now)
		}
	}
	// resync asks the device (after SYN_DROPPED too: events were lost).
	resync := func() {
		if now, err := switchState(f, swHeadphoneInsert); err == nil {
			set(now)
		} else if !errors.Is(err, errNoSwitchState) {
			log.Debug("speech: headphone jack state", "err", err)
		}
	}
	resync()
	buf := make([]byte, 64*RecordSize)
	have := 0
	for {
		k, err := f.Read(buf[have:])
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("speech: headphone jack %s: %w", j.Path, err)
		}
		have += k
		events, used, err := ParseInputEvents(buf[:have], RecordSize)
		if err != nil {
			return err
		}
		have = copy(buf, buf[used:have])
		for _, e := range events {
			switch {
			case e.Type == evSw && e.Code == swHeadphoneInsert:
				set(e.Value != 0)
			case e.Type == evSyn && e.Code == synDropped:
				resync()
			}
		}
	}
}

var errNoSwitchState = errors.New("speech: the device cannot tell its switch state")
