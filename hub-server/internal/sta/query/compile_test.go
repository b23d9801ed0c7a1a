package query

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// parseQuery splits a readable query string (not URL-encoded) into
// options, as net/url would after decoding.
func parseQuery(raw string) (map[string][]string, error) {
	v := map[string][]string{}
	if raw == "" {
		return v, nil
	}
	for _, kv := range strings.Split(raw, "&") {
		k, val, _ := strings.Cut(kv, "=")
		v[k] = append(v[k], val)
	}
	return v, nil
}

func minuteTime(m int64) time.Time { return time.Unix(m*60, 0).UTC() }
func iso(m int64) string           { return minuteTime(m).Format(time.RFC3339) }

// seq returns the observation ids of datastream ds for the minutes
// base+i with keep(i).
func seq(ds int64, keep func(i int64) bool) []int64 {
	out := []int64{}
	for i := int64(0); i < 120; i++ {
		if keep(i) {
			out = append(out, obsID(ds, base+i))
		}
	}
	return out
}

type compileCase struct {
	name   string
	target Target
	query  string
	want   []int64 // the rows' ids, in order (at most $top)
}

func id(v int64) *int64 { return &v }

func compileCases() []compileCase {
	ds10 := Target{Via: &Via{Set: "Datastreams", ID: 10, Property: "Observations"}}
	all := func(int64) bool { return true }
	bt := minuteTime(base)
	return []compileCase{
		// Collections (OGC 18-088 9.2.2): only what is published.
		{"things", Target{EntitySet: "Things"}, "", []int64{1, 2}},
		{"locations", Target{EntitySet: "Locations"}, "", []int64{1, 2}},
		{"historical locations", Target{EntitySet: "HistoricalLocations"}, "", []int64{1, 2}},
		{"datastreams", Target{EntitySet: "Datastreams"}, "", []int64{10, 11, 12, 13}},
		{"sensors", Target{EntitySet: "Sensors"}, "", []int64{1, 2}},
		{"observed properties", Target{EntitySet: "ObservedProperties"}, "", []int64{1, 2, 3}},
		{"features", Target{EntitySet: "FeaturesOfInterest"}, "", []int64{1, 2}},
		// Entities and navigation (9.2.3, 9.2.4).
		{"one thing", Target{EntitySet: "Things", ID: id(2)}, "", []int64{2}},
		{"unpublished thing", Target{EntitySet: "Things", ID: id(3)}, "", []int64{}},
		{"one observation", Target{EntitySet: "Observations", ID: id(obsID(10, base+5))}, "", []int64{obsID(10, base+5)}},
		{"things datastreams", Target{Via: &Via{"Things", 1, "Datastreams"}}, "", []int64{10, 11}},
		{"datastream thing", Target{Via: &Via{"Datastreams", 13, "Thing"}}, "", []int64{2}},
		{"sensor datastreams", Target{Via: &Via{"Sensors", 2, "Datastreams"}}, "", []int64{12}},
		{"observation datastream", Target{Via: &Via{"Observations", obsID(11, base+3), "Datastream"}}, "", []int64{11}},
		{"observation feature", Target{Via: &Via{"Observations", obsID(13, base+3), "FeatureOfInterest"}}, "", []int64{2}},
		{"entity through navigation", Target{Via: &Via{"Datastreams", 10, "Observations"}, ID: id(obsID(10, base+9))}, "", []int64{obsID(10, base+9)}},
		{"entity of another datastream", Target{Via: &Via{"Datastreams", 11, "Observations"}, ID: id(obsID(10, base+9))}, "", []int64{}},
		{"hour not ended", Target{EntitySet: "Observations", ID: id(obsID(12, base+120))}, "", []int64{}},
		{"hourly: ended hours only", Target{Via: &Via{"Datastreams", 12, "Observations"}}, "", []int64{obsID(12, base), obsID(12, base+60)}},
		// $top, $skip (9.3.3.3, 9.3.3.4): top+1 rows tell of a next page.
		{"top", ds10, "$top=3", seq(10, func(i int64) bool { return i < 4 })},
		{"skip", ds10, "$skip=117", seq(10, func(i int64) bool { return i >= 117 })},
		// $filter comparison operators (9.3.3.5.1, table "Built-in filter operations").
		{"gt", ds10, "$filter=result gt 100.5&$top=200", seq(10, func(i int64) bool { return i > 100 })},
		{"ge", ds10, "$filter=result ge 100.5&$top=200", seq(10, func(i int64) bool { return i >= 100 })},
		{"lt", ds10, "$filter=result lt 3", seq(10, func(i int64) bool { return i < 3 })},
		{"le", ds10, "$filter=result le 3.5", seq(10, func(i int64) bool { return i <= 3 })},
		{"eq", ds10, "$filter=result eq 7.5", seq(10, func(i int64) bool { return i == 7 })},
		{"ne", ds10, "$filter=result ne 7.5 and result lt 9", seq(10, func(i int64) bool { return i < 9 && i != 7 })},
		{"and", ds10, "$filter=result le 3.5 and FeatureOfInterest/id eq 1", seq(10, func(i int64) bool { return i <= 3 })},
		{"or", ds10, "$filter=result gt 118 or result le 1", seq(10, func(i int64) bool { return i >= 118 || i < 1 })},
		{"not", Target{EntitySet: "Things"}, "$filter=not startswith(name,'Pohl')", []int64{2}},
		{"not comparison", Target{EntitySet: "Things"}, "$filter=not name eq 'Altmarkt'", []int64{1}},
		{"grouping", ds10, "$filter=(result sub 5) eq 45.5", seq(10, func(i int64) bool { return i == 50 })},
		// Arithmetic (9.3.3.5.1).
		{"add", ds10, "$filter=result add 5 eq 10.5", seq(10, func(i int64) bool { return i == 5 })},
		{"sub", ds10, "$filter=result sub 1 lt 0", seq(10, func(i int64) bool { return i == 0 })},
		{"mul", ds10, "$filter=result mul 2 gt 237", seq(10, func(i int64) bool { return i == 119 })},
		{"div", ds10, "$filter=result div 2 lt 1", seq(10, func(i int64) bool { return i < 2 })},
		{"mod", Target{EntitySet: "Datastreams"}, "$filter=id mod 2 eq 1", []int64{11, 13}},
		// String functions (9.3.3.5.2).
		{"substringof", Target{EntitySet: "Things"}, "$filter=substringof('markt',name)", []int64{2}},
		{"contains", Target{EntitySet: "Things"}, "$filter=contains(name,'land')", []int64{1}},
		{"endswith", Target{EntitySet: "Things"}, "$filter=endswith(name,'markt')", []int64{2}},
		{"startswith", Target{EntitySet: "Things"}, "$filter=startswith(name,'Alt')", []int64{2}},
		{"startswith is case-sensitive", Target{EntitySet: "Things"}, "$filter=startswith(name,'alt')", []int64{}},
		{"length", Target{EntitySet: "Things"}, "$filter=length(name) eq 8", []int64{2}},
		{"indexof", Target{EntitySet: "Things"}, "$filter=indexof(name,'markt') eq 3", []int64{2}},
		{"substring", Target{EntitySet: "Things"}, "$filter=substring(name,3) eq 'markt'", []int64{2}},
		{"substring 3", Target{EntitySet: "Things"}, "$filter=substring(name,1,3) eq 'ltm'", []int64{2}},
		{"tolower", Target{EntitySet: "Things"}, "$filter=tolower(name) eq 'pohlandplatz'", []int64{1}},
		{"toupper", Target{EntitySet: "Things"}, "$filter=toupper(name) eq 'ALTMARKT'", []int64{2}},
		{"trim", Target{EntitySet: "Things"}, "$filter=trim(concat(' ', name)) eq 'Altmarkt'", []int64{2}},
		{"concat", Target{EntitySet: "Datastreams"}, "$filter=concat(concat(unitOfMeasurement/symbol,', '),unitOfMeasurement/name) eq 'ppm, part per million'", []int64{12}},
		{"quote in string", Target{EntitySet: "Things"}, "$filter=name eq 'it''s'", []int64{}},
		// Date and time functions (9.3.3.5.2); the hour of the fixture's base.
		{"year", ds10, fmt.Sprintf("$filter=year(resultTime) eq %d and result lt 2", bt.Year()), seq(10, func(i int64) bool { return i < 2 })},
		{"month", ds10, fmt.Sprintf("$filter=month(resultTime) eq %d and result lt 2", bt.Month()), seq(10, func(i int64) bool { return i < 2 })},
		{"day", ds10, fmt.Sprintf("$filter=day(resultTime) eq %d and result lt 2", bt.Day()), seq(10, func(i int64) bool { return i < 2 })},
		{"hour", ds10, fmt.Sprintf("$filter=hour(phenomenonTime) eq %d&$top=200", bt.Hour()), seq(10, func(i int64) bool { return i < 60 })},
		{"minute", ds10, "$filter=minute(phenomenonTime) eq 5", seq(10, func(i int64) bool { return i%60 == 5 })},
		{"second", ds10, "$filter=second(phenomenonTime) ne 0", []int64{}},
		{"date", ds10, fmt.Sprintf("$filter=date(phenomenonTime) eq %s and result lt 1", bt.Format("2006-01-02")), seq(10, func(i int64) bool { return i < 1 })},
		{"now", ds10, "$filter=resultTime gt now()", []int64{}},
		{"now minus a duration", ds10, "$filter=resultTime gt now() sub duration'PT60M'", seq(10, func(i int64) bool { return i >= 90 })},
		{"mindatetime", ds10, "$filter=phenomenonTime lt mindatetime()", []int64{}},
		{"maxdatetime", ds10, "$filter=phenomenonTime lt maxdatetime() and result lt 1", seq(10, func(i int64) bool { return i < 1 })},
		// Math functions (9.3.3.5.2).
		{"round", ds10, "$filter=round(result) eq 4", seq(10, func(i int64) bool { return i == 3 })},
		{"floor", ds10, "$filter=floor(result) eq 4", seq(10, func(i int64) bool { return i == 4 })},
		{"ceiling", ds10, "$filter=ceiling(result) eq 4", seq(10, func(i int64) bool { return i == 3 })},
		// Time intervals against instants and intervals (half open).
		{"interval window", ds10, fmt.Sprintf("$filter=phenomenonTime ge %s and phenomenonTime lt %s", iso(base+10), iso(base+20)), seq(10, func(i int64) bool { return i >= 10 && i < 20 })},
		{"interval contains instant", ds10, "$filter=phenomenonTime eq " + minuteTime(base+10).Add(30*time.Second).Format(time.RFC3339), seq(10, func(i int64) bool { return i == 10 })},
		{"instant in interval", ds10, "$filter=" + iso(base+10) + " eq phenomenonTime", seq(10, func(i int64) bool { return i == 10 })},
		{"interval gt instant", ds10, "$filter=phenomenonTime gt " + minuteTime(base+117).Add(time.Second).Format(time.RFC3339), seq(10, func(i int64) bool { return i >= 118 })},
		{"interval le instant", ds10, "$filter=phenomenonTime le " + iso(base+2), seq(10, func(i int64) bool { return i < 2 })},
		{"resultTime", ds10, "$filter=resultTime eq " + iso(base+11), seq(10, func(i int64) bool { return i == 10 })},
		{"interval literal", ds10, fmt.Sprintf("$filter=phenomenonTime eq %s/%s", iso(base+4), iso(base+5)), seq(10, func(i int64) bool { return i == 4 })},
		{"interval before interval", Target{EntitySet: "Datastreams"}, "$filter=phenomenonTime lt 2090-01-01T00:00:00Z/2090-01-02T00:00:00Z", []int64{10, 11, 12, 13}},
		{"historical time", Target{EntitySet: "HistoricalLocations"}, "$filter=time ge " + minuteTime(base).Add(2*time.Second).Format(time.RFC3339), []int64{2}},
		// JSON members (properties, parameters, resultQuality).
		{"properties", Target{EntitySet: "Things"}, "$filter=properties/quarter eq 'Altstadt'", []int64{2}},
		{"properties bool", Target{EntitySet: "Things"}, "$filter=properties/indoor eq true", []int64{2}},
		{"location properties", Target{EntitySet: "Locations"}, "$filter=properties/quarter eq 'Striesen'", []int64{1}},
		{"datastream properties", Target{EntitySet: "Datastreams"}, "$filter=properties/resolution eq 'PT1H'", []int64{12}},
		{"quality", ds10, "$filter=resultQuality/flag eq 'invalid'", seq(10, func(i int64) bool { return i == 7 })},
		{"quality incomplete", ds10, "$filter=resultQuality/flag eq 'incomplete'", seq(10, func(i int64) bool { return i%10 == 0 })},
		{"parameters", ds10, "$filter=parameters/max gt 119", seq(10, func(i int64) bool { return i >= 118 })},
		// Paths through related entities.
		{"datastream id", Target{EntitySet: "Observations"}, "$filter=Datastream/id eq 11&$top=2", seq(11, func(i int64) bool { return i < 3 })},
		{"datastream thing name", Target{EntitySet: "Observations"}, "$filter=Datastream/Thing/name eq 'Altmarkt'&$top=1000", append(seq(12, func(i int64) bool { return i == 0 || i == 60 }), seq(13, all)...)},
		{"observed property", Target{EntitySet: "Datastreams"}, "$filter=ObservedProperty/name eq 'PM2.5'", []int64{10, 13}},
		{"sensor of a datastream without model", Target{EntitySet: "Datastreams"}, "$filter=Sensor/id eq 1", []int64{10, 11, 13}},
		{"to many", Target{EntitySet: "Things"}, "$filter=Datastreams/unitOfMeasurement/symbol eq 'ppm'", []int64{2}},
		{"to many observations", Target{EntitySet: "Datastreams"}, "$filter=Observations/result gt 1000", []int64{11, 13}},
		// Geospatial functions (9.3.3.5.2).
		{"st_within", Target{EntitySet: "Things"}, "$filter=st_within(Locations/location, geography'POLYGON((13.77 51.04, 13.79 51.04, 13.79 51.06, 13.77 51.06, 13.77 51.04))')", []int64{1}},
		{"st_within hole", Target{EntitySet: "Locations"}, "$filter=st_within(location, geography'POLYGON((13.7 51.0, 13.9 51.0, 13.9 51.1, 13.7 51.1, 13.7 51.0), (13.77 51.04, 13.79 51.04, 13.79 51.06, 13.77 51.06, 13.77 51.04))')", []int64{2}},
		{"geo.intersects multipolygon", Target{EntitySet: "Locations"}, "$filter=geo.intersects(location, geography'MULTIPOLYGON(((13.77 51.04, 13.79 51.04, 13.79 51.045, 13.77 51.04)), ((13.73 51.04, 13.75 51.04, 13.75 51.06, 13.73 51.06, 13.73 51.04)))')", []int64{2}},
		{"st_contains", Target{EntitySet: "FeaturesOfInterest"}, "$filter=st_contains(geography'POLYGON((13.73 51.04, 13.75 51.04, 13.75 51.06, 13.73 51.06, 13.73 51.04))', feature)", []int64{2}},
		{"st_disjoint", Target{EntitySet: "Locations"}, "$filter=st_disjoint(location, geography'POLYGON((13.73 51.04, 13.75 51.04, 13.75 51.06, 13.73 51.06, 13.73 51.04))')", []int64{1}},
		{"st_equals", Target{EntitySet: "Locations"}, "$filter=st_equals(location, geography'POINT(13.78 51.05)')", []int64{1}},
		{"geo.distance", Target{EntitySet: "Locations"}, "$filter=geo.distance(location, geography'POINT(13.74 51.05)') lt 0.01", []int64{2}},
		{"geo.distance both", Target{EntitySet: "Locations"}, "$filter=geo.distance(location, geography'POINT(13.76 51.05)') lt 0.03", []int64{1, 2}},
		// null.
		{"eq null", Target{EntitySet: "Datastreams"}, "$filter=name eq null", []int64{}},
		{"ne null", Target{EntitySet: "Datastreams"}, "$filter=null ne description", []int64{10, 11, 12, 13}},
		// $orderby (9.3.3.2): keys, directions, then @iot.id.
		{"orderby desc", ds10, "$orderby=result desc&$top=2", seq(10, func(i int64) bool { return i >= 117 })},
		{"orderby path", Target{EntitySet: "Datastreams"}, "$orderby=Thing/name,id desc", []int64{13, 12, 11, 10}},
		{"orderby path desc", Target{EntitySet: "Datastreams"}, "$orderby=Thing/name desc", []int64{11, 10, 13, 12}},
		{"orderby time across datastreams", Target{EntitySet: "Observations"}, "$orderby=phenomenonTime desc&$top=3",
			// Ties broken by @iot.id, the way the last key runs.
			[]int64{obsID(13, base+119), obsID(11, base+119), obsID(10, base+119), obsID(13, base+118)}},
		{"orderby id desc", Target{EntitySet: "Observations"}, "$orderby=@iot.id desc&$top=1", []int64{obsID(13, base+119), obsID(13, base+118)}},
		{"orderby arithmetic through a path", Target{EntitySet: "Observations"}, "$filter=result lt 2 or result ge 1118&$orderby=length(Datastream/name) mod 100, FeatureOfInterest/name desc",
			// "Altmarkt PM2.5" (14 characters), "Pohlandplatz PM10" (17),
			// "Pohlandplatz PM2.5" (18); ties by @iot.id descending like
			// the last key.
			[]int64{obsID(13, base+119), obsID(13, base+118), obsID(11, base+119), obsID(11, base+118), obsID(10, base+1), obsID(10, base)}},
		{"orderby two keys", Target{EntitySet: "Things"}, "$orderby=properties/indoor desc, name", []int64{2, 1}},
	}
}

// reverse the order expected above where a case lists ascending ids but
// sorts descending.
func init() {
	for _, c := range []string{"orderby desc"} {
		_ = c
	}
}

func TestCompile(t *testing.T) {
	dbs := openDBs(t)
	for _, tc := range compileCases() {
		t.Run(tc.name, func(t *testing.T) {
			set := tc.target.EntitySet
			if tc.target.Via != nil {
				set, _ = targetSet(tc.target)
			}
			o := mustOptions(t, set, tc.query)
			want := tc.want
			if tc.name == "orderby desc" {
				want = slices.Clone(want)
				slices.Reverse(want)
			}
			if len(want) > o.Top+1 {
				want = want[:o.Top+1]
			}
			for _, db := range dbs {
				st, err := Compile(db.d, tc.target, o, fixNow)
				if err != nil {
					t.Fatalf("%s: %v", db.d, err)
				}
				if got := ids(db.rows(t, st)); !slices.Equal(got, want) {
					t.Errorf("%s: %s?%s\n got %v\nwant %v\n%s", db.d, set, tc.query, got, want, st.SQL)
				}
				cst, err := CompileCount(db.d, tc.target, o, fixNow)
				if err != nil {
					t.Fatalf("%s: count: %v", db.d, err)
				}
				if n := db.count(t, cst); o.Skip == 0 && len(tc.want) <= o.Top && n != int64(len(tc.want)) {
					t.Errorf("%s: count %d, want %d", db.d, n, len(tc.want))
				}
			}
		})
	}
}

func targetSet(t Target) (string, error) {
	s, err := resolveTarget(t)
	if err != nil {
		return "", err
	}
	return s.name, nil
}

func TestCountAll(t *testing.T) {
	dbs := openDBs(t)
	for _, db := range dbs {
		st, err := CompileCount(db.d, Target{EntitySet: "Observations"}, Options{Top: 100}, fixNow)
		if err != nil {
			t.Fatal(err)
		}
		// Three published minute datastreams of 120 minutes, two ended hours.
		if n := db.count(t, st); n != 3*120+2 {
			t.Errorf("%s: %d observations, want %d", db.d, n, 3*120+2)
		}
	}
}

// TestValues checks what a row renders to against the fixture and the
// mapping of issue 16 (result = mean, parameters, resultQuality).
func TestValues(t *testing.T) {
	dbs := openDBs(t)
	for _, db := range dbs {
		st, err := Compile(db.d, Target{EntitySet: "Observations", ID: id(obsID(10, base+7))}, Options{Top: 1}, fixNow)
		if err != nil {
			t.Fatal(err)
		}
		rows := db.rows(t, st)
		if len(rows) != 1 {
			t.Fatalf("%s: %d rows", db.d, len(rows))
		}
		got := map[string]any{}
		for i, c := range st.Columns {
			got[c.Property] = rows[0].Values[i]
		}
		b, _ := json.Marshal(got)
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"phenomenonTime": iso(base+7) + "/" + iso(base+8),
			"resultTime":     iso(base + 8),
			"result":         obsMean(7),
			"resultQuality":  map[string]any{"flag": "invalid", "reasons": []any{"out_of_range"}},
			"parameters": map[string]any{"min": obsMean(7) - 1, "max": obsMean(7) + 1, "count": 60.0, "expectedCount": 60.0,
				"warmupCount": 0.0, "invalidCount": 0.0},
		}
		for k, v := range want {
			if fmt.Sprint(back[k]) != fmt.Sprint(v) {
				t.Errorf("%s: %s = %v, want %v", db.d, k, back[k], v)
			}
		}

		// An hour: its mean is sum/minutes, parameters say the minutes.
		st, err = Compile(db.d, Target{EntitySet: "Observations", ID: id(obsID(12, base+60))}, Options{Top: 1, Select: []string{"result", "parameters"}}, fixNow)
		if err != nil {
			t.Fatal(err)
		}
		rows = db.rows(t, st)
		if len(rows) != 1 || len(st.Columns) != 2 {
			t.Fatalf("%s: %d rows, columns %v", db.d, len(rows), st.Columns)
		}
		if r := rows[0].Values[0]; r != 501.0 {
			t.Errorf("%s: hourly result %v, want 501", db.d, r)
		}
		if p := string(rows[0].Values[1].(json.RawMessage)); !strings.Contains(p, `"minutes":60`) || !strings.Contains(p, `"warmupCount":0`) {
			t.Errorf("%s: hourly parameters %s", db.d, p)
		}

		// A Thing, its Location, a Datastream.
		for _, c := range []struct {
			set  string
			id   int64
			want map[string]string
		}{
			{"Things", 2, map[string]string{"name": `"Altmarkt"`, "properties": `{"quarter":"Altstadt","place":"Kulturpalast, Foyer","indoor":true}`}},
			{"Locations", 1, map[string]string{"location": `{"type":"Point","coordinates":[13.78,51.05]}`, "encodingType": `"application/geo+json"`}},
			{"Datastreams", 12, map[string]string{"unitOfMeasurement": `{"name":"part per million","symbol":"ppm","definition":"ucum:[ppm]"}`,
				"phenomenonTime": `"` + iso(base) + "/" + iso(base+120) + `"`, "properties": `{"resolution":"PT1H","quantity":"co2","sensorId":"co2"}`}},
			{"Sensors", 1, map[string]string{"encodingType": `"application/pdf"`}},
			{"ObservedProperties", 3, map[string]string{"definition": `"http://dd.eionet.europa.eu/vocabulary/aq/pollutant/71"`}},
		} {
			st, err := Compile(db.d, Target{EntitySet: c.set, ID: id(c.id)}, Options{Top: 1}, fixNow)
			if err != nil {
				t.Fatal(err)
			}
			rows := db.rows(t, st)
			if len(rows) != 1 {
				t.Fatalf("%s: %s(%d): %d rows", db.d, c.set, c.id, len(rows))
			}
			for i, col := range st.Columns {
				w, ok := c.want[col.Property]
				if !ok {
					continue
				}
				b, _ := json.Marshal(rows[0].Values[i])
				if string(b) != w {
					t.Errorf("%s: %s(%d).%s = %s, want %s", db.d, c.set, c.id, col.Property, b, w)
				}
			}
		}
	}
}

// TestIndexUse: a window on one datastream's observations is a range
// scan of the primary key (datastream_id, minute) in both stores, not a
// scan of the table.
func TestIndexUse(t *testing.T) {
	dbs := openDBs(t)
	ctx := context.Background()
	target := Target{Via: &Via{"Datastreams", 10, "Observations"}}
	o := mustOptions(t, "Observations", fmt.Sprintf("$filter=phenomenonTime ge %s and phenomenonTime lt %s&$orderby=phenomenonTime desc", iso(base+10), iso(base+20)))
	o2 := mustOptions(t, "Observations", fmt.Sprintf("$filter=Datastream/id eq 10 and resultTime gt %s and resultTime le %s", iso(base+10), iso(base+20)))
	// The latest observation of one datastream (Grafana, the public page).
	latest := mustOptions(t, "Observations", "$orderby=phenomenonTime desc&$top=1")
	for _, db := range dbs {
		for _, c := range []struct {
			t            Target
			o            Options
			lite, pgWant string
			sorts        bool // rows of several datastreams are sorted
		}{
			{target, o, "SEARCH o USING PRIMARY KEY (datastream_id=? AND minute>? AND minute<?)", "minute >", false},
			{Target{EntitySet: "Observations"}, o2, "SEARCH o USING PRIMARY KEY (datastream_id=? AND minute>? AND minute<?)", "minute >", false},
			{target, latest, "SEARCH o USING PRIMARY KEY (datastream_id=?)", "Index Scan Backward using observations_pkey", false},
			// Through related entities: the observations of the
			// datastreams found, by key.
			{Target{EntitySet: "Observations"}, mustOptions(t, "Observations", "$filter=Datastream/Thing/name eq 'Altmarkt' and Datastream/ObservedProperty/name eq 'PM2.5'"),
				"SEARCH o USING PRIMARY KEY (datastream_id=?)", "observations_pkey", true},
		} {
			st, err := Compile(db.d, c.t, c.o, fixNow)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := db.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			q := "EXPLAIN QUERY PLAN " + st.SQL
			if db.d == Postgres {
				// Tiny tables make a sequential scan cheapest; forbid it
				// to see whether the index can serve the condition.
				if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
				q = "EXPLAIN " + db.rewrite(st.SQL)
			}
			rs, err := conn.QueryContext(ctx, q, st.Args...)
			if err != nil {
				t.Fatal(err)
			}
			for rs.Next() {
				vals := make([]any, 4)
				ptrs := make([]any, 4)
				for i := range ptrs {
					ptrs[i] = &vals[i]
				}
				cols, _ := rs.Columns()
				if err := rs.Scan(ptrs[:len(cols)]...); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, fmt.Sprint(vals[len(cols)-1]))
			}
			rs.Close()
			conn.Close()
			text := strings.Join(plan, "\n")
			switch db.d {
			case SQLite:
				// No sort of the datastream's rows inside the branch: the
				// key's order serves (the union then merges at most a
				// page from each branch).
				inner := text
				if i := strings.Index(text, "CO-ROUTINE b0"); i >= 0 {
					inner = text[i:]
					inner = inner[:strings.Index(inner, "SCAN b0")]
				}
				if !strings.Contains(text, c.lite) || strings.Contains(text, "SCAN o") || !c.sorts && strings.Contains(inner, "TEMP B-TREE") {
					t.Errorf("sqlite plan:\n%s\n%s", text, st.SQL)
				}
			case Postgres:
				if !strings.Contains(text, c.pgWant) || strings.Contains(text, "Seq Scan on observations ") {
					t.Errorf("postgres plan:\n%s\n%s", text, st.SQL)
				}
			}
		}
	}
}

// TestTextStableOverTime: now (which hours have ended) is an argument,
// not text, so a request shape compiles to the same SQL from minute to
// minute and a store can reuse the prepared statement.
func TestTextStableOverTime(t *testing.T) {
	shapes := []struct {
		t   Target
		raw string
	}{
		{Target{EntitySet: "Datastreams"}, "$expand=Observations($top=1;$orderby=phenomenonTime desc)"},
		{Target{Via: &Via{"Datastreams", 10, "Observations"}}, "$orderby=phenomenonTime desc&$top=1"},
		{Target{EntitySet: "Observations"}, "$filter=Datastream/Thing/name eq 'Altmarkt' and phenomenonTime lt now()"},
		{Target{EntitySet: "Datastreams"}, "$filter=phenomenonTime gt 2026-12-01T00:00:00Z"},
	}
	for _, d := range []Dialect{SQLite, Postgres} {
		for _, s := range shapes {
			set := s.t.EntitySet
			if s.t.Via != nil {
				set = "Observations"
			}
			o := mustOptions(t, set, s.raw)
			a, err := Compile(d, s.t, o, fixNow)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Compile(d, s.t, o, fixNow.Add(61*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if a.SQL != b.SQL {
				t.Errorf("%s %s: the SQL changes with the time:\n%s\n%s", d, s.raw, a.SQL, b.SQL)
			}
			if set == "Observations" && slices.Equal(a.Args, b.Args) {
				t.Errorf("%s %s: the arguments do not change with the time: %v", d, s.raw, a.Args)
			}
		}
	}
}

// ForParent gives what compiling for the other parent gives, or says it
// cannot.
func TestForParent(t *testing.T) {
	for _, d := range []Dialect{SQLite, Postgres} {
		for _, c := range []struct {
			via      Via
			raw      string
			reusable bool
		}{
			{Via{"Datastreams", 10, "Observations"}, "$orderby=phenomenonTime desc&$top=1&$filter=result gt 3", true},
			{Via{"Things", 1, "Datastreams"}, "$filter=Observations/result gt 3&$top=10", true},
			{Via{"Things", 1, "Locations"}, "", true},
			{Via{"Observations", obsID(10, base), "Datastream"}, "", false},
			{Via{"Datastreams", 10, "Thing"}, "", false},
		} {
			set, _ := resolveTarget(Target{Via: &c.via})
			o := mustOptions(t, set.name, c.raw)
			a, err := Compile(d, Target{Via: &c.via}, o, fixNow)
			if err != nil {
				t.Fatal(err)
			}
			other := c.via
			other.ID += 7
			want, err := Compile(d, Target{Via: &other}, o, fixNow)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := a.ForParent(other.ID)
			if ok != c.reusable {
				t.Errorf("%s %v: ForParent ok %v, want %v", d, c.via, ok, c.reusable)
			}
			if ok && (got.SQL != want.SQL || !slices.Equal(got.Args, want.Args)) {
				t.Errorf("%s %v: ForParent gives %v, compiling gives %v", d, c.via, got.Args, want.Args)
			}
			if ok && slices.Equal(a.Args, got.Args) {
				t.Errorf("%s %v: ForParent left the parent's id as it was", d, c.via)
			}
		}
	}
}
