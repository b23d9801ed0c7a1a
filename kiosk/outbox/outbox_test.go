package outbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/internal/testutil"
	"github.com/quartierhub/quartierhub/internal/userr"
)

func TestPeekPriorityAndFIFO(t *testing.T) {
	o := open(t, dbPath(t), Opts{})
	var want [numClasses][]string
	// Interleave classes so submit order differs from priority order.
	for i := range 30 {
		c := Classes[(i*7)%3]
		want[c.idx()] = append(want[c.idx()], submit(t, o, c, i).ID)
	}
	got := all(t, o)
	wantAll := slices.Concat(want[0], want[1], want[2])
	if !slices.Equal(ids(got), wantAll) {
		t.Fatalf("Peek order\n got %v\nwant %v", ids(got), wantAll)
	}
	for _, r := range got {
		if r.Type != "test_"+r.Class.String() {
			t.Errorf("record %s: type %q class %s", r.ID, r.Type, r.Class)
		}
	}

	// Count bound.
	rs, err := o.Peek(context.Background(), 4, 1<<20)
	if err != nil || !slices.Equal(ids(rs), wantAll[:4]) {
		t.Fatalf("Peek(4) = %v, %v; want %v", ids(rs), err, wantAll[:4])
	}
	// Byte bound: payloads are 100 bytes, so 250 bytes allow two.
	rs, err = o.Peek(context.Background(), 100, 250)
	if err != nil || !slices.Equal(ids(rs), wantAll[:2]) {
		t.Fatalf("Peek(bytes 250) = %v, %v; want %v", ids(rs), err, wantAll[:2])
	}
	// At least one record even if it exceeds maxBytes.
	rs, err = o.Peek(context.Background(), 100, 1)
	if err != nil || !slices.Equal(ids(rs), wantAll[:1]) {
		t.Fatalf("Peek(bytes 1) = %v, %v; want %v", ids(rs), err, wantAll[:1])
	}
}

func TestPeekCopiesValues(t *testing.T) {
	o := open(t, dbPath(t), Opts{})
	submit(t, o, ClassResident, 1)
	rs := all(t, o)
	want := bytes.Clone(rs[0].Payload)
	// Writes after the read transaction must not change what was returned.
	for i := range 200 {
		submit(t, o, ClassResident, i+2)
	}
	if err := o.Ack(context.Background(), []string{rs[0].ID}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rs[0].Payload, want) {
		t.Fatalf("payload changed after the transaction: %q", rs[0].Payload)
	}
}

func TestAck(t *testing.T) {
	o := open(t, dbPath(t), Opts{})
	var recs []Record
	for i := range 10 {
		recs = append(recs, submit(t, o, Classes[i%3], i))
	}
	ctx := context.Background()
	acked := []string{recs[0].ID, recs[4].ID, recs[8].ID}
	if err := o.Ack(ctx, acked); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	// Repeated and unknown ids are ignored.
	unknown := ulid.MustNew(ulid.Now(), newEntropy()).String()
	if err := o.Ack(ctx, append(acked, unknown)); err != nil {
		t.Fatalf("repeated Ack: %v", err)
	}
	got := ids(all(t, o))
	if len(got) != 7 {
		t.Fatalf("after ack %d records, want 7", len(got))
	}
	for _, id := range acked {
		if slices.Contains(got, id) {
			t.Errorf("acked %s still stored", id)
		}
	}
	if err := o.Ack(ctx, []string{recs[1].ID, "not-a-ulid"}); !errors.Is(err, ErrBadID) {
		t.Fatalf("Ack malformed = %v, want ErrBadID", err)
	}
	if !slices.Contains(ids(all(t, o)), recs[1].ID) {
		t.Fatalf("a malformed id in the list must fail the whole ack")
	}
	s := stats(t, o)
	if n := s.Resident.Count + s.Event.Count + s.Sensor.Count; n != 7 {
		t.Fatalf("stats count %d, want 7", n)
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	path := dbPath(t)
	clock := newClock()
	o := open(t, path, Opts{Now: clock.Now})
	var want []Record
	for i := range 20 {
		clock.Add(1500 * time.Millisecond)
		want = append(want, submit(t, o, Classes[i%3], i))
	}
	if err := o.Ack(context.Background(), []string{want[0].ID}); err != nil {
		t.Fatal(err)
	}
	want = want[1:]
	before := stats(t, o)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	o2 := open(t, path, Opts{Now: clock.Now})
	got := all(t, o2)
	slices.SortFunc(want, func(a, b Record) int {
		if a.Class != b.Class {
			return int(a.Class) - int(b.Class)
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(got) != len(want) {
		t.Fatalf("after reopen %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Type != w.Type || g.Class != w.Class || !g.CreatedAt.Equal(w.CreatedAt) || !bytes.Equal(g.Payload, w.Payload) {
			t.Errorf("record %d\n got %+v\nwant %+v", i, g, w)
		}
	}
	if after := stats(t, o2); after != before {
		t.Fatalf("stats after reopen\n got %+v\nwant %+v", after, before)
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	o := open(t, dbPath(t), Opts{})
	const workers, each = 64, 40
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	var commitsBefore = o.commits.Load()
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				class := Classes[(w+i)%3]
				r, err := o.Submit(context.Background(), "load", class, payload(w*each+i, 200))
				if err != nil {
					t.Errorf("Submit: %v", err)
					return
				}
				mu.Lock()
				seen[r.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct ids returned, want %d", len(seen), workers*each)
	}
	count := map[string]int{}
	for _, r := range all(t, o) {
		count[r.ID]++
	}
	for id := range seen {
		if count[id] != 1 {
			t.Errorf("id %s stored %d times", id, count[id])
		}
	}
	if len(count) != len(seen) {
		t.Errorf("%d records stored, want %d", len(count), len(seen))
	}
	s := stats(t, o)
	if n := s.Resident.Count + s.Event.Count + s.Sensor.Count; n != workers*each {
		t.Errorf("stats count %d, want %d", n, workers*each)
	}
	commits := o.commits.Load() - commitsBefore
	t.Logf("%d records in %d commits", workers*each, commits)
	if commits*2 > workers*each {
		t.Errorf("%d commits for %d records: submissions were not grouped", commits, workers*each)
	}
}

func TestSubmitContextCancelled(t *testing.T) {
	o := open(t, dbPath(t), Opts{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Submit(ctx, "x", ClassResident, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit with cancelled ctx = %v", err)
	}

	// Hold the write lock so the committer blocks with A taken, while B
	// waits in the queue and is cancelled there.
	o.writeMu.Lock()
	resA := make(chan error, 1)
	go func() {
		_, err := o.Submit(context.Background(), "a", ClassResident, []byte(`{"a":1}`))
		resA <- err
	}()
	testutil.Eventually(t, "A taken by the committer", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.queue) == 0 && o.ids.last != (ulid.ULID{})
	})
	ctxB, cancelB := context.WithCancel(context.Background())
	resB := make(chan error, 1)
	go func() {
		_, err := o.Submit(ctxB, "b", ClassResident, []byte(`{"b":1}`))
		resB <- err
	}()
	testutil.Eventually(t, "B in the queue", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.queue) == 1
	})
	cancelB()
	if err := <-resB; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued Submit after cancel = %v", err)
	}
	o.writeMu.Unlock()
	if err := <-resA; err != nil {
		t.Fatalf("Submit A: %v", err)
	}
	// C is committed after B was skipped; only A and C are stored.
	submit(t, o, ClassResident, 3)
	var types []string
	for _, r := range all(t, o) {
		types = append(types, r.Type)
	}
	if !slices.Equal(types, []string{"a", "test_resident"}) {
		t.Fatalf("stored %v, want [a test_resident]", types)
	}
}

func TestInvalidRecordsRejected(t *testing.T) {
	o := open(t, dbPath(t), Opts{MaxRecordBytes: 1000})
	ctx := context.Background()
	for name, tc := range map[string]struct {
		typ     string
		class   Class
		payload string
	}{
		"not json":       {"t", ClassResident, `hello`},
		"truncated":      {"t", ClassResident, `{"a":`},
		"array":          {"t", ClassResident, `[1,2]`},
		"string":         {"t", ClassResident, `"x"`},
		"empty":          {"t", ClassResident, ``},
		"trailing junk":  {"t", ClassResident, `{} x`},
		"no type":        {"", ClassResident, `{}`},
		"long type":      {strings.Repeat("t", 65), ClassResident, `{}`},
		"class zero":     {"t", 0, `{}`},
		"class too high": {"t", 4, `{}`},
		"too large":      {"t", ClassSensor, string(payload(0, 1001))},
	} {
		if _, err := o.Submit(ctx, tc.typ, tc.class, []byte(tc.payload)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Submit = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := o.Submit(ctx, "t", ClassResident, []byte(" {\"ok\":true}\n")); err != nil {
		t.Errorf("valid object with whitespace rejected: %v", err)
	}
	if n := len(all(t, o)); n != 1 {
		t.Fatalf("%d records stored, want 1", n)
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	path := dbPath(t)
	open(t, path, Opts{})
	start := time.Now()
	_, err := Open(path, Opts{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "outbox is in use by another process") {
		t.Fatalf("second Open = %v, want ErrInUse", err)
	}
	t.Logf("second Open failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
}

func TestULIDOrder(t *testing.T) {
	path := dbPath(t)
	clock := newClock()
	o := open(t, path, Opts{Now: clock.Now})
	var got []string
	steps := []time.Duration{0, 0, 0, time.Millisecond, 0, -time.Hour, 0, 2 * time.Hour, -time.Millisecond, 0}
	for i, d := range steps {
		clock.Add(d)
		got = append(got, submit(t, o, ClassSensor, i).ID)
	}
	if !slices.IsSorted(got) {
		t.Fatalf("ids not in submit order: %v", got)
	}
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("duplicate ids: %v", got)
	}
	if ulid.MustParse(got[0]).Time() != ulid.Timestamp(newClock().Now()) {
		t.Errorf("first id time %v, want the clock's", ulid.MustParse(got[0]).Timestamp())
	}
	last := got[len(got)-1]
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	// A terminal booting with its clock a day behind continues after the
	// newest stored id.
	clock.Add(-24 * time.Hour)
	o2 := open(t, path, Opts{Now: clock.Now})
	if r := submit(t, o2, ClassSensor, 99); r.ID <= last {
		t.Fatalf("id after reopen %s not after %s", r.ID, last)
	}
}

func TestIDGenEntropyOverflow(t *testing.T) {
	var g idGen
	g.entropy = newEntropy()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	first, err := g.next(now)
	if err != nil {
		t.Fatal(err)
	}
	for i := 6; i < 16; i++ {
		g.last[i] = 0xff
	}
	id, err := g.next(now)
	if err != nil {
		t.Fatal(err)
	}
	if id.Compare(first) <= 0 || id.Time() != first.Time()+1 {
		t.Fatalf("overflow id %s (time %d), first %s (time %d)", id, id.Time(), first, first.Time())
	}
}

func TestStats(t *testing.T) {
	path := dbPath(t)
	clock := newClock()
	o := open(t, path, Opts{Now: clock.Now})
	t0 := clock.Now()
	r0 := submit(t, o, ClassResident, 0)
	clock.Add(time.Minute)
	submit(t, o, ClassResident, 1)
	submit(t, o, ClassSensor, 2)
	clock.Add(time.Minute)

	s := stats(t, o)
	size := accounted(len(encodeValue("test_resident", t0, payload(0, 100))))
	if s.Resident.Count != 2 || s.Resident.Bytes != 2*size {
		t.Errorf("resident %+v, want count 2 bytes %d", s.Resident, 2*size)
	}
	if !s.Resident.Oldest.Equal(t0) || s.Resident.OldestAge != 2*time.Minute {
		t.Errorf("resident oldest %v age %v, want %v 2m", s.Resident.Oldest, s.Resident.OldestAge, t0)
	}
	if s.Sensor.Count != 1 || s.Sensor.OldestAge != time.Minute {
		t.Errorf("sensor %+v", s.Sensor)
	}
	if s.Event.Count != 0 || !s.Event.Oldest.IsZero() {
		t.Errorf("event %+v", s.Event)
	}
	if s.UsedBytes != s.Resident.Bytes+s.Sensor.Bytes || s.MaxBytes != DefaultMaxBytes || s.FileBytes == 0 {
		t.Errorf("totals %+v", s)
	}

	if err := o.Ack(context.Background(), []string{r0.ID}); err != nil {
		t.Fatal(err)
	}
	s = stats(t, o)
	if s.Resident.Count != 1 || s.Resident.Bytes != size || s.Resident.OldestAge != time.Minute {
		t.Errorf("after ack resident %+v", s.Resident)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	o2 := open(t, path, Opts{Now: clock.Now})
	if s2 := stats(t, o2); s2 != s {
		t.Errorf("after reopen\n got %+v\nwant %+v", s2, s)
	}
}

// fixedSize is the accounted size of records made by submitFixed.
func fixedSize() int64 {
	return accounted(len(encodeValue("fixed", time.Time{}, payload(0, 100))))
}

func submitFixed(t *testing.T, o *Outbox, class Class, i int) (Record, error) {
	t.Helper()
	return o.Submit(context.Background(), "fixed", class, payload(i, 100))
}

func mustFixed(t *testing.T, o *Outbox, class Class, i int) Record {
	t.Helper()
	r, err := submitFixed(t, o, class, i)
	if err != nil {
		t.Fatalf("Submit %s %d: %v", class, i, err)
	}
	return r
}

func TestCapThinsThenEvictsSensor(t *testing.T) {
	path := dbPath(t)
	clock := newClock()
	opts := Opts{Now: clock.Now, MaxBytes: 10 * fixedSize(), ThinMinAge: time.Hour}
	o := open(t, path, opts)
	var old []string
	for i := range 10 {
		old = append(old, mustFixed(t, o, ClassSensor, i).ID)
	}
	clock.Add(2 * time.Hour)
	var fresh []string
	for i := range 5 {
		fresh = append(fresh, mustFixed(t, o, ClassSensor, 100+i).ID)
	}
	// Every second old reading is thinned; the fresh ones are too young.
	want := slices.Concat([]string{old[0], old[2], old[4], old[6], old[8]}, fresh)
	if got := ids(all(t, o)); !slices.Equal(got, want) {
		t.Fatalf("after thinning\n got %v\nwant %v", got, want)
	}
	s := stats(t, o)
	if s.Sensor.Thinned != 5 || s.Sensor.Evicted != 0 || s.Sensor.Count != 10 || s.UsedBytes != 10*fixedSize() {
		t.Fatalf("stats after thinning %+v", s.Sensor)
	}

	// Nothing is thinned twice: the next reading evicts the oldest.
	fresh = append(fresh, mustFixed(t, o, ClassSensor, 200).ID)
	want = slices.Concat([]string{old[2], old[4], old[6], old[8]}, fresh)
	if got := ids(all(t, o)); !slices.Equal(got, want) {
		t.Fatalf("after eviction\n got %v\nwant %v", got, want)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	// Counters and the thinning mark survive a restart.
	o2 := open(t, path, opts)
	s = stats(t, o2)
	if s.Sensor.Thinned != 5 || s.Sensor.Evicted != 1 || s.Sensor.Count != 10 {
		t.Fatalf("stats after eviction and reopen %+v", s.Sensor)
	}
	// Once the fresh readings are old enough they are thinned in turn,
	// before the already thinned ones are evicted.
	clock.Add(2 * time.Hour)
	mustFixed(t, o2, ClassSensor, 300)
	got := ids(all(t, o2))
	if slices.Contains(got, fresh[1]) || !slices.Contains(got, old[2]) || !slices.Contains(got, fresh[0]) {
		t.Fatalf("second thinning pass: got %v", got)
	}
}

func TestCapNeverEvictsResident(t *testing.T) {
	path := dbPath(t)
	clock := newClock()
	o := open(t, path, Opts{Now: clock.Now, MaxBytes: 10 * fixedSize()})
	for i := range 4 {
		mustFixed(t, o, ClassSensor, i)
	}
	for i := range 3 {
		mustFixed(t, o, ClassEvent, 10+i)
	}
	var resident []string
	for i := range 3 {
		resident = append(resident, mustFixed(t, o, ClassResident, 20+i).ID)
	}
	// Full. A sensor reading displaces a sensor reading, never an event.
	mustFixed(t, o, ClassSensor, 30)
	if s := stats(t, o); s.Sensor.Evicted != 1 || s.Event.Count != 3 {
		t.Fatalf("after sensor at cap: %+v / %+v", s.Sensor, s.Event)
	}
	// Resident submissions displace all sensor readings, then events.
	for i := range 6 {
		resident = append(resident, mustFixed(t, o, ClassResident, 40+i).ID)
	}
	s := stats(t, o)
	if s.Sensor.Count != 0 || s.Sensor.Evicted != 5 || s.Event.Count != 1 || s.Event.Evicted != 2 || s.Resident.Count != 9 {
		t.Fatalf("after resident pressure: sensor %+v event %+v resident %+v", s.Sensor, s.Event, s.Resident)
	}
	// A sensor reading cannot displace the last event or a resident one.
	if _, err := submitFixed(t, o, ClassSensor, 50); !errors.Is(err, ErrFull) {
		t.Fatalf("sensor Submit when full of events/resident = %v, want ErrFull", err)
	}
	resident = append(resident, mustFixed(t, o, ClassResident, 60).ID)

	before := all(t, o)
	beforeStats := stats(t, o)
	_, err := submitFixed(t, o, ClassResident, 70)
	var ue *userr.Error
	if !errors.Is(err, ErrFull) || !errors.As(err, &ue) || userr.Message(err, "") != MsgCannotStore {
		t.Fatalf("resident Submit when full of resident = %v, want *userr.Error wrapping ErrFull", err)
	}
	if _, err := submitFixed(t, o, ClassEvent, 71); !errors.Is(err, ErrFull) {
		t.Fatalf("event Submit when full of resident = %v, want ErrFull", err)
	}
	after := all(t, o)
	if !slices.EqualFunc(before, after, func(a, b Record) bool { return a.ID == b.ID && bytes.Equal(a.Payload, b.Payload) }) {
		t.Fatalf("a failed Submit changed stored data")
	}
	if got := ids(after); !slices.Equal(got, resident) {
		t.Fatalf("stored %v, want all resident submissions %v", got, resident)
	}
	if s := stats(t, o); s != beforeStats {
		t.Fatalf("stats changed by failed Submit\n got %+v\nwant %+v", s, beforeStats)
	}
	// Acking makes room again.
	if err := o.Ack(context.Background(), resident[:1]); err != nil {
		t.Fatal(err)
	}
	mustFixed(t, o, ClassResident, 80)
}

func TestBatchWithFullRecordStoresTheOthers(t *testing.T) {
	o := open(t, dbPath(t), Opts{MaxBytes: 3 * fixedSize()})
	// Block the committer so all four land in one transaction.
	o.writeMu.Lock()
	type res struct {
		r   Record
		err error
	}
	results := make(chan res, 4)
	sub := func(i int) {
		r, err := submitFixed(t, o, ClassResident, i)
		results <- res{r, err}
	}
	go sub(0)
	testutil.Eventually(t, "the committer holding record 0", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.queue) == 0 && o.ids.last != (ulid.ULID{})
	})
	for i := 1; i < 4; i++ {
		go sub(i)
	}
	testutil.Eventually(t, "records 1..3 waiting for the next transaction", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.queue) == 3
	})
	o.writeMu.Unlock()
	var ok, full int
	for range 4 {
		r := <-results
		switch {
		case r.err == nil:
			ok++
		case errors.Is(r.err, ErrFull):
			full++
		default:
			t.Errorf("Submit: %v", r.err)
		}
	}
	if ok != 3 || full != 1 || len(all(t, o)) != 3 {
		t.Fatalf("ok %d full %d stored %d; want 3 1 3", ok, full, len(all(t, o)))
	}
}

func TestDiskFullIsUserError(t *testing.T) {
	path := dbPath(t)
	o := open(t, path, Opts{maxFileSize: 256 << 10})
	ctx := context.Background()
	var stored []Record
	var err error
	for i := 0; i < 1000; i++ {
		var r Record
		r, err = o.Submit(ctx, "big", ClassResident, payload(i, 8000))
		if err != nil {
			break
		}
		stored = append(stored, r)
	}
	if err == nil {
		t.Fatal("never hit the file size limit")
	}
	if userr.Message(err, "") != MsgCannotStore {
		t.Fatalf("Submit on full disk = %v, want user error %q", err, MsgCannotStore)
	}
	t.Logf("stored %d records before: %v", len(stored), err)
	got := all(t, o)
	if len(got) != len(stored) {
		t.Fatalf("%d records stored, want %d", len(got), len(stored))
	}
	// Acking frees pages; submissions work again.
	if err := o.Ack(ctx, ids(stored[:len(stored)/2])); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Submit(ctx, "big", ClassResident, payload(9999, 8000)); err != nil {
		t.Fatalf("Submit after freeing space: %v", err)
	}
	if s := stats(t, o); int(s.Resident.Count) != len(stored)-len(stored)/2+1 {
		t.Fatalf("stats count %d", s.Resident.Count)
	}
}

func TestCorruptFileQuarantined(t *testing.T) {
	path := dbPath(t)
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	o := open(t, path, Opts{})
	s := stats(t, o)
	if s.Quarantined == "" {
		t.Fatal("corrupt file not reported as quarantined")
	}
	if b, err := os.ReadFile(s.Quarantined); err != nil || !bytes.HasPrefix(b, []byte("not a database")) {
		t.Fatalf("quarantined file: %v", err)
	}
	submit(t, o, ClassResident, 1)
}

// A file cut short (a failing disk, an interrupted copy) used to kill
// the process with a bus error once a page beyond its end was touched;
// it is now set aside like any unreadable file, whole, and the outbox
// starts empty.
func TestTruncatedFileQuarantined(t *testing.T) {
	path := dbPath(t)
	o := open(t, path, Opts{})
	for i := range 1000 {
		submit(t, o, ClassResident, i)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int64{fi.Size() / 2, 3 * 4096} {
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		o := open(t, path, Opts{})
		s := stats(t, o)
		if s.Quarantined == "" {
			t.Fatalf("size %d: truncated file not quarantined", size)
		}
		if q, err := os.Stat(s.Quarantined); err != nil || q.Size() != size {
			t.Fatalf("size %d: quarantined file %v %v", size, q, err)
		}
		submit(t, o, ClassResident, 1)
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		// The next round truncates a complete file again.
		o = open(t, path, Opts{})
		for i := range 1000 {
			submit(t, o, ClassResident, i)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckOnOpenCleanFile(t *testing.T) {
	path := dbPath(t)
	o := open(t, path, Opts{})
	r := submit(t, o, ClassResident, 1)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	o2 := open(t, path, Opts{CheckOnOpen: true})
	if got := ids(all(t, o2)); !slices.Equal(got, []string{r.ID}) || stats(t, o2).Quarantined != "" {
		t.Fatalf("after checked open: %v", got)
	}
}

func TestBackupWriteTo(t *testing.T) {
	o := open(t, dbPath(t), Opts{})
	for i := range 50 {
		submit(t, o, Classes[i%3], i)
	}
	backup := dbPath(t)
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b := open(t, backup, Opts{})
	if got, want := ids(all(t, b)), ids(all(t, o)); !slices.Equal(got, want) {
		t.Fatalf("backup holds %d records, want %d", len(got), len(want))
	}
	if stats(t, b).Sensor.Count != stats(t, o).Sensor.Count {
		t.Fatal("backup counters differ")
	}
}

func TestNotify(t *testing.T) {
	o := open(t, dbPath(t), Opts{})
	select {
	case <-o.Notify():
		t.Fatal("notified before any submit")
	default:
	}
	submit(t, o, ClassEvent, 1)
	select {
	case <-o.Notify():
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after submit")
	}
}

func TestClose(t *testing.T) {
	o := open(t, dbPath(t), Opts{})
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	_, err := o.Submit(context.Background(), "x", ClassResident, []byte(`{}`))
	if !errors.Is(err, ErrClosed) || userr.Message(err, "") != MsgCannotStore {
		t.Fatalf("Submit after Close = %v", err)
	}
	if _, err := o.Submit(context.Background(), "x", ClassSensor, []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close = %v", err)
	}
}

func TestPeekAfterContinuesInPriorityOrder(t *testing.T) {
	o := open(t, filepath.Join(t.TempDir(), "o.db"), Opts{})
	ctx := context.Background()
	var want []string
	for _, c := range []Class{ClassSensor, ClassResident, ClassEvent, ClassResident, ClassSensor} {
		if _, err := o.Submit(ctx, "t", c, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := o.Peek(ctx, 100, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		want = append(want, r.ID)
	}
	var got []string
	var cursor Record
	for {
		batch, err := o.PeekAfter(ctx, cursor, 2, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, r := range batch {
			got = append(got, r.ID)
		}
		cursor = batch[len(batch)-1]
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("PeekAfter walk %v, want %v", got, want)
	}
	if _, err := o.PeekAfter(ctx, Record{ID: "nonsense", Class: ClassEvent}, 1, 1); err == nil {
		t.Fatal("bad cursor accepted")
	}
}
