package sta_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/internal/air"
)

// Tests written from OGC 18-088 (SensorThings API 1.1, part 1): the
// requirement each checks is named in its comment.

// The entity sets, their mandatory properties (section 8.2's tables) and
// their navigation properties (the relations of each table).
var model = []struct {
	set   string
	props []string
	navs  map[string]bool // name → to-many
}{
	{"Things", []string{"name", "description"}, map[string]bool{"Locations": true, "HistoricalLocations": true, "Datastreams": true}},
	{"Locations", []string{"name", "description", "encodingType", "location"}, map[string]bool{"Things": true, "HistoricalLocations": true}},
	{"HistoricalLocations", []string{"time"}, map[string]bool{"Thing": false, "Locations": true}},
	{"Datastreams", []string{"name", "description", "unitOfMeasurement", "observationType"},
		map[string]bool{"Thing": false, "Sensor": false, "ObservedProperty": false, "Observations": true}},
	{"Sensors", []string{"name", "description", "encodingType", "metadata"}, map[string]bool{"Datastreams": true}},
	{"ObservedProperties", []string{"name", "definition", "description"}, map[string]bool{"Datastreams": true}},
	{"Observations", []string{"phenomenonTime", "result", "resultTime"}, map[string]bool{"Datastream": false, "FeatureOfInterest": false}},
	{"FeaturesOfInterest", []string{"name", "description", "encodingType", "feature"}, map[string]bool{"Observations": true}},
}

// req/resource-path/resource-path-to-entities (9.2.1): the service root
// lists every entity set with its name and URL; serverSettings lists the
// conformance classes.
func TestServiceRoot(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		for _, u := range []string{f.base, f.base + "/"} {
			r := f.get(t, u).ok(t, "service root")
			var names []string
			for _, v := range r.values(t) {
				name, _ := v["name"].(string)
				names = append(names, name)
				if v["url"] != f.base+"/"+name {
					t.Errorf("%s's url is %v, want %s", name, v["url"], f.base+"/"+name)
				}
				f.get(t, f.base+"/"+name).ok(t, name)
			}
			for _, m := range model {
				if !slices.Contains(names, m.set) {
					t.Errorf("service root lacks %s: %v", m.set, names)
				}
			}
			settings, _ := r.json["serverSettings"].(map[string]any)
			conf, _ := settings["conformance"].([]any)
			for _, c := range []string{"http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
				"http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
				"http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array"} {
				if !slices.Contains(conf, any(c)) {
					t.Errorf("conformance %v lacks %s", conf, c)
				}
			}
			// request-data: the class, or the requirements met (then not filter).
			requestData := "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data"
			if !slices.Contains(conf, any(requestData)) {
				for _, r := range []string{"expand", "select", "orderby", "top", "skip", "count", "status-code"} {
					if !slices.Contains(conf, any(requestData+"/"+r)) {
						t.Errorf("conformance %v lacks request-data and its %s", conf, r)
					}
				}
			}
			for _, c := range conf {
				if s, _ := c.(string); strings.Contains(s, "create-update-delete") || strings.Contains(s, "mqtt") {
					t.Errorf("a read-only server without MQTT claims %s", s)
				}
			}
		}
	})
}

// req/datamodel (8.2) and control information (8.2.1): every entity of
// every set has @iot.id, an @iot.selfLink that answers with the same
// entity, its mandatory properties, and a navigation link per relation
// that answers with an entity (to-one) or a collection (to-many).
func TestDataModel(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		for _, m := range model {
			all, _ := f.walk(t, f.base+"/"+m.set+"?$top=1000", 10)
			if len(all) == 0 {
				t.Fatalf("%s is empty", m.set)
			}
			for i, e := range all {
				id := num(t, e["@iot.id"])
				self := fmt.Sprintf("%s/%s(%d)", f.base, m.set, id)
				if e["@iot.selfLink"] != self {
					t.Fatalf("%s: selfLink %v, want %s", m.set, e["@iot.selfLink"], self)
				}
				for _, p := range m.props {
					if _, ok := e[p]; !ok {
						t.Errorf("%s(%d) lacks %s: %v", m.set, id, p, e)
					}
				}
				for nav := range m.navs {
					if e[nav+"@iot.navigationLink"] != self+"/"+nav {
						t.Errorf("%s(%d): %s@iot.navigationLink %v", m.set, id, nav, e[nav+"@iot.navigationLink"])
					}
				}
				if i > 2 && m.set == "Observations" {
					continue // following every minute's links adds nothing
				}
				again := f.get(t, self).ok(t, self)
				if num(t, again.json["@iot.id"]) != id {
					t.Fatalf("%s answers id %v", self, again.json["@iot.id"])
				}
				for nav, many := range m.navs {
					r := f.get(t, self+"/"+nav).ok(t, self+"/"+nav)
					if _, isColl := r.json["value"]; isColl != many {
						t.Errorf("%s/%s: collection %v, want %v", self, nav, isColl, many)
					}
				}
			}
		}
	})
}

// The entities are what the hub publishes (issue 16's mapping): only
// terminals with a site, their places as GeoJSON points, sensors with
// datasheets, the Eionet vocabulary and UCUM units, one Observation per
// minute with its statistics and quality, indoor CO2 per finished hour.
func TestPublishedEntities(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		things := f.get(t, "/Things").ok(t, "Things").values(t)
		if len(things) != len(f.published()) {
			t.Fatalf("%d Things, want the %d terminals with a site", len(things), len(f.published()))
		}
		for _, term := range f.terminals {
			r := f.get(t, fmt.Sprintf("/Things(%d)", term.num))
			if term.site == nil {
				errorOf(t, r, http.StatusNotFound, "")
				continue
			}
			r.ok(t, term.name)
			props, _ := r.json["properties"].(map[string]any)
			if r.json["name"] != term.name || props["quarter"] != term.quarter {
				t.Errorf("Thing %d: %v, want name %s in %s", term.num, r.body, term.name, term.quarter)
			}
			// The terminal ID is the terminal's credential identity and is
			// never published (docs/open-data.md, Privacy): name and
			// @iot.id identify a Thing.
			if _, ok := props["terminalId"]; ok || strings.Contains(string(r.body), term.site.TerminalID) {
				t.Errorf("Thing %d publishes its terminal ID: %s", term.num, r.body)
			}
			// The feature of interest: its name says the place, its
			// description the terminal and quarter, without saying the
			// place twice.
			foi := f.get(t, fmt.Sprintf("/FeaturesOfInterest(%d)", term.num)).ok(t, "FeatureOfInterest")
			desc, _ := foi.json["description"].(string)
			if foi.json["name"] != "Ambient air at "+term.site.Place || !strings.Contains(desc, term.name) ||
				!strings.Contains(desc, term.quarter) || strings.Contains(desc, term.site.Place) {
				t.Errorf("FeatureOfInterest %d: name %q, description %q", term.num, foi.json["name"], desc)
			}
			loc := f.get(t, fmt.Sprintf("/Things(%d)/Locations", term.num)).ok(t, "Locations").values(t)
			if len(loc) != 1 || loc[0]["encodingType"] != "application/geo+json" {
				t.Fatalf("Thing %d's Locations: %v", term.num, loc)
			}
			point, _ := loc[0]["location"].(map[string]any)
			coords, _ := point["coordinates"].([]any)
			if point["type"] != "Point" || len(coords) != 2 || float(t, coords[0]) != term.site.Longitude || float(t, coords[1]) != term.site.Latitude {
				t.Errorf("Location of %s: %v, want Point [%v, %v]", term.name, point, term.site.Longitude, term.site.Latitude)
			}
			ds := f.get(t, fmt.Sprintf("/Things(%d)/Datastreams?$expand=Sensor,ObservedProperty", term.num)).ok(t, "Datastreams").values(t)
			if len(ds) != len(seededQuantities) {
				t.Fatalf("Thing %d has %d Datastreams, want %d", term.num, len(ds), len(seededQuantities))
			}
			for _, d := range ds {
				op, _ := d["ObservedProperty"].(map[string]any)
				sensor, _ := d["Sensor"].(map[string]any)
				uom, _ := d["unitOfMeasurement"].(map[string]any)
				var q air.Quantity
				for _, cand := range air.Quantities {
					if cand.Definition == op["definition"] {
						q = cand
					}
				}
				if q.ID == "" {
					t.Fatalf("ObservedProperty %v has no Eionet definition of internal/air", op)
				}
				m, _ := air.ModelFor("", q.ID)
				if sensor["metadata"] != m.Datasheet || sensor["encodingType"] != "application/pdf" {
					t.Errorf("Sensor of %s: %v, want the datasheet of %s", q.ID, sensor, m.ID)
				}
				if uom["symbol"] != q.Symbol || !strings.Contains(fmt.Sprint(uom["definition"]), q.UCUM) {
					t.Errorf("unitOfMeasurement of %s: %v", q.ID, uom)
				}
				if d["observationType"] != "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement" {
					t.Errorf("observationType %v", d["observationType"])
				}
				obs, _ := f.walk(t, fmt.Sprintf("%s/Datastreams(%d)/Observations?$orderby=phenomenonTime&$top=1000", f.base, num(t, d["@iot.id"])), 5)
				hourly := term.site.Indoor && q.ID == "co2"
				checkObservations(t, obs, q.ID, hourly)
			}
		}
	})
}

// checkObservations compares a datastream's observations, oldest first,
// with what was seeded.
func checkObservations(t *testing.T, obs []map[string]any, quantity string, hourly bool) {
	t.Helper()
	step, n := time.Minute, minutes
	if hourly {
		step, n = time.Hour, int(clock.Truncate(time.Hour).Sub(day0)/time.Hour)
	}
	if len(obs) != n {
		t.Fatalf("%s: %d observations, want %d", quantity, len(obs), n)
	}
	for i, o := range obs {
		start := day0.Add(time.Duration(i) * step)
		end := start.Add(step)
		want := start.Format(time.RFC3339) + "/" + end.Format(time.RFC3339)
		if o["phenomenonTime"] != want || o["resultTime"] != end.Format(time.RFC3339) {
			t.Fatalf("%s observation %d: phenomenonTime %v resultTime %v, want %s", quantity, i, o["phenomenonTime"], o["resultTime"], want)
		}
		result := value(quantity, i)
		if hourly {
			sum := 0.0
			for m := i * 60; m < (i+1)*60; m++ {
				sum += value(quantity, m)
			}
			result = sum / 60
		}
		if got := float(t, o["result"]); math.Abs(got-result) > 1e-9 {
			t.Fatalf("%s observation %d: result %v, want %v", quantity, i, got, result)
		}
		params, _ := o["parameters"].(map[string]any)
		quality, _ := o["resultQuality"].(map[string]any)
		if params == nil || quality == nil {
			t.Fatalf("%s observation %d lacks parameters or resultQuality: %v", quantity, i, o)
		}
		if !hourly && (float(t, params["min"]) != result-1 || float(t, params["max"]) != result+1) {
			t.Errorf("%s observation %d: parameters %v, want min %v max %v", quantity, i, params, result-1, result+1)
		}
		wantFlag := "ok"
		if quantity == "pm25" && i == incompleteMinute {
			wantFlag = "incomplete"
		}
		if !hourly && quality["flag"] != wantFlag {
			t.Errorf("%s minute %d: resultQuality %v, want flag %s", quantity, i, quality, wantFlag)
		}
	}
}

// req/request-data/top, skip, count (9.3.3.x) and nextLink (9.3.3.5.1):
// a collection is paged, @iot.nextLink leads to the rest, following it
// visits every entity exactly once, and @iot.count counts the whole
// collection whatever $top says.
func TestPaging(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		want := f.expectedObservations()
		for _, top := range []int{7, 100, 1000} {
			all, pages := f.walk(t, fmt.Sprintf("/Observations?$top=%d", top), want/top+2)
			seen := map[int64]bool{}
			for _, id := range ids(t, all) {
				if seen[id] {
					t.Fatalf("$top=%d: Observation %d twice", top, id)
				}
				seen[id] = true
			}
			if len(seen) != want || pages != (want+top-1)/top {
				t.Fatalf("$top=%d: %d observations in %d pages, want %d in %d", top, len(seen), pages, want, (want+top-1)/top)
			}
		}
		if ds, pages := f.walk(t, "/Datastreams?$top=1", 100); len(ds) != len(f.published())*len(seededQuantities) || pages != len(ds) {
			t.Errorf("Datastreams one by one: %d in %d pages", len(ds), pages)
		}
		// Without $top a server pages by itself.
		r := f.get(t, "/Observations").ok(t, "Observations")
		if len(r.values(t)) == 0 || len(r.values(t)) >= want || r.json["@iot.nextLink"] == nil {
			t.Errorf("default page: %d values, nextLink %v", len(r.values(t)), r.json["@iot.nextLink"])
		}
		// $count with $top and $skip: the count of the whole set.
		r = f.get(t, "/Observations?$count=true&$top=3&$skip=5").ok(t, "count")
		if num(t, r.json["@iot.count"]) != int64(want) || len(r.values(t)) != 3 {
			t.Errorf("$count=true&$top=3: count %v, %d values; want %d, 3", r.json["@iot.count"], len(r.values(t)), want)
		}
		first := ids(t, f.get(t, "/Observations?$top=8").ok(t, "top 8").values(t))
		skipped := ids(t, f.get(t, "/Observations?$top=3&$skip=5").ok(t, "skip").values(t))
		if !slices.Equal(skipped, first[5:8]) {
			t.Errorf("$skip=5&$top=3 gives %v, want %v", skipped, first[5:8])
		}
		// $top=0 with $count: only the count (QGIS's feature count).
		r = f.get(t, "/Observations?$top=0&$count=true").ok(t, "top 0")
		if num(t, r.json["@iot.count"]) != int64(want) || len(r.values(t)) != 0 {
			t.Errorf("$top=0&$count=true: %s", r.body)
		}
		// Past the end: empty, no next link.
		r = f.get(t, fmt.Sprintf("/Observations?$skip=%d", want)).ok(t, "past the end")
		if len(r.values(t)) != 0 || r.json["@iot.nextLink"] != nil {
			t.Errorf("past the end: %s", r.body)
		}
		// $count=false says nothing.
		if r := f.get(t, "/Things?$count=false").ok(t, "count false"); r.json["@iot.count"] != nil {
			t.Errorf("$count=false gave a count")
		}
		// A $top above the server's maximum (1000) is served in pages of
		// the maximum.
		r = f.get(t, "/Observations?$top=100000").ok(t, "big top")
		if n := len(r.values(t)); n != min(want, 1000) || (want > 1000) != (r.json["@iot.nextLink"] != nil) {
			t.Errorf("$top=100000: %d values, nextLink %v", n, r.json["@iot.nextLink"])
		}
	})
}

// req/request-data/orderby (9.3.3.3): ascending by default, desc on
// request, several keys.
func TestOrderBy(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		names := func(u string) []string {
			var out []string
			for _, th := range f.get(t, u).ok(t, u).values(t) {
				out = append(out, th["name"].(string))
			}
			return out
		}
		asc, desc := names("/Things?$orderby=name"), names("/Things?$orderby=name%20desc")
		if !sort.StringsAreSorted(asc) || len(asc) < 2 {
			t.Errorf("$orderby=name: %v", asc)
		}
		if slices.Reverse(desc); !slices.Equal(asc, desc) {
			t.Errorf("$orderby=name desc reversed %v, want %v", desc, asc)
		}
		obs := f.get(t, "/Observations?$orderby=phenomenonTime%20desc,result%20asc&$top=50").ok(t, "orderby").values(t)
		for i := 1; i < len(obs); i++ {
			a, b := obs[i-1]["phenomenonTime"].(string), obs[i]["phenomenonTime"].(string)
			if a < b || a == b && float(t, obs[i-1]["result"]) > float(t, obs[i]["result"]) {
				t.Fatalf("not phenomenonTime desc, result asc at %d: %v then %v", i, obs[i-1], obs[i])
			}
		}
		if latest := obs[0]["phenomenonTime"].(string); !strings.HasSuffix(latest, day0.Add(time.Duration(minutes)*time.Minute).Format(time.RFC3339)) {
			t.Errorf("latest observation %s, want the minute before %s", latest, day0.Add(time.Duration(minutes)*time.Minute))
		}
	})
}

// req/request-data/select (9.3.3.2): only the selected properties; a
// selected navigation property gives its link.
func TestSelect(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		for _, o := range f.get(t, "/Observations?$select=result,phenomenonTime&$top=5").ok(t, "select").values(t) {
			if len(o) != 2 || o["result"] == nil || o["phenomenonTime"] == nil {
				t.Fatalf("$select=result,phenomenonTime gave %v", o)
			}
		}
		for _, th := range f.get(t, "/Things?$select=id,name,Datastreams").ok(t, "select nav").values(t) {
			if th["@iot.id"] == nil || th["name"] == nil || th["Datastreams@iot.navigationLink"] == nil || th["description"] != nil ||
				th["Locations@iot.navigationLink"] != nil {
				t.Fatalf("$select=id,name,Datastreams gave %v", th)
			}
		}
		errorOf(t, f.get(t, "/Things?$select=colour"), http.StatusBadRequest, "$select")
	})
}

// req/request-data/expand (9.3.2.1): related entities inline, to-one as
// an object, to-many as an array with its own options, nested with ";"
// and with "/"; an expanded collection longer than its $top has its own
// nextLink, and following it gives the rest.
func TestExpand(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		for _, th := range f.get(t, "/Things?$expand=Datastreams,Locations").ok(t, "expand").values(t) {
			ds, _ := th["Datastreams"].([]any)
			locs, _ := th["Locations"].([]any)
			if len(ds) != len(seededQuantities) || len(locs) != 1 {
				t.Fatalf("Thing %v: %d Datastreams, %d Locations", th["@iot.id"], len(ds), len(locs))
			}
			// Each parent's own: a Location's @iot.id is its Thing's, and
			// the Datastreams are the Thing's.
			if num(t, locs[0].(map[string]any)["@iot.id"]) != num(t, th["@iot.id"]) {
				t.Errorf("Thing %v expands Location %v", th["@iot.id"], locs[0].(map[string]any)["@iot.id"])
			}
			for _, d := range ds {
				id := num(t, d.(map[string]any)["@iot.id"])
				own := f.get(t, fmt.Sprintf("/Datastreams(%d)/Thing?$select=id", id)).ok(t, "Thing")
				if num(t, own.json["@iot.id"]) != num(t, th["@iot.id"]) {
					t.Errorf("Thing %v expands Datastream %d of Thing %v", th["@iot.id"], id, own.json["@iot.id"])
				}
			}
		}
		for _, d := range f.get(t, "/Datastreams?$expand=Observations($orderby=phenomenonTime%20desc;$top=1;$select=id)").ok(t, "latest ids").values(t) {
			obs, _ := d["Observations"].([]any)
			if len(obs) != 1 || num(t, obs[0].(map[string]any)["@iot.id"])/100000000 != num(t, d["@iot.id"]) {
				t.Errorf("Datastream %v expands %v", d["@iot.id"], obs)
			}
		}
		term := f.published()[0]
		ds := term.datastreams[0]
		r := f.get(t, fmt.Sprintf("/Datastreams(%d)?$expand=Thing($select=name),Sensor,ObservedProperty", ds.ID)).ok(t, "expand one")
		thing, _ := r.json["Thing"].(map[string]any)
		if thing["name"] != term.name || len(thing) != 1 {
			t.Errorf("Datastream's Thing($select=name): %v", thing)
		}
		if _, ok := r.json["Sensor"].(map[string]any); !ok {
			t.Errorf("Datastream's Sensor: %v", r.json["Sensor"])
		}
		// The latest observation of every datastream (a dashboard's shape).
		latest := f.get(t, "/Datastreams?$expand=Observations($orderby=phenomenonTime%20desc;$top=1;$select=result,phenomenonTime)").ok(t, "latest").values(t)
		for _, d := range latest {
			obs, _ := d["Observations"].([]any)
			if len(obs) != 1 {
				t.Fatalf("Datastream %v: %d latest observations", d["@iot.id"], len(obs))
			}
			next, _ := d["Observations@iot.nextLink"].(string)
			if next == "" {
				t.Fatalf("Datastream %v: no Observations@iot.nextLink", d["@iot.id"])
			}
			rest, _ := f.walk(t, next, 1000)
			all := append([]map[string]any{obs[0].(map[string]any)}, rest...)
			for i := 1; i < len(all); i++ {
				if all[i-1]["phenomenonTime"].(string) <= all[i]["phenomenonTime"].(string) {
					t.Fatalf("expanded nextLink left phenomenonTime desc: %v then %v", all[i-1], all[i])
				}
				if len(all[i]) != 2 {
					t.Fatalf("expanded nextLink lost $select: %v", all[i])
				}
			}
			want := f.get(t, fmt.Sprintf("/Datastreams(%d)/Observations?$top=0&$count=true", num(t, d["@iot.id"]))).ok(t, "count")
			if int64(len(all)) != num(t, want.json["@iot.count"]) {
				t.Fatalf("Datastream %v: the expansion and its nextLinks gave %d observations, the count is %v", d["@iot.id"], len(all), want.json["@iot.count"])
			}
		}
		// Nested with ";" and with "/", and $count inside.
		nested := f.get(t, "/Things?$expand=Datastreams($expand=Observations($top=2;$count=true);$select=id)").ok(t, "nested").values(t)
		slash := f.get(t, "/Things?$expand=Datastreams/Observations($top=2;$count=true)").ok(t, "slash").values(t)
		for i, th := range nested {
			for j, d := range th["Datastreams"].([]any) {
				d := d.(map[string]any)
				obs, _ := d["Observations"].([]any)
				if len(obs) != 2 || num(t, d["Observations@iot.count"]) < 2 {
					t.Fatalf("nested Observations: %v", d)
				}
				other := slash[i]["Datastreams"].([]any)[j].(map[string]any)
				if fmt.Sprint(other["Observations"]) != fmt.Sprint(obs) {
					t.Fatalf("Datastreams/Observations differs from Datastreams($expand=Observations)")
				}
			}
		}
		// Deeper than two levels is refused.
		errorOf(t, f.get(t, "/Things?$expand=Datastreams/Observations/FeatureOfInterest"), http.StatusBadRequest, "$expand")
		errorOf(t, f.get(t, "/Things?$expand=Sensors"), http.StatusBadRequest, "$expand")
	})
}

// req/request-data/filter (9.3.3.5): comparisons, logic, paths through
// related entities, functions; a bad filter is 400 with its position.
func TestFilter(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		count := func(u string) int64 {
			t.Helper()
			return num(t, f.get(t, u+"&$top=0&$count=true").ok(t, u).json["@iot.count"])
		}
		// result gt 420 is every CO2 minute but those at 420 (i%11 == 0),
		// and no PM minute.
		want := int64(0)
		for _, term := range f.published() {
			if term.site.Indoor {
				continue // its CO2 is hourly: means above 420 too
			}
			for m := 0; m < minutes; m++ {
				if value("co2", m) > 420 {
					want++
				}
			}
		}
		want += int64(clock.Truncate(time.Hour).Sub(day0) / time.Hour) // indoor hours: means of 420..430
		if got := count("/Observations?$filter=" + q("result gt 420")); got != want {
			t.Errorf("result gt 420: %d, want %d", got, want)
		}
		if got := count("/Datastreams?$filter=" + q("ObservedProperty/name eq 'PM10'")); got != int64(len(f.published())) {
			t.Errorf("Datastreams of PM10: %d, want %d", got, len(f.published()))
		}
		if got := count("/Things?$filter=" + q("startswith(name,'Pohland') or properties/quarter eq 'Johannstadt'")); got != 2 {
			t.Errorf("startswith or quarter: %d, want 2", got)
		}
		if got := count("/Observations?$filter=" + q("Datastream/Thing/name eq 'Pohlandplatz' and not (result lt 400)")); got != int64(minutes) {
			t.Errorf("Pohlandplatz's CO2 by path and not: %d, want %d", got, minutes)
		}
		// Geospatial: a polygon around Dresden holds both; a point near
		// Pohlandplatz is within 0.01 degrees of one.
		dresden := "geography'POLYGON((13.6 50.9, 13.9 50.9, 13.9 51.2, 13.6 51.2, 13.6 50.9))'"
		if got := count("/Locations?$filter=" + q("st_within(location, "+dresden+")")); got != 2 {
			t.Errorf("st_within Dresden: %d, want 2", got)
		}
		if got := count("/Locations?$filter=" + q("geo.distance(location, geography'POINT(13.79 51.045)') lt 0.01")); got != 1 {
			t.Errorf("geo.distance: %d, want 1", got)
		}
		// Errors name the option, the position and the reason.
		for _, tc := range []struct{ filter, says string }{
			{"name eq", "$filter at 7"},
			{"colour eq 'red'", "$filter at 0"},
			{"name eq 'x' and", "$filter at"},
			{"result gt 'high'", "$filter at"},
			{"startswith(name)", "$filter at"},
		} {
			errorOf(t, f.get(t, "/Things?$filter="+q(tc.filter)), http.StatusBadRequest, tc.says)
		}
	})
}

// The dataArray format (14.3): one member per Datastream with the
// components and one array per Observation, in $select's order.
func TestDataArray(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ds := f.published()[0].datastreams[0]
		r := f.get(t, fmt.Sprintf("/Datastreams(%d)/Observations?$resultFormat=dataArray&$select=result,phenomenonTime&$orderby=phenomenonTime&$top=1000", ds.ID)).ok(t, "dataArray")
		groups := r.values(t)
		if len(groups) != 1 || groups[0]["Datastream@iot.navigationLink"] != fmt.Sprintf("%s/Datastreams(%d)", f.base, ds.ID) {
			t.Fatalf("dataArray groups: %v", groups)
		}
		comp, _ := groups[0]["components"].([]any)
		if fmt.Sprint(comp) != "[result phenomenonTime]" {
			t.Fatalf("components %v, want [result phenomenonTime]", comp)
		}
		rows, _ := groups[0]["dataArray"].([]any)
		if len(rows) != minutes || num(t, groups[0]["dataArray@iot.count"]) != int64(minutes) {
			t.Fatalf("%d rows, count %v; want %d", len(rows), groups[0]["dataArray@iot.count"], minutes)
		}
		for i, row := range rows {
			v := row.([]any)
			if float(t, v[0]) != value(ds.Quantity, i) || !strings.HasPrefix(v[1].(string), day0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339)) {
				t.Fatalf("row %d: %v", i, v)
			}
		}
		// Every Observation, paged: each exactly once, grouped by Datastream.
		seen := map[string]bool{}
		total := 0
		for u := f.base + "/Observations?$resultFormat=dataArray&$top=250"; u != ""; {
			r := f.get(t, u).ok(t, u)
			u, _ = r.json["@iot.nextLink"].(string)
			for _, g := range r.values(t) {
				comp := g["components"].([]any)
				if comp[0] != "id" {
					t.Fatalf("default components %v start without id", comp)
				}
				for _, row := range g["dataArray"].([]any) {
					id := fmt.Sprint(row.([]any)[0])
					if seen[id] {
						t.Fatalf("Observation %s twice", id)
					}
					seen[id] = true
					total++
				}
			}
		}
		if total != f.expectedObservations() {
			t.Fatalf("dataArray pages held %d observations, want %d", total, f.expectedObservations())
		}
		errorOf(t, f.get(t, "/Things?$resultFormat=dataArray"), http.StatusBadRequest, "$resultFormat")
	})
}

// Property paths, $value and $ref (9.2.4 to 9.2.7).
func TestPropertyValueRef(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		term := f.published()[0]
		thing := fmt.Sprintf("/Things(%d)", term.num)
		if r := f.get(t, thing+"/name").ok(t, "name"); len(r.json) != 1 || r.json["name"] != term.name {
			t.Errorf("%s/name: %s", thing, r.body)
		}
		if r := f.get(t, thing+"/name/$value"); r.status != http.StatusOK || string(r.body) != term.name ||
			!strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s/name/$value: %d %q %s", thing, r.status, r.body, r.header.Get("Content-Type"))
		}
		if r := f.get(t, thing+"/properties/quarter").ok(t, "member"); r.json["quarter"] != term.quarter {
			t.Errorf("%s/properties/quarter: %s", thing, r.body)
		}
		errorOf(t, f.get(t, thing+"/properties/colour"), http.StatusNotFound, "colour")
		refs := f.get(t, "/Things/$ref").ok(t, "refs").values(t)
		if len(refs) != len(f.published()) {
			t.Fatalf("Things/$ref: %v", refs)
		}
		for _, ref := range refs {
			if len(ref) != 1 || !strings.HasPrefix(fmt.Sprint(ref["@iot.selfLink"]), f.base+"/Things(") {
				t.Errorf("a $ref holds only the selfLink: %v", ref)
			}
		}
		ds := term.datastreams[0]
		r := f.get(t, fmt.Sprintf("/Datastreams(%d)/Thing/$ref", ds.ID)).ok(t, "ref")
		if len(r.json) != 1 || r.json["@iot.selfLink"] != fmt.Sprintf("%s/Things(%d)", f.base, term.num) {
			t.Errorf("Datastream's Thing/$ref: %s", r.body)
		}
		// Navigation chains.
		locs := f.get(t, fmt.Sprintf("/Datastreams(%d)/Thing/Locations", ds.ID)).ok(t, "chain").values(t)
		if len(locs) != 1 {
			t.Errorf("Datastream's Thing's Locations: %v", locs)
		}
		obs := f.get(t, fmt.Sprintf("/Things(%d)/Datastreams(%d)/Observations?$top=1", term.num, ds.ID)).ok(t, "obs").values(t)
		oid := num(t, obs[0]["@iot.id"])
		if r := f.get(t, fmt.Sprintf("/Observations(%d)/Datastream", oid)).ok(t, "back"); num(t, r.json["@iot.id"]) != ds.ID {
			t.Errorf("Observation's Datastream: %s", r.body)
		}
		if r := f.get(t, fmt.Sprintf("/Observations(%d)/FeatureOfInterest", oid)).ok(t, "foi"); r.json["feature"] == nil {
			t.Errorf("Observation's FeatureOfInterest: %s", r.body)
		}
	})
}

// req/request-data/status-code: 404 for what does not exist, 400 for a
// malformed path or option, 405 for anything but reading; never 500.
func TestStatusCodes(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		term := f.published()[0]
		other := f.published()[1]
		for _, tc := range []struct {
			path   string
			status int
			says   string
		}{
			{"/Things(999999)", http.StatusNotFound, "Things(999999)"},
			{"/Things('abc')", http.StatusNotFound, ""},
			{"/Thingz", http.StatusNotFound, "Thingz"},
			{fmt.Sprintf("/Things(%d)/Datastreams(%d)", term.num, other.datastreams[0].ID), http.StatusNotFound, ""},
			{"/Things(999999)/Datastreams", http.StatusNotFound, ""},
			{"/Things(x)", http.StatusBadRequest, "whole number"},
			{"/Things/Datastreams", http.StatusBadRequest, "collection"},
			{"/Things?$top=-1", http.StatusBadRequest, "$top"},
			{"/Things?$top=many", http.StatusBadRequest, "$top"},
			{"/Things?$skip=x", http.StatusBadRequest, "$skip"},
			{"/Things?$count=maybe", http.StatusBadRequest, "$count"},
			{"/Things?$orderby=colour", http.StatusBadRequest, "$orderby"},
			{"/Things?$bogus=1", http.StatusBadRequest, "$bogus"},
			{"/Things?$filter=%zz", http.StatusBadRequest, "query"},
		} {
			errorOf(t, f.get(t, tc.path), tc.status, tc.says)
		}
		r := fetch(t, http.MethodPost, f.base+"/Things")
		errorOf(t, r, http.StatusMethodNotAllowed, "read-only")
		if !strings.Contains(r.header.Get("Allow"), "GET") {
			t.Errorf("405 without Allow: %v", r.header)
		}
		if r := fetch(t, http.MethodHead, f.base+"/Things"); r.status != http.StatusOK || len(r.body) != 0 {
			t.Errorf("HEAD: %d, %d bytes", r.status, len(r.body))
		}
		errorOf(t, f.get(t, "/Things?$filter="+strings.Repeat("x", 9000)), http.StatusRequestURITooLong, "URL")
	})
}

// Browser clients (Masterportal) read across origins; answers are
// cacheable for a short time; no cookies.
func TestHeaders(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		r := f.get(t, "/Things").ok(t, "Things")
		if r.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.header.Get("Cache-Control"), "max-age=") ||
			r.header.Get("Set-Cookie") != "" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("headers: %v", r.header)
		}
		if r := fetch(t, http.MethodOptions, f.base+"/Things"); r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("preflight: %d %v", r.status, r.header)
		}
		if r := f.get(t, "/Things?$top=1"); !bytes.Contains(r.body, []byte("$top=1&$skip=1")) {
			t.Errorf("the nextLink's & is escaped: %s", r.body)
		}
		if r := f.get(t, "/Thingz"); r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("an error without CORS: %v", r.header)
		}
		// Pages are gzipped for clients that accept it (Go's client then
		// leaves the body compressed), and read back the same.
		req, _ := http.NewRequest(http.MethodGet, f.base+"/Observations?$top=200", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("no gzip: %v", res.Header)
		}
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if plain := f.get(t, "/Observations?$top=200").ok(t, "plain"); !bytes.Equal(unzipped, plain.body) {
			t.Errorf("gzipped page differs from the plain one")
		}
	})
}

var _ = json.Number("")

// An expanded collection is each parent's own, as its navigation path
// gives it: the same entities in the same order and the same next page,
// however the server reads a page of parents' expansions together.
func TestExpandedEqualsEachParentsOwn(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		opts := "$orderby=phenomenonTime%20desc;$top=3;$select=id,result"
		for _, d := range f.get(t, "/Datastreams?$top=1000&$expand=Observations("+opts+")").ok(t, "expanded").values(t) {
			id := num(t, d["@iot.id"])
			own := f.get(t, fmt.Sprintf("/Datastreams(%d)/Observations?$orderby=phenomenonTime%%20desc&$top=3&$select=id,result", id)).ok(t, "own")
			got, _ := json.Marshal(d["Observations"])
			want, _ := json.Marshal(own.json["value"])
			if string(got) != string(want) {
				t.Errorf("Datastream %d expands %s, its own Observations are %s", id, got, want)
			}
			if _, hasNext := d["Observations@iot.nextLink"]; hasNext != (own.json["@iot.nextLink"] != nil) {
				t.Errorf("Datastream %d: expanded next link %v, own %v", id, d["Observations@iot.nextLink"], own.json["@iot.nextLink"])
			}
		}
	})
}
