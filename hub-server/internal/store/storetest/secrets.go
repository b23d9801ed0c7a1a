package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Registered here so this file stands alone (package variables are set
// before init runs).
func init() {
	fleetTests = append(fleetTests, struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{"SecretMadeOnce", testSecretMadeOnce})
}

// The first secret stored under a name is the one every caller gets,
// also of callers racing to store their own (hub processes starting at
// once): the store's connections run the inserts concurrently.
func testSecretMadeOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	const racers = 8
	got := make([][]byte, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = s.Secret(ctx, store.SecretCardKey, bytes.Repeat([]byte{byte(i + 1)}, 32))
		}()
	}
	wg.Wait()
	for i := range racers {
		if errs[i] != nil {
			t.Fatalf("racer %d: %v", i, errs[i])
		}
		if len(got[i]) != 32 || got[i][0] == 0 || !bytes.Equal(got[i], bytes.Repeat(got[i][:1], 32)) {
			t.Fatalf("racer %d got %x: not one of the values offered", i, got[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("racers disagree: %x and %x", got[0], got[i])
		}
	}
	again, err := s.Secret(ctx, store.SecretCardKey, []byte("another value"))
	if err != nil || !bytes.Equal(again, got[0]) {
		t.Fatalf("later call: %x, %v; want the first %x", again, err, got[0])
	}
	other, err := s.Secret(ctx, "other", []byte{0, 1, 2})
	if err != nil || !bytes.Equal(other, []byte{0, 1, 2}) {
		t.Fatalf("another name: %x, %v", other, err)
	}
	for name, v := range map[string][]byte{"": {1}, "empty": nil} {
		if _, err := s.Secret(ctx, name, v); err == nil {
			t.Errorf("Secret(%q, %x) succeeded", name, v)
		}
	}
	if v, err := s.Secret(ctx, "empty", []byte{9}); err != nil || !bytes.Equal(v, []byte{9}) {
		t.Fatalf("after a refused call: %x, %v; it must have stored nothing", v, err)
	}
}
