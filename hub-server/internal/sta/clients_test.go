package sta_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The query shapes real clients send, as their sources build them.

// FROST's Grafana plugin (frost-sensorthings-datasource, datasource.ts):
// the user's path gets "&$filter=phenomenonTime ge FROM and
// phenomenonTime le TO" (toISOString: milliseconds and Z) and
// "&$top=1000" appended, even right after "?"; it pages by taking the
// query of @iot.nextLink onto its own base path. The older linksmart
// plugin asks for a window with gt/lt, $select=result,phenomenonTime and
// $orderby=phenomenonTime.
func TestGrafanaPlugin(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		ds := f.published()[0].datastreams[0]
		iso := func(tm time.Time) string { return tm.UTC().Format("2006-01-02T15:04:05.000Z") }
		// The window 10:00:30 to 11:00:30 holds the minutes 10:01 to 10:59
		// whole, whichever way an interval is compared with an instant.
		from, to := day0.Add(30*time.Second), day0.Add(time.Hour+30*time.Second)
		path := fmt.Sprintf("/Datastreams(%d)/Observations", ds.ID)
		linksmart := path + "?$filter=" + q("phenomenonTime gt "+iso(from)+" and phenomenonTime lt "+iso(to)) +
			"&$select=result,phenomenonTime&$orderby=phenomenonTime%20asc&$top=20"
		var got []map[string]any
		for u := linksmart; u != ""; {
			r := f.get(t, u).ok(t, u)
			got = append(got, r.values(t)...)
			u = ""
			if next, ok := r.json["@iot.nextLink"].(string); ok {
				// As the plugin pages: the nextLink's query on its own base path.
				_, query, _ := strings.Cut(next, "?")
				u = path + "?" + query
			}
		}
		if len(got) != 59 {
			t.Fatalf("the window gave %d observations, want 59", len(got))
		}
		for i, o := range got {
			if len(o) != 2 || !strings.HasPrefix(o["phenomenonTime"].(string), day0.Add(time.Duration(i+1)*time.Minute).Format(time.RFC3339)) ||
				float(t, o["result"]) != value(ds.Quantity, i+1) {
				t.Fatalf("observation %d: %v", i, o)
			}
		}
		frost := path + "?" + "&$filter=" + q("phenomenonTime ge "+iso(from)+" and phenomenonTime le "+iso(to)) + "&$top=1000"
		r := f.get(t, frost).ok(t, "FROST plugin")
		if n := len(r.values(t)); n < 59 || n > 61 {
			t.Errorf("the FROST plugin's window gave %d observations, want 59 to 61", n)
		}
		// Its table's column filter: startswith, $count, $skip, $top.
		things := f.get(t, "/Things?$filter="+q("startswith(name,'Pohl')")+"&$count=true&$skip=0&$top=10").ok(t, "selection")
		if num(t, things.json["@iot.count"]) != 1 || things.values(t)[0]["name"] != "Pohlandplatz" {
			t.Errorf("startswith selection: %s", things.body)
		}
	})
}

// QGIS's SensorThings provider (src/core/providers/sensorthings): it
// finds the entity set's URL in the service root, counts with
// "?$top=0&$count=true", asks pages of "?$top=N&$count=false&$filter=…"
// with geo.intersects on the map's extent and the expansion (Locations →
// Things → Datastreams with $top=10), and follows @iot.nextLink,
// replacing its $top.
func TestQGISProvider(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		var locations string
		for _, v := range f.get(t, f.base).ok(t, "root").values(t) {
			if v["name"] == "Locations" {
				locations = v["url"].(string)
			}
		}
		if locations == "" {
			t.Fatal("no Locations in the service root")
		}
		count := func(filter string) int64 {
			u := locations + "?$top=0&$count=true"
			if filter != "" {
				u += "&$filter=" + q(filter)
			}
			return num(t, f.get(t, u).ok(t, u).json["@iot.count"])
		}
		if n := count(""); n != int64(len(f.published())) {
			t.Errorf("feature count %d, want %d", n, len(f.published()))
		}
		extent := "geo.intersects(location, geography'POLYGON((13.6 50.9, 13.9 50.9, 13.9 51.2, 13.6 51.2, 13.6 50.9))')"
		u := locations + "?$top=1&$count=false&$filter=" + q(extent) +
			"&$expand=" + q("Things($expand=Datastreams($top=10))")
		var got []map[string]any
		for page := 0; u != ""; page++ {
			if page > 10 {
				t.Fatal("nextLink loops")
			}
			r := f.get(t, u).ok(t, u)
			got = append(got, r.values(t)...)
			u, _ = r.json["@iot.nextLink"].(string)
			if u != "" {
				// QGIS rewrites the page size in the link it follows.
				u = strings.Replace(u, "$top=1", "$top=100", 1)
			}
		}
		if len(got) != len(f.published()) {
			t.Fatalf("%d Locations in the extent, want %d", len(got), len(f.published()))
		}
		for _, loc := range got {
			things, _ := loc["Things"].([]any)
			if len(things) != 1 {
				t.Fatalf("Location %v: Things %v", loc["@iot.id"], loc["Things"])
			}
			ds, _ := things[0].(map[string]any)["Datastreams"].([]any)
			if len(ds) != len(seededQuantities) {
				t.Fatalf("Location %v: %d Datastreams", loc["@iot.id"], len(ds))
			}
		}
		// Outside the extent: nothing.
		far := "geo.intersects(location, geography'POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))')"
		if n := count(far); n != 0 {
			t.Errorf("locations far away: %d", n)
		}
	})
}

// QGIS probes which geometry types a layer has, and then filters every
// page by the chosen one (QgsSensorThingsUtils::filterForWkbType).
func TestQGISGeometryTypeFilter(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		for geom, want := range map[string]int{"Point": len(f.published()), "LineString": 0, "Polygon": 0} {
			filter := "location/type eq '" + geom + "' or location/geometry/type eq '" + geom + "'"
			r := f.get(t, "/Locations?$top=0&$count=true&$filter="+q(filter)).ok(t, geom)
			if n := num(t, r.json["@iot.count"]); n != int64(want) {
				t.Errorf("%s locations: %d, want %d", geom, n, want)
			}
		}
	})
}

// The same filter on the other entity sets QGIS gives a geometry:
// FeaturesOfInterest (feature) and Datastreams (observedArea, QGIS 3.40
// on); and what can not be asked of a point.
func TestQGISGeometryTypeFilterOtherSets(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		for set, field := range map[string]string{"FeaturesOfInterest": "feature", "Datastreams": "observedArea"} {
			all := num(t, f.get(t, "/"+set+"?$top=0&$count=true").ok(t, set).json["@iot.count"])
			if all == 0 {
				t.Fatalf("no %s", set)
			}
			for geom, want := range map[string]int64{"Point": all, "LineString": 0, "Polygon": 0} {
				filter := field + "/type eq '" + geom + "' or " + field + "/geometry/type eq '" + geom + "'"
				r := f.get(t, "/"+set+"?$top=0&$count=true&$filter="+q(filter)).ok(t, set+" "+geom)
				if n := num(t, r.json["@iot.count"]); n != want {
					t.Errorf("%s %s: %d, want %d", set, geom, n, want)
				}
			}
		}
		for _, filter := range []string{"location/coordinates eq 1", "location/name eq 'x'"} {
			if r := f.get(t, "/Locations?$filter="+q(filter)); r.status != 400 {
				t.Errorf("%s: %d %s, want 400", filter, r.status, r.body)
			}
		}
	})
}
