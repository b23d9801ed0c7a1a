package outbox

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/oklog/ulid/v2"
)

// Class is a record's priority class. Lower values are sent first.
type Class uint8

// Classes in priority order.
const (
	ClassResident Class = iota + 1 // resident submissions: never evicted
	ClassEvent                     // device events
	ClassSensor                    // sensor readings: thinned, then evicted
)

// Classes lists every class in priority (sync) order.
var Classes = []Class{ClassResident, ClassEvent, ClassSensor}

const numClasses = 3

func (c Class) String() string {
	switch c {
	case ClassResident:
		return "resident"
	case ClassEvent:
		return "event"
	case ClassSensor:
		return "sensor"
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

func (c Class) valid() bool { return c >= ClassResident && c <= ClassSensor }

// idx is the class's index into per-class arrays.
func (c Class) idx() int { return int(c) - 1 }

func (c Class) bucket() []byte { return []byte("c/" + c.String()) }

// Record is one stored entry.
type Record struct {
	ID        string    // ULID, sorts in submit order
	Type      string    // e.g. "problem_report", "sensor_minute"
	Class     Class     // priority class
	CreatedAt time.Time // UTC, when Submit was called
	Payload   []byte    // a JSON object
}

func (r Record) String() string {
	return fmt.Sprintf("%s %s/%s %dB", r.ID, r.Class, r.Type, len(r.Payload))
}

// RecordOverhead is added to each record's key and value length when
// accounting against Opts.MaxBytes; it approximates bbolt's per-element
// header and page fill.
const RecordOverhead = 64

const (
	keyLen       = 16
	valueVersion = 1
	// maxTypeLen keeps types short identifiers, not data.
	maxTypeLen = 64
)

// accounted is the size a stored key/value pair counts against the cap.
func accounted(valueLen int) int64 { return int64(keyLen + valueLen + RecordOverhead) }

// encodeValue lays out a stored value:
// version(1) | createdAt unix ns (8, big-endian) | len(type) (1) | type | payload.
func encodeValue(typ string, createdAt time.Time, payload []byte) []byte {
	v := make([]byte, 10+len(typ)+len(payload))
	v[0] = valueVersion
	binary.BigEndian.PutUint64(v[1:9], uint64(createdAt.UnixNano()))
	v[9] = byte(len(typ))
	copy(v[10:], typ)
	copy(v[10+len(typ):], payload)
	return v
}

var errBadValue = errors.New("outbox: malformed stored value")

// decodeRecord copies key and value (which belong to a bbolt transaction)
// into a Record.
func decodeRecord(class Class, k, v []byte) (Record, error) {
	var id ulid.ULID
	if len(k) != keyLen || len(v) < 10 || v[0] != valueVersion || len(v) < 10+int(v[9]) {
		return Record{}, errBadValue
	}
	copy(id[:], k)
	tl := int(v[9])
	return Record{
		ID:        id.String(),
		Type:      string(v[10 : 10+tl]),
		Class:     class,
		CreatedAt: time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9]))).UTC(),
		Payload:   bytes.Clone(v[10+tl:]),
	}, nil
}

// createdAtOf reads only the timestamp of a stored value.
func createdAtOf(v []byte) (time.Time, bool) {
	if len(v) < 10 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9]))).UTC(), true
}

// validate checks what Submit is given; these are programming errors, not
// something to show a resident.
func validate(typ string, class Class, payload []byte, maxRecord int) error {
	if !class.valid() {
		return fmt.Errorf("outbox: %w: unknown class %d", ErrInvalid, class)
	}
	if typ == "" || len(typ) > maxTypeLen {
		return fmt.Errorf("outbox: %w: type must be 1..%d bytes", ErrInvalid, maxTypeLen)
	}
	if len(payload) > maxRecord {
		return fmt.Errorf("outbox: %w: payload of %d bytes exceeds %d", ErrInvalid, len(payload), maxRecord)
	}
	t := bytes.TrimLeft(payload, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !json.Valid(payload) {
		return fmt.Errorf("outbox: %w: payload is not a JSON object", ErrInvalid)
	}
	return nil
}

// idGen hands out ULIDs that never decrease: a new millisecond gets fresh
// entropy, a repeated or earlier one continues from the last ID plus one.
// It is not safe for concurrent use; the Outbox guards it.
type idGen struct {
	last    ulid.ULID
	entropy io.Reader
}

func (g *idGen) next(now time.Time) (ulid.ULID, error) {
	ms := ulid.Timestamp(now)
	if ms > g.last.Time() {
		id, err := ulid.New(ms, g.entropy)
		if err != nil {
			return ulid.ULID{}, fmt.Errorf("outbox: new id: %w", err)
		}
		g.last = id
		return id, nil
	}
	id := g.last
	for i := len(id) - 1; i >= 6; i-- { // increment the 80-bit entropy
		id[i]++
		if id[i] != 0 {
			g.last = id
			return id, nil
		}
	}
	// Entropy overflowed within one millisecond: borrow the next one.
	if err := id.SetTime(g.last.Time() + 1); err != nil {
		return ulid.ULID{}, fmt.Errorf("outbox: new id: %w", err)
	}
	g.last = id
	return id, nil
}
