package fleetsim_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite" // reads the hub's file

	"github.com/quartierhub/quartierhub/tests/fleetsim"
	"github.com/quartierhub/quartierhub/tests/internal/harness"
)

// TestFleet runs 50 simulated terminals on fast schedules against the real
// hub binary: every request must succeed, every terminal must have
// heartbeated, uploaded, fetched and polled its configuration, one
// terminal must have carried out a command, the hub must hold exactly
// the records it acknowledged and list all 50 terminals as online.
func TestFleet(t *testing.T) { runFleet(t, 50, fleetsim.KeepAlive) }

// TestFleetPerRequest is TestFleet with a new connection per request.
func TestFleetPerRequest(t *testing.T) { runFleet(t, 20, fleetsim.PerRequest) }

func runFleet(t *testing.T, n int, mode fleetsim.ConnMode) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bins, err := harness.Build(ctx, filepath.Join(dir, "bin"))
	if err != nil {
		t.Fatal(err)
	}
	hub, err := harness.NewHub(bins, filepath.Join(dir, "hub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.StartFresh(ctx); err != nil {
		t.Fatal(err)
	}
	defer hub.Stop()
	if err := fleetsim.SetConfig(ctx, hub, fleetsim.DemoConfig); err != nil {
		t.Fatal(err)
	}
	ids, err := fleetsim.EnrollFleet(ctx, hub, "sim", "Johannstadt", n, 8)
	if err != nil {
		t.Fatal(err)
	}
	f, err := fleetsim.New(fleetsim.Opts{HubURL: hub.URL(), Heartbeat: time.Second, Upload: 2 * time.Second,
		ConfigPoll: 1500 * time.Millisecond, ConnMode: mode}, ids)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { f.Run(runCtx); close(done) }()
	defer func() { stop(); <-done }()

	if err := fleetsim.SendCommand(ctx, hub, ids[7].Name, "sync_now"); err != nil {
		t.Fatal(err)
	}
	err = harness.WaitFor(ctx, "every terminal to heartbeat, upload and poll twice, and the command to be done", func() (bool, error) {
		for _, k := range []string{fleetsim.KindHeartbeat, fleetsim.KindUpload, fleetsim.KindConfig} {
			if f.MinCount(k) < 2 {
				return false, nil
			}
		}
		return f.Stats().Kind(fleetsim.KindResult).OK >= 1, nil
	})
	stop()
	<-done
	st := f.Stats()
	for _, k := range st.Kinds {
		t.Log(k)
	}
	if err != nil {
		t.Fatal(err)
	}
	if st.All.Failed > 0 {
		t.Fatalf("%d requests failed: %v", st.All.Failed, st.Errors)
	}
	// 503 is the hub's documented back-pressure on uploads (more bytes in
	// progress than MaxIngestBytes, which this test does not reach);
	// the terminal keeps the records and retries after Retry-After, and
	// the record count below shows nothing was lost. Anything else must
	// never be shed.
	if o := st.All.Overloaded - st.Kind(fleetsim.KindUpload).Overloaded; o > 0 {
		t.Fatalf("%d requests other than uploads answered 503", o)
	}
	for _, k := range []string{fleetsim.KindCommands, fleetsim.KindAck, fleetsim.KindResult} {
		if got := st.Kind(k).OK; got != 1 {
			t.Errorf("%s: %d requests, want 1 (one command for one terminal)", k, got)
		}
	}
	switch d := f.Dials(); {
	case mode == fleetsim.KeepAlive && d != int64(n):
		t.Errorf("%d connections dialled, want %d (one keep-alive connection per terminal)", d, n)
	case mode == fleetsim.PerRequest && d < st.All.Requests():
		t.Errorf("%d connections dialled for %d requests, want one each", d, st.All.Requests())
	}
	if hb := st.Kind(fleetsim.KindHeartbeat).Requests(); st.Actions < hb {
		t.Errorf("%d scheduled actions counted, fewer than the %d heartbeats", st.Actions, hb)
	}
	online, err := fleetsim.Online(ctx, hub)
	if err != nil {
		t.Fatal(err)
	}
	if online != n {
		t.Errorf("hub lists %d terminals online, want %d", online, n)
	}
	recs, err := hub.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The hub holds every acknowledged record, and at most those of the
	// uploads the stop cut off before their answer.
	if held, acked, open := int64(len(recs)), f.Acknowledged(), f.Unanswered(); held < acked || held > acked+open {
		t.Errorf("hub holds %d records, the fleet had %d acknowledged and %d in uploads cut off by the stop", held, acked, open)
	}
	// Every sensor minute became one observation: the first record of a
	// terminal's sensor, quantity and minute (later ones repeat it).
	minutes := map[string]bool{}
	for _, r := range recs {
		if r.Type != "sensor_minute" {
			continue
		}
		var m struct{ Sensor, Quantity, Minute string }
		if err := json.Unmarshal(r.Payload, &m); err != nil {
			t.Fatalf("sensor_minute payload %s: %v", r.Payload, err)
		}
		minutes[r.Terminal+"/"+m.Sensor+"/"+m.Quantity+"/"+m.Minute] = true
	}
	if obs := observations(ctx, t, filepath.Join(hub.Dir, "hub.db")); len(minutes) == 0 || obs != len(minutes) {
		t.Errorf("hub holds %d observations, the fleet sent %d distinct minutes", obs, len(minutes))
	}
}

// observations counts the hub's stored observations (read-only; the hub
// may still run).
func observations(ctx context.Context, t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(ON)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM observations`).Scan(&n); err != nil {
		t.Fatalf("count observations: %v", err)
	}
	return n
}
