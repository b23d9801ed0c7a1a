package handoff_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

func TestReadStatus(t *testing.T) {
	dir := t.TempDir()
	if _, err := handoff.ReadStatus(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v, want ErrNotExist", err)
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, handoff.StatusFile), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"state":"waiting","running":"1.0.0","target":"1.1.0","progress":1,"updated":"2026-12-07T03:00:00Z"}`)
	st, err := handoff.ReadStatus(dir)
	if err != nil || st.State != handoff.StateWaiting || st.Target != "1.1.0" {
		t.Fatalf("%+v %v", st, err)
	}
	for _, bad := range []string{`{"state":"sleeping"}`, `{"state":"idle","last":"maybe"}`, `{"state":`,
		`{"state":"idle","last_error":"` + strings.Repeat("x", handoff.MaxStatusSize) + `"}`} {
		write(bad)
		if _, err := handoff.ReadStatus(dir); err == nil {
			t.Fatalf("accepted %.60s", bad)
		}
	}
}

// Every engine state and outcome maps onto a state the hub accepts.
func TestStatusAPI(t *testing.T) {
	long := strings.Repeat("ä", api.MaxUpdaterError)
	var bad []string
	for i := range 20 {
		bad = append(bad, "1.0."+string(rune('a'+i)))
	}
	for _, c := range []struct {
		st   handoff.Status
		want string
	}{
		{handoff.Status{State: handoff.StateIdle}, api.UpdaterIdle},
		{handoff.Status{State: handoff.StateDownloading, TotalBytes: 100, DoneBytes: 40}, api.UpdaterDownloading},
		{handoff.Status{State: handoff.StateStaging}, api.UpdaterDownloading},
		{handoff.Status{State: handoff.StateWaiting}, api.UpdaterWaitingForWindow},
		{handoff.Status{State: handoff.StateTrying}, api.UpdaterInstalling},
		{handoff.Status{State: handoff.StateTrying, Gate: true}, api.UpdaterTrial},
		{handoff.Status{State: handoff.StateCommitted}, api.UpdaterDone},
		{handoff.Status{State: handoff.StateRollingBack, Bad: []string{"1.1.0"}}, api.UpdaterRolledBack},
		{handoff.Status{State: handoff.StateIdle, Last: handoff.LastCommitted}, api.UpdaterDone},
		{handoff.Status{State: handoff.StateIdle, Last: handoff.LastRolledBack, Bad: append(bad, "1.1.0"), LastError: long}, api.UpdaterRolledBack},
		// An interrupted trial undone, to be tried again: not a failure
		// the rollout should count (a halt on a power cut would be wrong).
		{handoff.Status{State: handoff.StateRollingBack, Bad: bad}, api.UpdaterInstalling},
		{handoff.Status{State: handoff.StateIdle, Last: handoff.LastRolledBack, LastError: "trial interrupted"}, api.UpdaterPending},
		{handoff.Status{State: handoff.StateIdle, Last: handoff.LastFailed}, api.UpdaterFailed},
	} {
		c.st.Running, c.st.Target = "1.0.0", "1.1.0"
		got := c.st.API()
		if got.State != c.want {
			t.Errorf("%+v → %s, want %s", c.st, got.State, c.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("%+v → %+v invalid: %v", c.st, got, err)
		}
		if got.Version != "1.0.0" {
			t.Errorf("version %q", got.Version)
		}
		if c.want == api.UpdaterIdle && got.Target != "" {
			t.Errorf("idle with a target %q", got.Target)
		}
	}
	got := handoff.Status{State: handoff.StateDownloading, TotalBytes: 100, DoneBytes: 40}.API()
	if got.ProgressBytes != 40 || got.TotalBytes != 100 {
		t.Errorf("progress %+v", got)
	}
	got = handoff.Status{State: handoff.StateIdle, Last: handoff.LastRolledBack, Bad: bad}.API()
	if !slices.Equal(got.BadVersions, bad[len(bad)-api.MaxUpdaterBadLength:]) {
		t.Errorf("bad versions %v, want the newest %d", got.BadVersions, api.MaxUpdaterBadLength)
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(`{"state":"idle","running":"1.0.0","progress":0,"updated":"2026-12-07T03:00:00Z"}`))
	f.Add([]byte(`{"state":"trying","running":"1.1.0","target":"1.1.0","gate":true,"bad":["1.0.1"],"last":"rolled-back","updated":"2026-12-07T03:00:00Z"}`))
	f.Add([]byte(`{"state":"downloading","total_bytes":-5,"done_bytes":9}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := handoff.ParseStatus(data)
		if err != nil {
			return
		}
		// Whatever the file holds, the heartbeat field is one the hub accepts.
		if err := st.API().Validate(); err != nil {
			t.Fatalf("%+v → invalid heartbeat field: %v", st, err)
		}
	})
}
