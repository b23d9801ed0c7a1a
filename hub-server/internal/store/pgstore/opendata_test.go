package pgstore_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/storetest"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT 1`: `SELECT 1`,
		`SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?`: `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4`,
		`?`:                            `$1`,
		`SELECT ?,?,?,?,?,?,?,?,?,?,?`: `SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11`,
	} {
		if got := pgstore.Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

// Hub processes storing overlapping minutes of the same terminals at once
// (a terminal resending to another process, records with new IDs): every
// minute is stored once, its hour counts it once, and every datastream
// has its own ID.
func TestOpenDataConcurrentIngest(t *testing.T) {
	hs := hubs(t, 3)
	ctx := context.Background()
	var terms []string
	for i := range 2 {
		name := fmt.Sprintf("conc-%d", i)
		tok := sha256.Sum256([]byte(name))
		if err := hs[0].CreateEnrolToken(ctx, store.EnrolToken{Hash: tok, TerminalName: name, Quarter: "Johannstadt", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i + 1)
		if _, err := hs[0].Enroll(ctx, store.Enrolment{TokenHash: tok, TerminalID: "T-" + name, PublicKey: ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), Now: t0}); err != nil {
			t.Fatal(err)
		}
		terms = append(terms, "T-"+name)
	}
	mean := func(q string, minute int) float64 {
		if q == "pm25" {
			return float64(minute%7) + 1
		}
		return float64(minute%7) + 10
	}
	const calls, span = 12, 10
	var ids atomic.Int64
	errs := race(hs, calls, func(i int, s *pgstore.Store) error {
		var recs []api.Record
		for m := (i / 2) * 5; m < (i/2)*5+span; m++ {
			for _, q := range []string{"pm25", "pm10"} {
				at := t0.Add(time.Duration(m) * time.Minute)
				p := fmt.Sprintf(`{"sensor":"sds011-0","model":"sds011","quantity":%q,"unit":"ug/m3","minute":%q,"count":60,"expected":60,"mean":%g,"min":%g,"max":%g}`,
					q, at.Format(time.RFC3339), mean(q, m), mean(q, m)-1, mean(q, m)+1)
				recs = append(recs, api.Record{ID: fmt.Sprintf("01JX%022d", ids.Add(1)), Type: "sensor_minute", Class: api.ClassSensor, CreatedAt: at, Payload: json.RawMessage(p)})
			}
		}
		_, err := s.IngestBatch(ctx, terms[i%2], recs, t0.Add(time.Hour))
		return err
	})
	noErrors(t, errs)
	minutes := (calls/2-1)*5 + span // distinct minutes per terminal
	seen := map[int64]bool{}
	for _, term := range terms {
		ds, err := hs[1].Datastreams(ctx, store.DatastreamFilter{TerminalID: term})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 {
			t.Fatalf("%s: datastreams %+v, want pm10 and pm25", term, ds)
		}
		for _, d := range ds {
			if seen[d.ID] {
				t.Errorf("datastream ID %d given twice", d.ID)
			}
			seen[d.ID] = true
			obs, err := hs[2].ObservationWindow(ctx, d.ID, t0, t0.Add(24*time.Hour), store.ResolutionMinute)
			if err != nil {
				t.Fatal(err)
			}
			if len(obs) != minutes {
				t.Errorf("%s %s: %d observations, want %d", term, d.Quantity, len(obs), minutes)
			}
			hours, err := hs[2].ObservationWindow(ctx, d.ID, t0, t0.Add(24*time.Hour), store.ResolutionHour)
			if err != nil {
				t.Fatal(err)
			}
			var want float64
			for m := range minutes {
				want += mean(d.Quantity, m)
			}
			if len(hours) != 1 || hours[0].Count != 60*minutes || math.Abs(hours[0].Mean*float64(minutes)-want) > 1e-6 {
				t.Errorf("%s %s hour = %+v, want %d minutes summing to %g", term, d.Quantity, hours, minutes, want)
			}
			if hours[0].Flags != 0 {
				t.Errorf("%s %s hour flags = %v", term, d.Quantity, hours[0].Flags)
			}
		}
	}
}

func TestObservationFailureKeepsRecords(t *testing.T) {
	url := teststores.PostgresURL(t)
	var logs bytes.Buffer
	s, err := pgstore.Open(context.Background(), url, pgstore.Opts{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	exec := func(q string) {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	storetest.RunObservationFailure(t, s,
		func() {
			exec(`CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$`)
			exec(`CREATE TRIGGER boom BEFORE INSERT ON observations FOR EACH ROW EXECUTE FUNCTION boom()`)
		},
		func() { exec(`DROP TRIGGER boom ON observations`) })
	if !strings.Contains(logs.String(), "stored as records only") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}
