package aggregate

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// sink records emitted aggregates and can be made to fail.
type sink struct {
	mu   sync.Mutex
	got  []Aggregate
	fail error
}

func (s *sink) Emit(_ context.Context, a Aggregate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.got = append(s.got, a)
	return nil
}

func (s *sink) all() []Aggregate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

func pm(v float64, at time.Duration) Reading {
	return Reading{Sensor: "sds011-0", Quantity: "pm25", Unit: "ug/m3", Value: v, At: t0.Add(at)}
}

func TestMinuteStatistics(t *testing.T) {
	s := &sink{}
	g := New(s, Opts{})
	for i, v := range []float64{4, 10, 1, 5} {
		g.Add(pm(v, time.Duration(i)*10*time.Second))
	}
	warm := pm(999, 45*time.Second)
	warm.WarmUp = true
	g.Add(warm)
	g.Add(pm(math.NaN(), 50*time.Second))
	g.Add(pm(math.Inf(1), 51*time.Second))
	ctx := context.Background()

	// Not yet closed: within the minute and within the grace period.
	if err := g.Flush(ctx, t0.Add(time.Minute+4*time.Second)); err != nil || len(s.all()) != 0 {
		t.Fatalf("emitted before grace ended: %v %v", s.all(), err)
	}
	if err := g.Flush(ctx, t0.Add(time.Minute+5*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := Aggregate{Sensor: "sds011-0", Quantity: "pm25", Unit: "ug/m3", Minute: t0,
		Count: 4, Mean: 5, Min: 1, Max: 10, WarmUp: 1, Invalid: 2}
	if got := s.all(); len(got) != 1 || got[0] != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestLaterReadingClosesMinute(t *testing.T) {
	s := &sink{}
	g := New(s, Opts{})
	g.Add(pm(1, 0))
	g.Add(Reading{Sensor: "mhz19-0", Quantity: "co2", Unit: "ppm", Value: 400, At: t0.Add(30 * time.Second)})
	g.Add(pm(3, 61*time.Second)) // closes pm25 10:00, not co2
	// Flush long before the grace period emits only what was closed.
	if err := g.Flush(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	got := s.all()
	if len(got) != 1 || got[0].Quantity != "pm25" || !got[0].Minute.Equal(t0) || got[0].Count != 1 {
		t.Fatalf("got %+v", got)
	}
	// A reading for the closed minute is late: dropped and counted.
	g.Add(pm(2, 59*time.Second))
	if st := g.Stats(); st.Late != 1 || st.Open != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWarmUpOnlyMinute(t *testing.T) {
	s := &sink{}
	g := New(s, Opts{})
	r := pm(50, 0)
	r.WarmUp = true
	g.Add(r)
	g.Add(r)
	if err := g.Flush(context.Background(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := s.all()
	if len(got) != 1 || got[0].Count != 0 || got[0].WarmUp != 2 || got[0].Mean != 0 {
		t.Fatalf("got %+v", got)
	}
}

func TestOrderAcrossSensors(t *testing.T) {
	s := &sink{}
	g := New(s, Opts{})
	for m := range 3 {
		for _, q := range []string{"pm10", "pm25"} {
			g.Add(Reading{Sensor: "sds011-0", Quantity: q, Unit: "ug/m3", Value: float64(m), At: t0.Add(time.Duration(m) * time.Minute)})
		}
	}
	if err := g.Flush(context.Background(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range s.all() {
		got = append(got, a.Minute.Format("15:04")+" "+a.Quantity)
	}
	want := []string{"10:00 pm10", "10:00 pm25", "10:01 pm10", "10:01 pm25", "10:02 pm10", "10:02 pm25"}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestEmitFailureRetried(t *testing.T) {
	s := &sink{fail: errors.New("outbox full")}
	g := New(s, Opts{})
	g.Add(pm(1, 0))
	g.Add(pm(2, time.Minute))
	g.Add(pm(3, 2*time.Minute))
	ctx := context.Background()
	if err := g.Flush(ctx, t0.Add(time.Hour)); err == nil {
		t.Fatal("Flush hid the emitter error")
	}
	if st := g.Stats(); st.Pending != 3 {
		t.Fatalf("pending %d, want 3", st.Pending)
	}
	s.mu.Lock()
	s.fail = nil
	s.mu.Unlock()
	if err := g.Flush(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var means []float64
	for _, a := range s.all() {
		means = append(means, a.Mean)
	}
	if !slices.Equal(means, []float64{1, 2, 3}) {
		t.Fatalf("emitted %v after retry, want [1 2 3]", means)
	}
}

func TestMaxPendingDropsOldest(t *testing.T) {
	s := &sink{fail: errors.New("down")}
	g := New(s, Opts{MaxPending: 2})
	for m := range 5 {
		g.Add(pm(float64(m), time.Duration(m)*time.Minute))
	}
	_ = g.Flush(context.Background(), t0.Add(time.Hour))
	if st := g.Stats(); st.Pending != 2 || st.Dropped != 3 {
		t.Fatalf("stats %+v", st)
	}
	s.mu.Lock()
	s.fail = nil
	s.mu.Unlock()
	if err := g.Flush(context.Background(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := s.all(); len(got) != 2 || got[0].Mean != 3 || got[1].Mean != 4 {
		t.Fatalf("got %+v", got)
	}
}

func TestCloseEmitsOpenMinuteAsPartial(t *testing.T) {
	s := &sink{}
	now := t0.Add(30 * time.Second)
	g := New(s, Opts{Now: func() time.Time { return now }})
	g.Add(pm(7, 10*time.Second))
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.all()
	if len(got) != 1 || !got[0].Partial || got[0].Mean != 7 {
		t.Fatalf("got %+v", got)
	}
	if st := g.Stats(); st.Open != 0 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRunTicksAndFlushesOnShutdown(t *testing.T) {
	s := &sink{}
	var mu sync.Mutex
	now := t0
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	ticks := make(chan time.Time)
	g := New(s, Opts{Now: clock, Ticks: ticks})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()

	g.Add(pm(1, 0))
	g.Add(pm(2, 70*time.Second))
	mu.Lock()
	now = t0.Add(70 * time.Second)
	mu.Unlock()
	ticks <- now // a tick is received only while Run waits, so the flush follows
	ticks <- now // ...and has finished once the next tick is taken
	if got := s.all(); len(got) != 1 || got[0].Mean != 1 || got[0].Partial {
		t.Fatalf("after tick: %+v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := s.all(); len(got) != 2 || got[1].Mean != 2 || !got[1].Partial {
		t.Fatalf("after shutdown: %+v", got)
	}
}

func TestConcurrentAdd(t *testing.T) {
	s := &sink{}
	g := New(s, Opts{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 600 {
				g.Add(Reading{Sensor: "s", Quantity: "co2", Unit: "ppm", Value: float64(w), At: t0.Add(time.Duration(i) * 100 * time.Millisecond)})
			}
		})
	}
	wg.Wait()
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, a := range s.all() {
		total += a.Count
	}
	if st := g.Stats(); total+int(st.Late) != 8*600 {
		t.Fatalf("%d aggregated + %d late, want %d readings", total, st.Late, 8*600)
	}
}

// The device kind and the expected readings reach the record: the hub
// flags incomplete minutes with them. The JSON names are the hub's
// contract (hub-server/internal/store.SensorMinute).
func TestModelAndExpectedReachTheRecord(t *testing.T) {
	s := &sink{}
	g := New(s, Opts{})
	r := Reading{Sensor: "mhz19-0", Quantity: "co2", Unit: "ppm", Value: 420, At: t0, Model: "mhz19", Expected: 12}
	g.Add(r)
	r.Value, r.At = 440, t0.Add(5*time.Second)
	g.Add(r)
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := s.all()
	if len(got) != 1 || got[0].Model != "mhz19" || got[0].Expected != 12 || got[0].Count != 2 {
		t.Fatalf("got %+v, want model mhz19, 12 expected, 2 readings", got)
	}
	b, err := json.Marshal(got[0])
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	if fields["model"] != "mhz19" || fields["expected"] != 12.0 || fields["minute"] != "2026-03-01T10:00:00Z" || fields["mean"] != 430.0 {
		t.Errorf("JSON %s lacks model, expected, minute or mean as the hub reads them", b)
	}
	// Readings of drivers that do not say stay without both fields.
	b, _ = json.Marshal(Aggregate{Sensor: "x", Quantity: "pm25", Minute: t0, Count: 1})
	var bare map[string]any
	if err := json.Unmarshal(b, &bare); err != nil {
		t.Fatal(err)
	}
	if _, ok := bare["model"]; ok {
		t.Errorf("empty model written: %s", b)
	}
	if _, ok := bare["expected"]; ok {
		t.Errorf("zero expected written: %s", b)
	}
}
