package sqlitestore

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The open data statements are kept prepared by text, at most
// openDataStmtsMax of them, answer right after being pushed out, and a
// query running on a statement while it is pushed out finishes.
func TestOpenDataStmtCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "hub.db"), Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	query := func(i int) int64 {
		var got int64
		err := s.QueryOpenData(ctx, time.Second, fmt.Sprintf("SELECT ? + %d", i), []any{int64(1000)}, func(scan func(dest ...any) error) error {
			return scan(&got)
		})
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		return got
	}
	for round := 0; round < 2; round++ {
		for i := 0; i < openDataStmtsMax+20; i++ {
			if got := query(i); got != int64(1000+i) {
				t.Fatalf("query %d: %d", i, got)
			}
		}
	}
	if n := s.openDataStmts.len(); n != openDataStmtsMax {
		t.Errorf("%d statements kept, want %d", n, openDataStmtsMax)
	}
	// The same text again is one entry, used by many at once.
	before := s.openDataStmts.len()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				var got int64
				err := s.QueryOpenData(ctx, time.Second, "SELECT ? * 2", []any{int64(i)}, func(scan func(dest ...any) error) error { return scan(&got) })
				if err != nil || got != int64(2*i) {
					t.Errorf("concurrent query: %d %v", got, err)
					return
				}
			}
		}()
	}
	// A statement in use while the cache pushes it out still answers.
	err = s.QueryOpenData(ctx, time.Second, "SELECT 7 UNION ALL SELECT 8", nil, func(scan func(dest ...any) error) error {
		for i := 0; i < openDataStmtsMax+1; i++ {
			query(10000 + i)
		}
		var v int64
		return scan(&v)
	})
	if err != nil {
		t.Errorf("a query whose statement was pushed out meanwhile: %v", err)
	}
	wg.Wait()
	if before != openDataStmtsMax || s.openDataStmts.len() != openDataStmtsMax {
		t.Errorf("kept %d then %d statements", before, s.openDataStmts.len())
	}
	// Bad SQL is an error, and kept nowhere.
	if err := s.QueryOpenData(ctx, time.Second, "SELEC 1", nil, func(func(...any) error) error { return nil }); err == nil {
		t.Error("bad SQL: no error")
	}
	if err := s.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if n := s.openDataStmts.len(); n != 0 {
		t.Errorf("%d statements kept after Close", n)
	}
}
