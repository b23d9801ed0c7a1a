package outbox

import (
	"bytes"
	"os"
	"testing"
)

func TestCheckOnOpenSalvagesDamagedFile(t *testing.T) {
	path := dbPath(t)
	clock := newClock()
	o := open(t, path, Opts{Now: clock.Now})
	const n = 500
	for i := range n {
		if _, err := o.Submit(t.Context(), "big", Classes[i%3], payload(i, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	// Overwrite the leaf page that holds record 250. The meta pages stay
	// valid, so bbolt opens the file without complaint; the check finds
	// the damage. Aiming at a record's page (rather than at a fixed
	// offset, which the freelist's allocation order makes vary) keeps the
	// damage inside one bucket's leaves, so some records are always lost
	// and the other buckets always survive.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, []byte(`{"i":250,`))
	if at < 0 {
		t.Fatal("record 250 not found in the file")
	}
	page := int64(os.Getpagesize())
	garbage := make([]byte, page)
	for i := range garbage {
		garbage[i] = byte(i*7 + 3)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(garbage, int64(at)/page*page); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	o2 := open(t, path, Opts{Now: clock.Now, CheckOnOpen: true})
	s := stats(t, o2)
	if s.Quarantined == "" {
		t.Fatal("damage not detected")
	}
	got := all(t, o2)
	var perClass [numClasses]int64
	for _, r := range got {
		perClass[r.Class.idx()]++
	}
	for _, c := range Classes {
		if s.Class(c).Count != perClass[c.idx()] {
			t.Errorf("%s: stats count %d, stored %d", c, s.Class(c).Count, perClass[c.idx()])
		}
	}
	if len(got) == 0 || len(got) >= n {
		t.Fatalf("salvaged %d of %d records; want some but not all", len(got), n)
	}
	t.Logf("salvaged %d of %d records", len(got), n)
	submit(t, o2, ClassResident, n) // the fresh file works
}
