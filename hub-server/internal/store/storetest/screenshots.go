package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// A terminal's screenshot is stored only for its own open screenshot
// command, once per command, byte for byte, and storage is bounded per
// terminal and in total.
func testScreenshotsBounded(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := enrol(t, s, "a", 1), enrol(t, s, "b", 2)
	var cmds []store.Command
	for _, id := range []string{"A1", "A2", "A3", "A4", "A5", "A6"} {
		cmds = append(cmds, cmd(id, a.ID, api.CommandScreenshot, t0, time.Hour))
	}
	cmds = append(cmds, cmd("B1", b.ID, api.CommandScreenshot, t0, time.Hour), cmd("B2", b.ID, api.CommandScreenshot, t0, time.Hour),
		cmd("AD", a.ID, api.CommandCollectDiagnostics, t0, time.Hour), cmd("AX", a.ID, api.CommandScreenshot, t0, time.Minute))
	if err := s.CreateCommands(ctx, cmds, who("command.send", "terminal:a", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FinishCommand(ctx, a.ID, "A6", false, api.ReasonText(api.ReasonResidentSession), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	// Every byte value, so a store that kept text would show it.
	shot := func(id, terminal, command string, at time.Duration, size int) store.Screenshot {
		png := make([]byte, size)
		for i := range png {
			png[i] = byte(i)
		}
		return store.Screenshot{ScreenshotInfo: store.ScreenshotInfo{ID: id, TerminalID: terminal, CommandID: command,
			ReceivedAt: t0.Add(at), Width: 1920, Height: 1080}, PNG: png}
	}
	all := store.ScreenshotKeep{PerTerminal: 1000, TotalBytes: 1 << 40}
	for _, tc := range []struct {
		name string
		p    store.Screenshot
		want error
	}{
		{"no command", shot("X1", a.ID, "", time.Minute, 100), store.ErrNotFound},
		{"unknown command", shot("X2", a.ID, "NOPE", time.Minute, 100), store.ErrNotFound},
		{"another terminal's command", shot("X3", a.ID, "B1", time.Minute, 100), store.ErrNotFound},
		{"another kind of command", shot("X4", a.ID, "AD", time.Minute, 100), store.ErrNotFound},
		{"expired command", shot("X5", a.ID, "AX", 2*time.Minute, 100), store.ErrCommandClosed},
		{"finished command", shot("X6", a.ID, "A6", time.Minute, 100), store.ErrCommandClosed},
	} {
		if _, err := s.SaveScreenshot(ctx, tc.p, all); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if l, _ := s.Screenshots(ctx, a.ID, 0); len(l) != 0 {
		t.Fatalf("refused screenshots stored: %+v", l)
	}
	save := func(p store.Screenshot, keep store.ScreenshotKeep) {
		t.Helper()
		got, err := s.SaveScreenshot(ctx, p, keep)
		if err != nil || got.ID != p.ID || got.Size != int64(len(p.PNG)) {
			t.Fatalf("SaveScreenshot(%s) = %s (%d bytes), %v", p.ID, got.ID, got.Size, err)
		}
	}
	// The first picture for a command wins; a repeat gets it back.
	first := shot("S1", a.ID, "A1", time.Minute, 300)
	save(first, all)
	again, err := s.SaveScreenshot(ctx, shot("S1b", a.ID, "A1", 2*time.Minute, 50), all)
	if err != nil || again.ID != "S1" || !bytes.Equal(again.PNG, first.PNG) || !again.ReceivedAt.Equal(first.ReceivedAt) {
		t.Errorf("second picture for A1 = %s, %v; want S1 back", again.ID, err)
	}
	got, err := s.Screenshot(ctx, "S1")
	if err != nil || !bytes.Equal(got.PNG, first.PNG) || got.Width != 1920 || got.Height != 1080 || got.Size != 300 ||
		got.TerminalID != a.ID || got.CommandID != "A1" || !got.ReceivedAt.Equal(first.ReceivedAt) {
		t.Fatalf("Screenshot(S1) = %+v (%d bytes), %v", got.ScreenshotInfo, len(got.PNG), err)
	}
	if _, err := s.Screenshot(ctx, "S1b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the repeat was stored: %v", err)
	}
	// Per terminal: the newest three stay.
	keep := store.ScreenshotKeep{PerTerminal: 3, TotalBytes: 1 << 40}
	for i, c := range []string{"A2", "A3", "A4"} {
		save(shot(fmt.Sprint("S", i+2), a.ID, c, time.Duration(i+2)*time.Minute, 100), keep)
	}
	ids := func(terminal string) string {
		l, err := s.Screenshots(ctx, terminal, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range l {
			out = append(out, p.ID)
		}
		return fmt.Sprint(out)
	}
	if got := ids(a.ID); got != "[S4 S3 S2]" {
		t.Errorf("a's screenshots = %s, want the newest three", got)
	}
	if l, err := s.Screenshots(ctx, a.ID, 1); err != nil || len(l) != 1 || l[0].ID != "S4" || l[0].Size != 100 || l[0].Width != 1920 {
		t.Errorf("the newest = %+v, %v", l, err)
	}
	if _, err := s.Screenshot(ctx, "S1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pruned screenshot S1: %v", err)
	}
	// In total: the oldest pictures of any terminal go first; the new one
	// stays even when it alone is over the limit.
	save(shot("T1", b.ID, "B1", 5*time.Minute, 100), keep)
	save(shot("S5", a.ID, "A5", 6*time.Minute, 250), store.ScreenshotKeep{PerTerminal: 3, TotalBytes: 400})
	if got := ids(a.ID) + ids(b.ID); got != "[S5][T1]" {
		t.Errorf("after the total limit: %s, want [S5][T1]", got)
	}
	save(shot("T2", b.ID, "B2", 7*time.Minute, 500), store.ScreenshotKeep{PerTerminal: 3, TotalBytes: 400})
	if got := ids(a.ID) + ids(b.ID); got != "[][T2]" {
		t.Errorf("after a picture over the total limit: %s, want [][T2]", got)
	}
}
