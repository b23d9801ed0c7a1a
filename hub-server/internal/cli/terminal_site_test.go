package cli_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// TestTerminalSiteCLI: "terminal site" publishes a terminal as the
// console's site page does — in the same store, on the version read,
// audited — keeps what is not given, holds back indoor CO2 per minute
// unless confirmed, and --clear stops publishing.
func TestTerminalSiteCLI(t *testing.T) {
	now := time.Now()
	ctx := context.Background()
	data, st, term := hubWithTerminal(t, now)
	defer st.Close()
	site := func() store.Site {
		t.Helper()
		s, err := st.Site(ctx, term.ID)
		if err != nil {
			t.Fatalf("Site: %v", err)
		}
		return s
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--lat", "51.05"}, 2, "give --lat, --lon and --place"},
		{[]string{"--lat", "91", "--lon", "13.7", "--place", "Platz"}, 1, "latitude"},
		{[]string{"--lat", "NaN", "--lon", "13.7", "--place", "Platz"}, 1, "latitude"},
		{[]string{"--lat", "51.05", "--lon", "13.7", "--place", "Platz", "--publish", "no2=off"}, 2, "pm25, pm10, co2"},
		{[]string{"--lat", "51.05", "--lon", "13.7", "--place", "Platz", "--publish", "co2=sometimes"}, 2, "minute, hour, off or default"},
		{[]string{"--lat", "51.05", "--lon", "13.7", "--place", "Platz", "--indoor", "--publish", "co2=minute"}, 2, "--co2-minute-indoors"},
		{[]string{"--clear", "--place", "x"}, 2, "--clear takes no other settings"},
	} {
		args := append([]string{"terminal", "site", "jst-1", "--data", data}, tc.args...)
		if _, errs, code := runIn(t, "", args...); code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d %q; want %d with %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	if _, err := st.Site(ctx, term.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused commands stored a site: %v", err)
	}

	out, errs, code := runIn(t, "", "terminal", "site", "jst-1", "--data", data, "--lat", "51.0527", "--lon", "13.7681", "--place", "Bönischplatz", "--publish", "pm10=hour")
	if code != 0 || !strings.Contains(out, `jst-1: 51.052700,13.768100 "Bönischplatz" indoor=false pm25=minute pm10=hour co2=minute (version 1)`) {
		t.Fatalf("set: %d %q %s", code, out, errs)
	}
	if s := site(); s.Latitude != 51.0527 || s.Longitude != 13.7681 || s.Place != "Bönischplatz" || s.Indoor || s.Publish["pm10"] != "hour" || s.Version != 1 {
		t.Fatalf("stored %+v", s)
	}
	// Indoors, with what was not given kept: CO2 goes hourly by default.
	if _, errs, code := runIn(t, "", "terminal", "site", "--terminal", "jst-1", "--data", data, "--indoor", "--place", "Bibliothek, Foyer", "--publish", "pm10=default"); code != 0 {
		t.Fatalf("indoor: %d %s", code, errs)
	}
	if s := site(); !s.Indoor || s.Latitude != 51.0527 || s.Place != "Bibliothek, Foyer" || len(s.Publish) != 0 || s.Resolution("co2") != store.ResolutionHour || s.Version != 2 {
		t.Fatalf("stored %+v", s)
	}
	if _, errs, code := runIn(t, "", "terminal", "site", "jst-1", "--data", data, "--publish", "co2=minute", "--co2-minute-indoors"); code != 0 {
		t.Fatalf("confirmed indoor CO2 per minute: %d %s", code, errs)
	}
	if s := site(); s.Resolution("co2") != store.ResolutionMinute || s.Version != 3 {
		t.Fatalf("stored %+v", s)
	}
	if out, _, code := runIn(t, "", "terminal", "site", "jst-1", "--data", data); code != 0 || !strings.Contains(out, `"Bibliothek, Foyer" indoor=true pm25=minute pm10=minute co2=minute (version 3)`) {
		t.Errorf("show: %d %q", code, out)
	}
	if s := site(); s.Version != 3 {
		t.Fatalf("showing the site wrote it: %+v", s)
	}
	if out, errs, code := runIn(t, "", "terminal", "site", "jst-1", "--data", data, "--clear"); code != 0 || !strings.Contains(out, "not published any more") {
		t.Fatalf("clear: %d %s %s", code, out, errs)
	}
	if _, err := st.Site(ctx, term.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after --clear: %v", err)
	}
	if out, _, code := runIn(t, "", "terminal", "site", "jst-1", "--data", data, "--clear"); code != 0 || !strings.Contains(out, "not published (no site)") {
		t.Errorf("clear again: %d %s", code, out)
	}
	au, err := st.AuditEntries(ctx, store.AuditFilter{Action: "site.", Subject: "terminal:jst-1"})
	if err != nil || len(au) != 4 {
		t.Fatalf("audit entries = %+v (%v), want three sets and a delete", au, err)
	}
	for _, a := range au {
		if a.Actor != "root" {
			t.Errorf("audit %+v: actor is not the command's", a)
		}
	}
	if au[0].Action != "site.delete" || !strings.Contains(au[1].Detail, "co2=minute") {
		t.Errorf("audit, newest first: %+v", au)
	}
	if _, errs, code := runIn(t, "", "terminal", "site", "nope", "--data", data, "--clear"); code != 1 || !strings.Contains(errs, `no terminal named "nope"`) {
		t.Errorf("unknown terminal: %d %s", code, errs)
	}
}
