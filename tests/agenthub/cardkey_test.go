package agenthub

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

var workshopCreatedLine = regexp.MustCompile(`workshop (\S+) created`)

// syncedBuffer is an agent's log, read by the test while the agent writes.
type syncedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Two terminals enrolled at the real hub, each with the card key it
// generated, take the hub's deployment key from a heartbeat answer; the
// next heartbeat names it (as the hub stored it). One card checked in to
// a workshop (hub-server workshop create, phase) on both is then ONE
// voter, and its dots given on both while the hub is away count once:
// the first in the hub's order, the rest over the limit (the issue's
// over-spending merge rule, which two keys would silently defeat). The key is in neither the hub's log nor the agents'.
func TestDeploymentCardKeyAtTheRealHub(t *testing.T) {
	e := newE2E(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tok, err := e.hub.Token(ctx, "jst-2", "Johannstadt")
	if err != nil {
		t.Fatal(err)
	}
	id2, err := hubsync.Enroll(ctx, e.hub.URL(), tok, hubsync.EnrollOpts{SoftwareVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	if err := identity.Save(dir2, id2); err != nil {
		t.Fatal(err)
	}
	own := map[string][]byte{}
	for _, dir := range []string{e.dir, dir2} {
		if own[dir], err = session.LoadCardKey(dir, ""); err != nil { // as on the agent's first start
			t.Fatal(err)
		}
	}
	if bytes.Equal(own[e.dir], own[dir2]) {
		t.Fatal("two terminals generated the same card key")
	}

	spec := fmt.Sprintf(`{"title": "Spielplatz", "question": "Was fehlt?", "lang": "de", "method": "simple", "dots": 2,
  "vote_on": "ideas", "terminals": [%q, %q]}`, e.termID, id2.TerminalID)
	specFile := filepath.Join(t.TempDir(), "workshop.json")
	if err := os.WriteFile(specFile, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	m := workshopCreatedLine.FindSubmatch(e.cli("workshop", "create", "--file", specFile))
	if m == nil {
		t.Fatal("workshop create named no workshop")
	}
	workshopID := string(m[1])
	e.cli("workshop", "phase", "--id", workshopID, "--to", "ideas")

	type terminal struct {
		name string
		dir  string
		r    *runningAgent
		logs *syncedBuffer
	}
	start := func(name, dir string, cfg config.Config) terminal {
		never := make(chan time.Time)
		logs := &syncedBuffer{}
		a := agent.New(agent.Opts{DataDir: dir, Version: "9.9.9", Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Sync:     hubsync.Opts{Interval: time.Hour, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond},
			Fleet:    agent.FleetOpts{After: func(time.Duration) <-chan time.Time { return never }},
			Workshop: agent.WorkshopOpts{ListInterval: 100 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
		actx, acancel := context.WithCancel(context.Background())
		r := &runningAgent{a: a, c: localapi.NewClient(dir), cancel: acancel, done: make(chan error, 1)}
		go func() { r.done <- a.Run(actx) }()
		select {
		case <-a.Ready():
		case err := <-r.done:
			t.Fatalf("agent stopped: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("agent not ready")
		}
		t.Cleanup(func() { r.stop(t) })
		return terminal{name: name, dir: dir, r: r, logs: logs}
	}
	terms := []terminal{start(terminalName, e.dir, e.cfg), start("jst-2", dir2, config.Config{})}

	var hubKey []byte
	for _, tm := range terms {
		// The heartbeat the hub keeps names the key the agent hashes with
		// once it took the hub's: the one now on disk, not its own.
		until(t, tm.r, tm.name+" names the deployment key", func() bool {
			onDisk, err := session.LoadCardKey(tm.dir, "")
			if err != nil || bytes.Equal(onDisk, own[tm.dir]) {
				return false
			}
			var shown struct{ Health json.RawMessage }
			if json.Unmarshal(e.cli("terminal", "show", "--terminal", tm.name), &shown) != nil {
				return false
			}
			var hb api.Heartbeat
			if json.Unmarshal(shown.Health, &hb) != nil || hb.CardKeyID != api.CardKeyID(onDisk) {
				return false
			}
			if hubKey == nil {
				hubKey = onDisk
			}
			return bytes.Equal(onDisk, hubKey)
		})
	}

	const uid = "01004CA53B"
	want := ws.CardVoter(hubKey, workshopID, session.HashCard(hubKey, uid))
	for _, tm := range terms {
		var v localapi.WorkshopView
		until(t, tm.r, tm.name+" shows the workshop", func() bool {
			v, err = tm.r.c.Workshop(ctx, "")
			return err == nil && v.Active && v.Phase != nil
		})
		ci, err := tm.r.c.WorkshopCheckin(ctx, localapi.WorkshopCheckinRequest{CardUID: uid})
		if err != nil {
			t.Fatalf("%s: check-in: %v", tm.name, err)
		}
		if ci.Voter != want {
			t.Fatalf("%s checked the card in as %q, want %q (the deployment key's voter)", tm.name, ci.Voter, want)
		}
	}

	// The card spends its two dots on each terminal: the hub counts two,
	// as for one voter (two voters would have four counted).
	var ideas []string
	for i, tm := range terms {
		idea, err := tm.r.c.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: want, Text: fmt.Sprintf("Idee %d", i+1)})
		if err != nil {
			t.Fatalf("%s: idea: %v", tm.name, err)
		}
		ideas = append(ideas, idea.ID)
	}
	e.cli("workshop", "phase", "--id", workshopID, "--to", "vote")
	for _, tm := range terms {
		until(t, tm.r, tm.name+" shows the vote on both ideas", func() bool {
			v, err := tm.r.c.Workshop(ctx, want)
			return err == nil && v.Phase != nil && v.Phase.Kind == "vote" && v.Round != nil && len(v.Ideas) == 2
		})
	}
	// Both offline: neither learns of the other's dots before the hub
	// orders them.
	if err := e.hub.Stop(); err != nil {
		t.Fatal(err)
	}
	placed := 0
	for _, tm := range terms {
		for _, item := range ideas {
			if _, err := tm.r.c.WorkshopDot(ctx, localapi.WorkshopDotRequest{Voter: want, Item: item}); err != nil {
				t.Fatalf("%s: offline dot: %v", tm.name, err)
			}
			placed++
		}
	}
	if err := e.hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tm := range terms {
		until(t, tm.r, tm.name+" delivers its outbox", func() bool {
			_, err := tm.r.c.SyncNow(ctx)
			return err == nil
		})
	}
	var exported struct {
		Voters int `json:"voters"`
		Rounds []struct {
			Statuses map[string]int `json:"dot_statuses"`
		} `json:"rounds"`
	}
	until(t, terms[0].r, "every placed dot at the hub", func() bool {
		if json.Unmarshal(e.cli("workshop", "export", "--id", workshopID, "--format", "json"), &exported) != nil || len(exported.Rounds) != 1 {
			return false
		}
		n := 0
		for _, c := range exported.Rounds[0].Statuses {
			n += c
		}
		return n == placed
	})
	if st := exported.Rounds[0].Statuses; exported.Voters != 1 || st["counted"] != 2 || st["over_limit"] != placed-2 {
		t.Fatalf("one card's dots from two offline terminals: %d voters, statuses %v of %d placed; want 1 voter, 2 counted, the rest over the limit",
			exported.Voters, st, placed)
	}
	t.Logf("one card's dots from two terminals: %d placed, at the hub %v", placed, exported.Rounds[0].Statuses)

	hubLog, err := os.ReadFile(e.hub.Log)
	if err != nil {
		t.Fatal(err)
	}
	logs := map[string]string{"hub": strings.ToLower(string(hubLog))}
	for _, tm := range terms {
		logs[tm.name] = strings.ToLower(tm.logs.String())
	}
	for who, l := range logs {
		for _, k := range [][]byte{hubKey, own[e.dir], own[dir2]} {
			if strings.Contains(l, hex.EncodeToString(k)) {
				t.Errorf("a card key is in the %s log", who)
			}
		}
	}
}
