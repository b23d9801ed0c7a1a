package agent_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/testutil"
	ws "github.com/quartierhub/quartierhub/internal/workshop"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// lockedBuffer is a log destination the test reads while agents write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Two terminals that each generated their own card key take the hub's
// deployment key from a heartbeat answer, so one card checked in to a
// workshop on both is ONE voter there (the over-spending merge rule
// needs it); a third terminal whose kiosk.json sets card_hash_key keeps
// it and says once that the hub's is ignored. No key reaches a log.
func TestDeploymentCardKeyOneVoter(t *testing.T) {
	h := fakehub.Start(t, fakehub.Opts{})
	hubKey := bytes.Repeat([]byte{0xc3, 0x5a}, api.CardKeyLen/2)
	h.SetCardKey(hubKey)
	spec := ws.Spec{Title: "Spielplatz", Question: "Was fehlt?", Lang: "de", Method: ws.MethodSimple,
		Phases: []ws.PhaseSpec{{Kind: ws.PhaseIdeas, Title: "Ideen"}, {Kind: ws.PhaseVote, Title: "Punkte"}},
		Dots:   2, VoteOn: ws.OnIdeas, Terminals: []string{"T1", "T2", "T3"}}
	sb, _ := json.Marshal(spec)
	h.AddWorkshop(api.WorkshopInfo{ID: "w1", Title: "Spielplatz", Spec: sb}, "T1", "T2", "T3")
	hubEvent(t, h, "w1", ws.TypePhase, ws.Phase{Index: 0, Deadline: time.Now().UnixMilli()})

	type terminal struct {
		c    *localapi.Client
		dir  string
		logs *lockedBuffer
		key  []byte // the key it started with
	}
	start := func(id string, cfg config.Config) terminal {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := identity.Save(dir, identity.Identity{TerminalID: id, Name: id, Quarter: "Johannstadt", HubURL: h.URL(), Key: h.NewTerminal(id)}); err != nil {
			t.Fatal(err)
		}
		// What the agent does on its first start: its own random key.
		key, err := session.LoadCardKey(dir, cfg.CardHashKey)
		if err != nil {
			t.Fatal(err)
		}
		logs := &lockedBuffer{}
		c := runAgent(t, dir, agent.Opts{Config: cfg, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Fleet:    agent.FleetOpts{HeartbeatInterval: 20 * time.Millisecond},
			Workshop: agent.WorkshopOpts{ListInterval: 100 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
		return terminal{c: c, dir: dir, logs: logs, key: key}
	}
	t1, t2 := start("T1", config.Config{}), start("T2", config.Config{})
	t3 := start("T3", config.Config{CardHashKey: testCardKey})
	if bytes.Equal(t1.key, t2.key) {
		t.Fatal("two terminals generated the same card key")
	}
	for _, tm := range []terminal{t1, t2} {
		// Logged after the key is in use.
		testutil.Eventually(t, "the hub's card key taken", func() bool { return strings.Contains(tm.logs.String(), "card key replaced") })
		if b, err := os.ReadFile(filepath.Join(tm.dir, session.CardKeyFile)); err != nil || strings.TrimSpace(string(b)) != hex.EncodeToString(hubKey) {
			t.Fatalf("DATA/card_hash_key after the heartbeat: %q, %v", b, err)
		}
	}
	// Several heartbeats later T3 still said it once.
	n0 := len(h.Heartbeats())
	testutil.Eventually(t, "more heartbeats", func() bool { return len(h.Heartbeats()) >= n0+6 })
	if n := strings.Count(t3.logs.String(), "card key is ignored"); n != 1 {
		t.Fatalf("T3 said %d times that the hub's key is ignored:\n%s", n, t3.logs.String())
	}
	if _, err := os.Stat(filepath.Join(t3.dir, session.CardKeyFile)); !os.IsNotExist(err) {
		t.Fatalf("T3 wrote a card key file: %v", err)
	}

	ctx := context.Background()
	const uid = "01004CA53B"
	checkin := func(tm terminal) string {
		testutil.Eventually(t, "the workshop shown", func() bool {
			v, err := tm.c.Workshop(ctx, "")
			return err == nil && v.Active && v.Phase != nil
		})
		ci, err := tm.c.WorkshopCheckin(ctx, localapi.WorkshopCheckinRequest{CardUID: uid})
		if err != nil {
			t.Fatal(err)
		}
		return ci.Voter
	}
	want := ws.CardVoter(hubKey, "w1", session.HashCard(hubKey, uid))
	if v1, v2 := checkin(t1), checkin(t2); v1 != want || v2 != want {
		t.Fatalf("one card, voters %q on T1 and %q on T2; want %q on both", v1, v2, want)
	}
	cfgKey, _ := hex.DecodeString(testCardKey)
	if v3 := checkin(t3); v3 != ws.CardVoter(cfgKey, "w1", session.HashCard(cfgKey, uid)) {
		t.Fatalf("T3 (card_hash_key set) checked the card in as %q: not with its own key", v3)
	}

	for _, tm := range []terminal{t1, t2, t3} {
		l := strings.ToLower(tm.logs.String())
		for _, k := range [][]byte{hubKey, t1.key, t2.key, cfgKey} {
			if strings.Contains(l, hex.EncodeToString(k)) {
				t.Fatalf("a card key is in a terminal's log")
			}
		}
		if strings.Contains(strings.ToUpper(l), uid) {
			t.Fatal("the card UID is in a terminal's log")
		}
	}
}
