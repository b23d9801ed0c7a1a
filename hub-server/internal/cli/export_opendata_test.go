package cli_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/cli"
)

// TestExportOpenData: a terminal given a site by "terminal site" and a
// few uploaded minutes, "export --open-data" writes its day files, the
// stations and the catalogue into a directory, says what it wrote, and
// refuses what it cannot do.
func TestExportOpenData(t *testing.T) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	data, st, term := hubWithTerminal(t, day)
	var recs []api.Record
	for i := range 3 {
		m := day.Add(time.Duration(8*60+i) * time.Minute)
		payload := fmt.Sprintf(`{"sensor":"sds011-0","quantity":"pm25","unit":"ug/m3","minute":%q,"count":60,"mean":%d.5,"min":1,"max":20,"model":"sds011","expected":60}`,
			m.Format(time.RFC3339), 4+i)
		recs = append(recs, api.Record{ID: fmt.Sprintf("01JX00000000000000000000%02d", i+1), Type: "sensor_minute", Class: api.ClassSensor,
			CreatedAt: m.Add(time.Minute), Payload: json.RawMessage(payload)})
	}
	if _, err := st.IngestBatch(ctx, term.ID, recs, day.Add(9*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if out, errs, code := runIn(t, "", "terminal", "site", "--data", data, "--terminal", "jst-1", "--lat", "51.0512", "--lon", "13.7601", "--place", "Bibliothek"); code != 0 {
		t.Fatalf("terminal site: %d %s %s", code, out, errs)
	}

	exportAt := func(now time.Time, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := cli.Main(ctx, append([]string{"export", "--data", data}, args...), cli.Opts{Stdout: &out, Stderr: &errb, Now: func() time.Time { return now }})
		return out.String(), errb.String(), code
	}
	dir := filepath.Join(t.TempDir(), "portal")
	out, errs, code := exportAt(day.Add(30*time.Hour), "--open-data", dir, "--public-url", "https://hub.example.org", "--open-data-licence", "dl-de/by-2.0",
		"--open-data-publisher", "Landeshauptstadt Dresden")
	if code != 0 {
		t.Fatalf("export --open-data: %d %s %s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var names []string
	for _, l := range lines {
		name, size, _ := strings.Cut(l, "\t")
		names = append(names, name)
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fmt.Sprint(fi.Size()) != size {
			t.Errorf("printed %q, on disk %v %v", l, fi, err)
		}
	}
	if strings.Join(names, " ") != "air/2026-03-10.csv.gz stations.geojson catalog.jsonld" {
		t.Fatalf("wrote %q (the last 31 days, from the first with data)", names)
	}
	gz, err := os.ReadFile(filepath.Join(dir, "air/2026-03-10.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[1][0] != "jst-1" || rows[1][3] != "Johannstadt" || rows[1][6] != "2026-03-10T08:00:00Z" || rows[3][8] != "6.5" || rows[1][15] != "51.0512" {
		t.Errorf("day file rows: %q", rows)
	}
	cat, err := os.ReadFile(filepath.Join(dir, "catalog.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"http://dcat-ap.de/def/licenses/dl-by-de/2.0", `"dcatde:licenseAttributionByText": "Landeshauptstadt Dresden"`,
		"https://hub.example.org/open-data/air/2026-03-10.csv.gz"} {
		if !bytes.Contains(cat, []byte(want)) {
			t.Errorf("catalog.jsonld lacks %s", want)
		}
	}

	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--open-data", dir}, 2, "--public-url"},
		{[]string{"--open-data", dir, "--public-url", "https://h", "--format", "csv"}, 2, "--type and --format are for records"},
		{[]string{"--open-data", dir, "--public-url", "https://h", "--open-data-licence", "gpl"}, 2, "dl-de/zero-2.0, dl-de/by-2.0, cc-zero, cc-by-4.0"},
		{[]string{"--open-data", dir, "--public-url", "https://h", "--to", "10.3.2026"}, 2, "YYYY-MM-DD"},
		{[]string{"--open-data", dir, "--public-url", "https://h", "--open-data-geocoding", "Dresden"}, 2, "political geocoding URI"},
		{[]string{"--open-data", dir, "--public-url", "https://h", "--to", "2026-03-11"}, 1, "not finished"},
		{[]string{"--open-data", dir, "--public-url", "https://h", "--from", "2026-03-10", "--to", "2026-03-09"}, 1, "before the start"},
	} {
		if out, errs, code := exportAt(day.Add(30*time.Hour), tc.args...); code != tc.code || !strings.Contains(errs, tc.says) {
			t.Errorf("export %q: %d %q %q, want %d saying %q", tc.args, code, out, errs, tc.code, tc.says)
		}
	}
}
