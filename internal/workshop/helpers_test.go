package workshop

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/oklog/ulid/v2"
)

// author writes valid events the way a device does: ULIDs, a gapless
// sequence per device and a clock per device.
type author struct {
	t        testing.TB
	workshop string
	rng      *rand.Rand
	seq      map[string]uint64
	wall     int64 // the scenario's wall clock, unix ms
	hubSeq   uint64
}

func newAuthor(t testing.TB, seed uint64) *author {
	return &author{t: t, workshop: "ws1", rng: rand.New(rand.NewPCG(seed, 7)), seq: map[string]uint64{}, wall: 1_790_000_000_000}
}

// tick moves the scenario's wall clock on.
func (a *author) tick(ms int64) { a.wall += ms }

func (a *author) ulid(ms int64) string {
	var e [10]byte
	for i := range e {
		e[i] = byte(a.rng.Uint32())
	}
	id, err := ulid.New(uint64(ms), readerOf(e[:]))
	if err != nil {
		a.t.Fatal(err)
	}
	return id.String()
}

type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) { n := copy(p, r.b); r.b = r.b[n:]; return n, nil }

func readerOf(b []byte) *byteReader { return &byteReader{b: b} }

// ev writes an event at the scenario's current wall time, unstamped.
func (a *author) ev(device, actor string, t Type, data any) Event {
	return a.evAt(device, actor, t, data, a.wall)
}

func (a *author) evAt(device, actor string, t Type, data any, wall int64) Event {
	a.t.Helper()
	a.seq[device]++
	e := Event{
		ID: a.ulid(wall), Workshop: a.workshop, Device: device, Seq: a.seq[device],
		HLC: HLC{Wall: wall, Logical: uint32(a.seq[device])}, Actor: actor, Type: t,
	}
	if data != nil {
		b, err := Encode(data)
		if err != nil {
			a.t.Fatal(err)
		}
		e.Data = b
	}
	if err := e.Validate(); err != nil {
		a.t.Fatalf("test wrote an invalid event: %v", err)
	}
	return e
}

// stamp gives events the hub's next sequence numbers, in the order given.
func (a *author) stamp(evs ...Event) []Event {
	out := make([]Event, len(evs))
	for i, e := range evs {
		a.hubSeq++
		e.HubSeq = a.hubSeq
		out[i] = e
	}
	return out
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
