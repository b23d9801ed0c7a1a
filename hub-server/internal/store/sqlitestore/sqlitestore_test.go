package sqlitestore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/storetest"
)

func open(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "hub.db"))
	})
}

// Two stores on one file stand for the hub and a CLI process: WAL and the
// busy timeout let the second write while the first writes too.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	a, b := open(t, path), open(t, path)
	ctx := context.Background()
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		for j, s := range []*sqlitestore.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok := store.EnrolToken{Hash: sha256.Sum256([]byte{byte(i), byte(j)}), TerminalName: "t", Quarter: "q", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
				errs <- s.CreateEnrolToken(ctx, tok)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	s := open(t, path)
	t0 := time.Now()
	if err := s.CreateEnrolToken(context.Background(), store.EnrolToken{Hash: sha256.Sum256([]byte("x")), TerminalName: "t", Quarter: "q", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, path) // migrations already applied: must be a no-op
	if _, err := s2.Enroll(context.Background(), store.Enrolment{TokenHash: sha256.Sum256([]byte("x")), TerminalID: "T", PublicKey: make([]byte, 32), Now: t0}); err != nil {
		t.Fatalf("enrol with a token stored before reopening: %v", err)
	}
}

func BenchmarkIngest(b *testing.B) {
	storetest.BenchmarkIngest(b, func(b *testing.B) store.Store {
		s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "hub.db"), sqlitestore.Opts{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenDataClock(t *testing.T) {
	storetest.RunOpenDataClock(t, func(t *testing.T, now func() time.Time) store.Store {
		s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), sqlitestore.Opts{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestObservationFailureKeepsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	var logs bytes.Buffer
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Opts{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	exec := func(q string) {
		if _, err := other.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	storetest.RunObservationFailure(t, s,
		func() {
			exec(`CREATE TRIGGER boom BEFORE INSERT ON observations BEGIN SELECT RAISE(ABORT, 'boom'); END`)
		},
		func() { exec(`DROP TRIGGER boom`) })
	if !strings.Contains(logs.String(), "stored as records only") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}
