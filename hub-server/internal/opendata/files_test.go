package opendata_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/piprate/json-gold/ld"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/quartierhub/quartierhub/hub-server/internal/opendata"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/internal/air"
)

const base = "https://hub.example.org"

func newFiles(t testing.TB, st store.Store, o opendata.Opts) *opendata.Files {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return now }
	}
	if o.Catalog.PublicURL == "" {
		o.Catalog.PublicURL = base
	}
	f, err := opendata.New(st, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// readCSV reads a gzipped day file back as a CSV reader would.
func readCSV(t *testing.T, gz []byte) [][]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(zr)
	r.FieldsPerRecord = len(opendata.Columns)
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// The day's file read back holds, under the documented header, exactly
// the day's published values as ingested (the minutes of terminals with a
// site, indoor CO2 as its hour), with the flags the hub set, grouped by
// datastream and in time order within each.
func TestDayFileHoldsWhatWasIngested(t *testing.T) {
	teststores.Each(t, func(t *testing.T, st store.Store) {
		ts, wants := fleet()
		seed(t, st, ts)
		f := newFiles(t, st, opendata.Opts{})
		var gz bytes.Buffer
		if err := f.WriteDay(context.Background(), &gz, day); err != nil {
			t.Fatal(err)
		}
		rows := readCSV(t, gz.Bytes())
		if !slices.Equal(rows[0], opendata.Columns) {
			t.Fatalf("header %q, want %q", rows[0], opendata.Columns)
		}
		col := map[string]int{}
		for i, c := range rows[0] {
			col[c] = i
		}
		dss, err := st.Datastreams(context.Background(), store.DatastreamFilter{})
		if err != nil {
			t.Fatal(err)
		}
		terminals, err := st.Terminals(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]store.Terminal{}
		for _, term := range terminals {
			byName[term.Name] = term
		}
		sites := map[string]*store.Site{}
		for _, term := range ts {
			sites[term.name] = term.site
		}
		got := rows[1:]
		if len(got) != len(wants) {
			t.Errorf("%d rows, want %d:\n%q", len(got), len(wants), got)
		}
		// Each datastream's rows are together and in time order.
		seen := map[string]bool{}
		for i, r := range got {
			ds := r[col["datastream_id"]]
			if i > 0 && got[i-1][col["datastream_id"]] != ds && seen[ds] {
				t.Errorf("row %d: datastream %s's rows are not together", i+1, ds)
			}
			if i > 0 && got[i-1][col["datastream_id"]] == ds && r[col["interval_start"]] <= got[i-1][col["interval_start"]] {
				t.Errorf("row %d: not after the row before in time", i+1)
			}
			seen[ds] = true
		}
		for _, w := range wants {
			term := byName[w.terminal]
			var ds store.Datastream
			for _, d := range dss {
				if d.TerminalID == term.ID && d.Quantity == w.quantity {
					ds = d
				}
			}
			q, _ := air.QuantityByID(w.quantity)
			site := sites[w.terminal]
			want := map[string]string{
				"terminal_name": w.terminal, "thing_id": strconv.FormatInt(ds.TerminalNum, 10), "datastream_id": strconv.FormatInt(ds.ID, 10),
				"quarter": term.Quarter, "observed_property": w.quantity, "unit_ucum": q.UCUM,
				"interval_start": day.Format("2006-01-02T") + w.start + ":00Z", "interval_end": day.Format("2006-01-02T") + w.end + ":00Z",
				"mean": w.mean, "min": w.min, "max": w.max, "count": w.count, "expected_count": w.expected,
				"qc_flag": w.flag, "qc_reasons": w.reasons,
				"latitude": strconv.FormatFloat(site.Latitude, 'f', -1, 64), "longitude": strconv.FormatFloat(site.Longitude, 'f', -1, 64),
			}
			i := slices.IndexFunc(got, func(r []string) bool {
				return r[col["datastream_id"]] == want["datastream_id"] && r[col["interval_start"]] == want["interval_start"]
			})
			if i < 0 {
				t.Errorf("no row for %s %s at %s", w.terminal, w.quantity, w.start)
				continue
			}
			for c, v := range want {
				if got[i][col[c]] != v {
					t.Errorf("%s %s at %s: %s = %q, want %q", w.terminal, w.quantity, w.start, c, got[i][col[c]], v)
				}
			}
		}
		// The same data makes the same bytes (a content ETag holds across
		// processes).
		var again bytes.Buffer
		if err := f.WriteDay(context.Background(), &again, day); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(gz.Bytes(), again.Bytes()) {
			t.Error("two files of the same day differ")
		}
	})
}

// The stations file validates against the GeoJSON FeatureCollection
// schema and holds one point per published terminal, [lon, lat].
func TestStationsValidateAsGeoJSON(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	ts, _ := fleet()
	seed(t, st, ts)
	f := newFiles(t, st, opendata.Opts{})
	var b bytes.Buffer
	if err := f.WriteStations(context.Background(), &b, base); err != nil {
		t.Fatal(err)
	}
	schemaFile, err := os.Open("testdata/geojson-schema/FeatureCollection.json")
	if err != nil {
		t.Fatal(err)
	}
	defer schemaFile.Close()
	schemaDoc, err := jsonschema.UnmarshalJSON(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://geojson.org/schema/FeatureCollection.json", schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("https://geojson.org/schema/FeatureCollection.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Fatalf("stations.geojson is not a GeoJSON FeatureCollection: %v\n%s", err, b.String())
	}
	// The schema is not so lax that anything passes.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[13.7]}}]}`))
	if sch.Validate(bad) == nil {
		t.Fatal("a one-coordinate point validates")
	}

	var fc opendata.FeatureCollection
	if err := json.Unmarshal(b.Bytes(), &fc); err != nil {
		t.Fatal(err)
	}
	var published []terminal
	for _, term := range ts {
		if term.site != nil {
			published = append(published, term)
		}
	}
	if len(fc.Features) != len(published) {
		t.Fatalf("%d features, want %d (the terminals with a site)", len(fc.Features), len(published))
	}
	for _, term := range published {
		i := slices.IndexFunc(fc.Features, func(ft opendata.Feature) bool { return ft.Properties.Name == term.name })
		if i < 0 {
			t.Errorf("no feature for %s", term.name)
			continue
		}
		ft := fc.Features[i]
		if ft.Geometry.Coordinates != [2]float64{term.site.Longitude, term.site.Latitude} {
			t.Errorf("%s at %v, want [lon lat] %v %v", term.name, ft.Geometry.Coordinates, term.site.Longitude, term.site.Latitude)
		}
		p := ft.Properties
		if p.Quarter != term.quarter || p.Place != term.site.Place || p.Indoor != term.site.Indoor || p.ThingID != ft.ID {
			t.Errorf("%s's properties %+v", term.name, p)
		}
		if want := base + "/sta/v1.1/Things(" + strconv.FormatInt(ft.ID, 10) + ")"; p.ThingURL != want {
			t.Errorf("%s's Thing URL %q, want %q", term.name, p.ThingURL, want)
		}
		for _, q := range p.Quantities {
			wantRes := "PT1M"
			if term.site.Indoor && q.Quantity == "co2" {
				wantRes = "PT1H"
			}
			if q.Resolution != wantRes {
				t.Errorf("%s %s published at %s, want %s", term.name, q.Quantity, q.Resolution, wantRes)
			}
		}
		if len(p.Sensors) == 0 {
			t.Errorf("%s names no sensor", term.name)
		}
	}
}

// The catalogue parses as JSON-LD: expanded to RDF by a JSON-LD processor
// it states the catalogue, the dataset with its theme, title and
// coverage, each day's distribution with its download URL and licence,
// the stations and the SensorThings service.
func TestCatalogIsDCATAPde(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	ts, _ := fleet()
	seed(t, st, ts)
	for _, licence := range []string{"dl-de/zero-2.0", "cc-by-4.0"} {
		t.Run(strings.ReplaceAll(licence, "/", "_"), func(t *testing.T) {
			f := newFiles(t, st, opendata.Opts{Catalog: opendata.Catalog{Licence: licence, Publisher: "Landeshauptstadt Dresden", ContactEmail: "umwelt@example.org",
				PoliticalGeocoding: "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/14612000", ContributorID: "http://dcat-ap.de/def/contributors/stadtDresden"}})
			var b bytes.Buffer
			if err := f.WriteCatalog(context.Background(), &b, base, nil); err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			proc := ld.NewJsonLdProcessor()
			opts := ld.NewJsonLdOptions("")
			opts.Format = "application/n-quads"
			opts.SafeMode = true // a term the context does not define is an error, not dropped
			nq, err := proc.ToRDF(doc, opts)
			if err != nil {
				t.Fatalf("not JSON-LD: %v", err)
			}
			quads := nq.(string)
			lic, _ := opendata.LicenceByID(licence)
			const (
				rdfType = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
				dcat    = "http://www.w3.org/ns/dcat#"
				dct     = "http://purl.org/dc/terms/"
			)
			dataset := "<" + base + "/open-data/#air-quality>"
			stations := "<" + base + "/open-data/stations.geojson>"
			service := "<" + base + "/sta/v1.1>"
			want := []string{
				"<" + base + "/open-data/catalog.jsonld> " + rdfType + " <" + dcat + "Catalog> .",
				"<" + base + "/open-data/catalog.jsonld> <" + dcat + "dataset> " + dataset + " .",
				dataset + " " + rdfType + " <" + dcat + "Dataset> .",
				dataset + " <" + dct + "title> \"Luftqualität in den Quartieren\"@de .",
				dataset + " <" + dct + "title> \"Air quality in the quarters\"@en .",
				dataset + " <" + dcat + "theme> <http://publications.europa.eu/resource/authority/data-theme/ENVI> .",
				dataset + " <" + dcat + "distribution> " + stations + " .",
				stations + " <" + dct + "license> <" + lic.URI + "> .",
				stations + " <" + dct + "format> <http://publications.europa.eu/resource/authority/file-type/GEOJSON> .",
				service + " " + rdfType + " <" + dcat + "DataService> .",
				service + " <" + dct + "conformsTo> <http://www.opengis.net/spec/iot_sensing/1.1> .",
				service + " <" + dcat + "servesDataset> " + dataset + " .",
				"<" + dcat + "startDate> \"" + day.Add(-time.Minute).Format(time.RFC3339) + "\"^^<http://www.w3.org/2001/XMLSchema#dateTime> .",
				"<" + dcat + "bbox> \"POLYGON((13.7601 51.0458, 13.7854 51.0458, 13.7854 51.0512, 13.7601 51.0512, 13.7601 51.0458))\"^^<http://www.opengis.net/ont/geosparql#wktLiteral> .",
				"<http://www.w3.org/2006/vcard/ns#hasEmail> <mailto:umwelt@example.org> .",
				dataset + " <http://dcat-ap.de/def/dcatde/politicalGeocodingURI> <http://dcat-ap.de/def/politicalGeocoding/municipalityKey/14612000> .",
				dataset + " <http://dcat-ap.de/def/dcatde/politicalGeocodingLevelURI> <http://dcat-ap.de/def/politicalGeocoding/Level/municipality> .",
				dataset + " <http://dcat-ap.de/def/dcatde/contributorID> <http://dcat-ap.de/def/contributors/stadtDresden> .",
			}
			// Days of data: the one before the seeded day (its last
			// minute) and the seeded day; the next has not settled.
			for _, d := range []time.Time{day.AddDate(0, 0, -1), day} {
				u := "<" + base + "/open-data/air/" + d.Format(time.DateOnly) + ".csv.gz>"
				want = append(want, dataset+" <"+dcat+"distribution> "+u+" .", u+" <"+dcat+"downloadURL> "+u+" .",
					u+" <"+dct+"license> <"+lic.URI+"> .", u+" <"+dcat+"mediaType> <http://www.iana.org/assignments/media-types/text/csv> .")
			}
			for _, w := range want {
				if !strings.Contains(quads, w) {
					t.Errorf("missing triple %s", w)
				}
			}
			next := base + "/open-data/air/" + day.AddDate(0, 0, 1).Format(time.DateOnly)
			if strings.Contains(quads, next) {
				t.Errorf("the unfinished day %s is listed", next)
			}
			attribution := "<http://dcat-ap.de/def/dcatde/licenseAttributionByText> \"Landeshauptstadt Dresden\""
			if strings.Contains(quads, attribution) != lic.Attribution {
				t.Errorf("attribution text present %v, licence requires it %v", !lic.Attribution, lic.Attribution)
			}
			if t.Failed() {
				t.Log(quads)
			}
		})
	}
}

// The memory cache keeps at most its bound and refuses a file larger.
func TestMemoryCacheBounded(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	ts, _ := fleet()
	seed(t, st, ts)
	f := newFiles(t, st, opendata.Opts{MemoryCache: 64})
	if _, err := f.Day(context.Background(), day); err == nil || !strings.Contains(err.Error(), "larger than the memory cache") {
		t.Fatalf("a day file over the memory bound: %v", err)
	}
	f = newFiles(t, st, opendata.Opts{})
	e, err := f.Day(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	_ = e
}

// Export writes the files a portal harvests; the day file is the one the
// handler serves, byte for byte.
func TestExportWritesTheServedFiles(t *testing.T) {
	st := teststores.Open(t, teststores.SQLite)
	ts, _ := fleet()
	seed(t, st, ts)
	f := newFiles(t, st, opendata.Opts{CacheDir: t.TempDir()})
	dir := t.TempDir()
	written, err := f.Export(context.Background(), dir, day.AddDate(0, 0, -5), day)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range written {
		names = append(names, w.Path)
		fi, err := os.Stat(dir + "/" + w.Path)
		if err != nil || fi.Size() != w.Bytes || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, size %d mode %v, reported %d", w.Path, err, fi.Size(), fi.Mode(), w.Bytes)
		}
	}
	want := []string{"air/2025-06-01.csv.gz", "air/2025-06-02.csv.gz", "stations.geojson", "catalog.jsonld"}
	if !slices.Equal(names, want) {
		t.Fatalf("wrote %q, want %q (days before the first data are skipped)", names, want)
	}
	exported, err := os.ReadFile(dir + "/air/2025-06-02.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.Day(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(e.Content())
	e.Close()
	if !bytes.Equal(exported, served) {
		t.Error("the exported day file differs from the served one")
	}
	if _, err := f.Export(context.Background(), dir, day, day.AddDate(0, 0, 1)); err == nil {
		t.Error("exporting an unfinished day succeeded")
	}
}

// Only the DCAT-AP.de key lists with keys of their length are geocoding
// URIs; the level follows from the list.
func TestGeocodingLevel(t *testing.T) {
	const b = "http://dcat-ap.de/def/politicalGeocoding/"
	for uri, level := range map[string]string{
		b + "stateKey/14": b + "Level/state", b + "districtKey/14612": b + "Level/administrativeDistrict",
		b + "municipalityKey/14612000": b + "Level/municipality", b + "regionalKey/146120000000": b + "Level/municipality",
		b + "municipalityKey/1461200": "", b + "municipalityKey/1461200x": "", b + "cityKey/14612000": "", b + "stateKey": "",
		"https://dcat-ap.de/def/politicalGeocoding/stateKey/14": "", "": "",
	} {
		got, err := opendata.GeocodingLevel(uri)
		if got != level || (err == nil) != (level != "") {
			t.Errorf("GeocodingLevel(%q) = %q, %v; want %q", uri, got, err, level)
		}
	}
	if _, err := opendata.New(nil, opendata.Opts{Catalog: opendata.Catalog{PoliticalGeocoding: b + "stateKey/1"}}); err == nil {
		t.Error("New takes a bad geocoding URI")
	}
}
