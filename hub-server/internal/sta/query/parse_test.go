package query

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/internal/userr"
)

// sexpr writes a tree in prefix form for comparison.
func sexpr(n *Node) string {
	switch n.Kind {
	case NodeLiteral:
		switch v := n.Value.(type) {
		case string:
			return fmt.Sprintf("%q", v)
		case time.Time:
			return v.Format(time.RFC3339Nano)
		case Interval:
			return v.Start.Format(time.RFC3339) + "/" + v.End.Format(time.RFC3339)
		case Geometry:
			return fmt.Sprintf("%s%v", v.Type, v.Polygons)
		case Duration:
			return fmt.Sprintf("P%dM%s", v.Months, v.D)
		case nil:
			return "null"
		}
		return fmt.Sprint(n.Value)
	case NodePath:
		return strings.Join(n.Path, "/")
	}
	var args []string
	for _, a := range n.Args {
		args = append(args, sexpr(a))
	}
	return "(" + n.Op + " " + strings.Join(args, " ") + ")"
}

// TestParseFilter: the examples of OGC 18-088 (SensorThings API 1.1)
// section 9.3.3.5.1 (built-in operators, table 25) and 9.3.3.5.2
// (built-in functions, table 26), and the precedence of OData 4.0 part 2
// section 5.1.1 (which 9.3.3.5 refers to).
func TestParseFilter(t *testing.T) {
	for _, c := range []struct{ set, filter, want string }{
		// 9.3.3.5.1 comparison operators
		{"ObservedProperties", "name eq 'IlluminanceLevel'", `(eq name "IlluminanceLevel")`},
		{"Observations", "result ne 10", "(ne result 10)"},
		{"Observations", "result gt 10", "(gt result 10)"},
		{"Observations", "result ge 10", "(ge result 10)"},
		{"Observations", "result lt 10", "(lt result 10)"},
		{"Observations", "result le 10", "(le result 10)"},
		// logical operators
		{"Observations", "result le 3.5 and FeatureOfInterest/id eq 1", "(and (le result 3.5) (eq FeatureOfInterest/id 1))"},
		{"Observations", "result gt 20 or result le 3.5", "(or (gt result 20) (le result 3.5))"},
		{"Things", "not startswith(description,'test')", `(not (startswith description "test"))`},
		// arithmetic operators
		{"Observations", "result add 5 eq 10", "(eq (add result 5) 10)"},
		{"Observations", "result sub 5 eq 10", "(eq (sub result 5) 10)"},
		{"Observations", "result mul 2 eq 10", "(eq (mul result 2) 10)"},
		{"Observations", "result div 2 eq 10", "(eq (div result 2) 10)"},
		{"Datastreams", "id mod 2 eq 0", "(eq (mod id 2) 0)"},
		// grouping
		{"Observations", "(result sub 5) gt 10", "(gt (sub result 5) 10)"},
		// 9.3.3.5.2 string functions
		{"Things", "substringof('Sensor Things',description)", `(substringof "Sensor Things" description)`},
		{"Things", "endswith(description,'Things')", `(endswith description "Things")`},
		{"Things", "startswith(description,'Sensor')", `(startswith description "Sensor")`},
		{"Things", "length(description) eq 13", "(eq (length description) 13)"},
		{"Things", "indexof(description,'Sensor') eq 1", `(eq (indexof description "Sensor") 1)`},
		{"Things", "substring(description,1) eq 'ensor Things'", `(eq (substring description 1) "ensor Things")`},
		{"Things", "substring(description,2,4) eq 'nsor'", `(eq (substring description 2 4) "nsor")`},
		{"Things", "tolower(description) eq 'sensor things'", `(eq (tolower description) "sensor things")`},
		{"Things", "toupper(description) eq 'SENSOR THINGS'", `(eq (toupper description) "SENSOR THINGS")`},
		{"Things", "trim(description) eq 'Sensor Things'", `(eq (trim description) "Sensor Things")`},
		{"Datastreams", "concat(concat(unitOfMeasurement/symbol,', '),unitOfMeasurement/name) eq 'degree, Celsius'",
			`(eq (concat (concat unitOfMeasurement/symbol ", ") unitOfMeasurement/name) "degree, Celsius")`},
		// date and time functions
		{"Observations", "year(resultTime) eq 2015", "(eq (year resultTime) 2015)"},
		{"Observations", "month(resultTime) eq 12", "(eq (month resultTime) 12)"},
		{"Observations", "day(resultTime) eq 8", "(eq (day resultTime) 8)"},
		{"Observations", "hour(resultTime) eq 1", "(eq (hour resultTime) 1)"},
		{"Observations", "minute(resultTime) eq 0", "(eq (minute resultTime) 0)"},
		{"Observations", "second(resultTime) eq 0", "(eq (second resultTime) 0)"},
		{"Observations", "resultTime le now()", "(le resultTime (now ))"},
		{"Observations", "resultTime gt mindatetime()", "(gt resultTime (mindatetime ))"},
		{"Observations", "resultTime lt maxdatetime()", "(lt resultTime (maxdatetime ))"},
		{"Observations", "date(phenomenonTime) eq 2015-12-08", "(eq (date phenomenonTime) 2015-12-08T00:00:00Z)"},
		// math functions
		{"Observations", "round(result) eq 32", "(eq (round result) 32)"},
		{"Observations", "floor(result) eq 32", "(eq (floor result) 32)"},
		{"Observations", "ceiling(result) eq 33", "(eq (ceiling result) 33)"},
		// geospatial functions
		{"Locations", "geo.distance(location, geography'POINT(-122 43)') gt 1", "(gt (geo.distance location POINT[[[[-122 43]]]]) 1)"},
		{"Locations", "geo.intersects(location, geography'POLYGON((0 0, 1 0, 1 1, 0 0))')", "(geo.intersects location POLYGON[[[[0 0] [1 0] [1 1] [0 0]]]])"},
		{"Locations", "st_equals(location, geography'POINT(-122 43)')", "(st_equals location POINT[[[[-122 43]]]])"},
		{"Locations", "st_disjoint(location, geography'POINT(-122 43)')", "(st_disjoint location POINT[[[[-122 43]]]])"},
		{"Locations", "st_within(location, geography'POLYGON((30 10, 10 20, 20 40, 40 40, 30 10))')", "(st_within location POLYGON[[[[30 10] [10 20] [20 40] [40 40] [30 10]]]])"},
		{"Locations", "st_intersects(location, geography'POINT(-122 43)')", "(st_intersects location POINT[[[[-122 43]]]])"},
		{"Locations", "st_contains(geography'POLYGON((30 10, 10 20, 20 40, 40 40, 30 10))', location)", "(st_contains POLYGON[[[[30 10] [10 20] [20 40] [40 40] [30 10]]]] location)"},
		// FROST's deep search example (paths through related entities)
		{"Things", "st_within(Locations/location, geography'POLYGON((7.5 51.5, 7.5 53.5, 8.5 53.5, 8.5 51.5, 7.5 51.5))')",
			"(st_within Locations/location POLYGON[[[[7.5 51.5] [7.5 53.5] [8.5 53.5] [8.5 51.5] [7.5 51.5]]]])"},
		// precedence: and binds tighter than or; comparison than and;
		// mul than add; not reaches over a comparison
		{"Observations", "result gt 1 or result lt 2 and result eq 3", "(or (gt result 1) (and (lt result 2) (eq result 3)))"},
		{"Observations", "result add 2 mul 3 eq 11", "(eq (add result (mul 2 3)) 11)"},
		{"Things", "not name eq 'x' and name ne 'y'", `(and (not (eq name "x")) (ne name "y"))`},
		{"Observations", "-result lt -3", "(lt (neg result) -3)"},
		{"Observations", "result lt -3.5e1", "(lt result -35)"},
		// literals
		{"Things", "name eq 'it''s'", `(eq name "it's")`},
		{"Things", "name eq null", "(eq name null)"},
		{"Things", "properties/indoor eq true", "(eq properties/indoor true)"},
		{"Observations", "phenomenonTime ge 2026-12-06T10:00:00Z", "(ge phenomenonTime 2026-12-06T10:00:00Z)"},
		{"Observations", "phenomenonTime ge 2026-12-06T11:00:00+01:00", "(ge phenomenonTime 2026-12-06T10:00:00Z)"},
		{"Observations", "phenomenonTime ge 2026-12-06T10:00:00.5Z", "(ge phenomenonTime 2026-12-06T10:00:00.5Z)"},
		{"Observations", "phenomenonTime eq 2026-12-06T10:00:00Z/2026-12-06T10:01:00Z", "(eq phenomenonTime 2026-12-06T10:00:00Z/2026-12-06T10:01:00Z)"},
		{"Observations", "resultTime gt now() sub duration'P1DT2H'", "(gt resultTime (sub (now ) P0M26h0m0s))"},
		{"Observations", "resultTime gt 2026-12-06T10:00:00Z sub duration'P1M'", "(gt resultTime (sub 2026-12-06T10:00:00Z P1M0s))"},
		{"Observations", "@iot.id eq 1", "(eq @iot.id 1)"},
		{"Observations", "Datastream/@iot.id eq 1", "(eq Datastream/@iot.id 1)"},
		{"Observations", "  result   gt   1  ", "(gt result 1)"},
		{"Observations", "result GT 1 AND result Lt 2", "(and (gt result 1) (lt result 2))"},
	} {
		n, err := ParseFilter(c.set, c.filter, Limits{})
		if err != nil {
			t.Errorf("%s: %s: %v", c.set, c.filter, err)
			continue
		}
		if got := sexpr(n); got != c.want {
			t.Errorf("%s: %s\n got %s\nwant %s", c.set, c.filter, got, c.want)
		}
	}
}

// TestFilterErrors: what is refused, where and why (a 400 with the
// position, OGC 18-088 9.3.3.5 leaves the wording to the server).
func TestFilterErrors(t *testing.T) {
	for _, c := range []struct {
		set, filter string
		pos         int
		reason      string
	}{
		{"Observations", "reslt gt 3", 0, `unknown property "reslt" of Observations`},
		{"Observations", "result gt 3 and Datastream/nme eq 'x'", 16, `unknown property "nme" of Datastreams`},
		{"Observations", "result gt", 9, "expected a value, found the end"},
		{"Observations", "result gt 3 and", 15, "expected a value"},
		{"Observations", "result gt 3)", 11, `unexpected ")"`},
		{"Observations", "(result gt 3", 12, `expected ")"`},
		{"Things", "name eq 'x", 8, "string not closed"},
		{"Things", "name eq \"x\"", 8, `unexpected '"'`},
		{"Things", "nosuch(name)", 0, `unknown function "nosuch"`},
		{"Things", "time(name) eq 1", 0, "not supported"},
		{"Things", "startswith(name)", 0, "takes 2 argument"},
		{"Things", "startswith(name, 1)", 17, "needs a string"},
		{"Things", "name eq 1", 5, "cannot compare a string with a integer"},
		{"Things", "name", 0, "expected a condition"},
		{"Things", "properties eq 'x'", 0, "compare a member of properties"},
		{"Things", "properties/secret eq 'x'", 0, `unknown member "secret"`},
		{"Things", "Datastreams eq 1", 0, "name one of its properties"},
		{"Things", "name/x eq 1", 0, "has no members"},
		{"Observations", "result gt 1 div 0", 12, "division by zero"},
		{"Observations", "result mod 2 eq 0", 7, "mod needs whole numbers"},
		{"Observations", "phenomenonTime ge 2026-12-06T10:00:00Z/2026-12-06T11:00:00Z", 15, "not defined"},
		{"Observations", "phenomenonTime gt 2026-13-06T10:00:00Z", 18, "bad time"},
		{"Observations", "phenomenonTime gt 2026-12-06T11:00:00Z/2026-12-06T10:00:00Z", 18, "ends before it starts"},
		{"Observations", "resultTime sub duration'PT30S' gt now()", 15, "whole minutes"},
		{"Observations", "resultTime add duration'P1M' gt now()", 15, "months and years"},
		{"Observations", "resultTime gt duration'1D'", 14, "bad duration"},
		{"Observations", "result gt 1e999", 10, "out of range"},
		{"Locations", "st_within(location, geography'POLYGON((0 0, 1 0, 1 1))')", 20, "ring needs at least four"},
		{"Locations", "st_within(location, geography'POLYGON((0 0, x 0, 1 1, 0 0))')", 44, "bad number"},
		{"Locations", "st_within(location, geography'POLYGON((0 0, 1 0, 1 1, 0 0)')", 58, "expected \")\""}, // where the ")" is missing
		{"Locations", "st_within(location, geography'LINESTRING(0 0, 1 1)')", 20, "not supported"},
		{"Locations", "st_within(location, geography'POINT(200 0)')", 20, "not longitude latitude"},
		{"Locations", "st_within(location, geography'SRID=3857;POINT(0 0)')", 20, "only 4326"},
		{"Locations", "st_within(geography'POINT(1 1)', location)", 0, "not the reverse"},
		{"Locations", "geo.distance(location, location) lt 1", 0, "geography'POINT(x y)' literal"},
		{"Locations", "geo.length(location) lt 1", 0, "not supported"},
		{"Locations", "location eq 1", 9, "cannot compare a geometry"},
		{"Observations", "result eq gibberish'x'", 10, `unknown literal type "gibberish"`},
		{"Observations", "result gt 1 and result", 16, "expected a condition, found a number"},
		{"Observations", "result § 1", 7, `unexpected '§'`},
		{"Things", "Datastreams/Observations/result gt 1 eq Locations/name", 37, "cannot compare a boolean with a string"},
	} {
		_, err := ParseFilter(c.set, c.filter, Limits{})
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("%s: %s: error %v, want a *Error", c.set, c.filter, err)
			continue
		}
		if qe.Option != "$filter" || qe.Pos != c.pos || !strings.Contains(qe.Reason, c.reason) {
			t.Errorf("%s: %s: %v, want $filter at %d: ...%s...", c.set, c.filter, err, c.pos, c.reason)
		}
		// A person may be shown it.
		if userr.Message(err, "") != qe.Error() {
			t.Errorf("%s: userr.Message = %q", c.filter, userr.Message(err, ""))
		}
	}
}

func TestFilterLimits(t *testing.T) {
	l := Limits{MaxFilterLen: 64, MaxFilterNodes: 9, MaxFilterDepth: 4, MaxPolygonPoints: 4}
	for _, c := range []struct{ filter, reason string }{
		{strings.Repeat("result gt 1 and ", 5) + "result gt 1", "longer than 64 bytes"},
		{"result gt 1 and result gt 2 and result gt 3 and result gt 4", "more than 9 parts"},
		{"(((((result gt 1)))))", "nested deeper than 4"},
		{"not not not not not result gt 1", "nested deeper than 4"},
	} {
		set := "Observations"
		if strings.Contains(c.filter, "location") {
			set = "Locations"
		}
		_, err := ParseFilter(set, c.filter, l)
		if err == nil || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v, want %q", c.filter, err, c.reason)
		}
	}
	_, err := ParseFilter("Locations", "st_within(location, geography'POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))')", Limits{MaxPolygonPoints: 4})
	if err == nil || !strings.Contains(err.Error(), "more than 4 positions") {
		t.Errorf("polygon: %v", err)
	}
}

// rawQuery splits a URL's query as the SensorThings handler does: at
// "&" only (";" separates $expand's options), each side unescaped.
func rawQuery(raw string) (map[string][]string, error) {
	v := map[string][]string{}
	for _, kv := range strings.Split(raw, "&") {
		k, val, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return nil, err
		}
		if val, err = url.QueryUnescape(val); err != nil {
			return nil, err
		}
		v[k] = append(v[k], val)
	}
	return v, nil
}

// TestParseOptions: OGC 18-088 9.3.2 (the options, their order of
// application), 9.3.3 ($orderby, $top, $skip, $count, $filter) and 9.3.2.1
// / 9.3.2.2 ($expand, $select), with the spec's examples.
func TestParseOptions(t *testing.T) {
	o := mustOptions(t, "Things", "$expand=Datastreams/ObservedProperty")
	if len(o.Expand) != 1 || o.Expand[0].Property != "Datastreams" || len(o.Expand[0].Options.Expand) != 1 || o.Expand[0].Options.Expand[0].Property != "ObservedProperty" {
		t.Errorf("nested expand: %+v", o.Expand)
	}
	o = mustOptions(t, "Datastreams", "$expand=Observations($filter=result eq 1;$expand=FeatureOfInterest;$select=@iot.id;$orderby=id;$top=5),ObservedProperty")
	if len(o.Expand) != 2 {
		t.Fatalf("expand: %+v", o.Expand)
	}
	ob := o.Expand[0].Options
	if ob.Filter == nil || ob.Top != 5 || !ob.TopGiven || len(ob.OrderBy) != 1 || len(ob.Expand) != 1 || ob.Expand[0].Property != "FeatureOfInterest" || len(ob.Select) != 1 || ob.Select[0] != "id" {
		t.Errorf("expand options: %+v", ob)
	}
	if o.Expand[1].Options.Top != DefaultLimits().DefaultTop {
		t.Errorf("default top in expand: %d", o.Expand[1].Options.Top)
	}
	o = mustOptions(t, "Things", "$expand=Datastreams/Sensor,Datastreams/ObservedProperty")
	if len(o.Expand) != 1 || len(o.Expand[0].Options.Expand) != 2 {
		t.Errorf("merged expand: %+v", o.Expand)
	}
	o = mustOptions(t, "Things", "$select=name,description,Datastreams&$orderby=name desc,id&$top=20000&$skip=3&$count=true&custom=1")
	if len(o.Select) != 3 || len(o.OrderBy) != 2 || !o.OrderBy[0].Desc || o.OrderBy[1].Desc || o.Top != DefaultLimits().MaxTop || o.Skip != 3 || !o.Count {
		t.Errorf("options: %+v", o)
	}
	o = mustOptions(t, "Observations", "$resultFormat=dataArray&$select=result,phenomenonTime")
	if o.ResultFormat != "dataArray" {
		t.Errorf("resultFormat: %+v", o)
	}
	o = mustOptions(t, "Things", "")
	if o.Top != DefaultLimits().DefaultTop || o.TopGiven {
		t.Errorf("default top: %+v", o)
	}

	for _, c := range []struct {
		set, query, option string
		pos                int
		reason             string
	}{
		{"Things", "$foo=1", "$foo", 0, "unknown query option"},
		{"Things", "$top=-1", "$top", 0, "whole number"},
		{"Things", "$top=1x", "$top", 0, "whole number"},
		{"Things", "$skip=99999999999999999999", "$skip", 0, "whole number"},
		{"Things", "$count=yes", "$count", 0, "true or false"},
		{"Things", "$resultFormat=dataArray", "$resultFormat", 0, "Observations only"},
		{"Observations", "$resultFormat=csv", "$resultFormat", 0, "only result format"},
		{"Things", "$select=name,secret", "$select", 5, `unknown property "secret"`},
		{"Things", "$orderby=name,location", "$orderby", 5, `unknown property "location"`},
		{"Locations", "$orderby=name,location", "$orderby", 5, "cannot sort by a geometry"},
		{"Observations", "$orderby=Datastream/Thing/name desc", "", 0, ""},
		{"Things", "$orderby=Datastreams/name", "$orderby", 0, "is a collection"},
		{"Things", "$expand=Sensors", "$expand", 0, `unknown navigation property "Sensors" of Things`},
		{"Things", "$expand=Datastreams/Nope", "$expand", 12, `unknown navigation property "Nope" of Datastreams`},
		{"Things", "$expand=Datastreams/Observations/FeatureOfInterest", "$expand", 0, "deeper than 2"},
		{"Things", "$expand=Datastreams($expand=Observations($expand=FeatureOfInterest))", "$expand/Datastreams/$expand/Observations/$expand", 41, "deeper than 2"},
		{"Things", "$expand=Datastreams($filter=reslt eq 1)", "$expand/Datastreams/$filter", 20, `unknown property "reslt" of Datastreams`},
		{"Things", "$expand=Datastreams($top=x)", "$expand/Datastreams/$top", 17, "whole number"},
		{"Things", "$expand=Datastreams($top=1;$top=2)", "$expand/Datastreams/$top", 24, "more than once"},
		{"Things", "$expand=Datastreams(top=1)", "$expand", 12, "$option=value"},
		{"Things", "$expand=Datastreams($top=1", "$expand", 18, `")"`},
		{"Things", "$expand=Datastreams($top=1),Datastreams($top=2)", "$expand", 20, "given twice"},
		{"Things", "$filter=name eq 'x'&$filter=name eq 'y'", "$filter", 0, "more than once"},
	} {
		v, _ := parseQuery(c.query)
		_, err := ParseOptions(c.set, v, Limits{})
		if c.reason == "" {
			if err != nil {
				t.Errorf("%s?%s: %v", c.set, c.query, err)
			}
			continue
		}
		var qe *Error
		if !errors.As(err, &qe) {
			t.Errorf("%s?%s: %v, want a *Error", c.set, c.query, err)
			continue
		}
		if qe.Option != c.option || qe.Pos != c.pos || !strings.Contains(qe.Reason, c.reason) {
			t.Errorf("%s?%s: %v, want %s at %d: ...%s...", c.set, c.query, err, c.option, c.pos, c.reason)
		}
	}
}

// TestParseOptionsURL: a real request's query string, URL-encoded as a
// client sends it (FROST's Grafana plugin and QGIS's provider shapes).
func TestParseOptionsURL(t *testing.T) {
	for _, c := range []struct{ set, raw string }{
		// Grafana (FROST plugin): a datastream's observations in the
		// dashboard's window, newest first.
		{"Observations", "%24filter=phenomenonTime%20ge%202026-12-06T00%3A00%3A00.000Z%20and%20phenomenonTime%20le%202026-12-07T00%3A00%3A00.000Z&%24orderby=phenomenonTime%20desc&%24select=phenomenonTime%2Cresult&%24top=1000"},
		// QGIS: locations in the map's extent with their things and
		// datastreams.
		{"Locations", "$filter=geo.intersects(location,geography'POLYGON((13.6 50.9,13.9 50.9,13.9 51.2,13.6 51.2,13.6 50.9))')&$expand=Things($select=@iot.id,name,description,properties;$expand=Datastreams($select=@iot.id,name,unitOfMeasurement))&$top=1000&$count=true"},
		{"Things", "$expand=Locations,Datastreams($expand=ObservedProperty,Sensor;$select=id,name)&$top=100"},
		{"Datastreams", "$filter=Thing/@iot.id eq 1&$expand=Observations($orderby=phenomenonTime desc;$top=1)"},
	} {
		v, err := rawQuery(c.raw)
		if err != nil {
			t.Fatal(err)
		}
		o, err := ParseOptions(c.set, v, Limits{})
		if err != nil {
			t.Errorf("%s?%s: %v", c.set, c.raw, err)
			continue
		}
		for _, d := range []Dialect{SQLite, Postgres} {
			if _, err := Compile(d, Target{EntitySet: c.set}, o, time.Now()); err != nil {
				t.Errorf("%s?%s: %v", c.set, c.raw, err)
			}
		}
	}
}

// TestArgumentsOnly: request text never reaches the SQL; literals are
// arguments.
func TestArgumentsOnly(t *testing.T) {
	evil := "x'); DROP TABLE terminals; --"
	o := mustOptions(t, "Things", "$filter=name eq '"+strings.ReplaceAll(evil, "'", "''")+"' or startswith(description,'Robert''); --')")
	for _, d := range []Dialect{SQLite, Postgres} {
		st, err := Compile(d, Target{EntitySet: "Things"}, o, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(st.SQL, "DROP") || strings.Contains(st.SQL, "Robert") {
			t.Errorf("%s: request text in SQL: %s", d, st.SQL)
		}
		found := false
		for _, a := range st.Args {
			found = found || a == evil
		}
		if !found || strings.Count(st.SQL, "?") != len(st.Args) {
			t.Errorf("%s: args %v for %d placeholders", d, st.Args, strings.Count(st.SQL, "?"))
		}
	}
}

func TestSchema(t *testing.T) {
	if got := strings.Join(EntitySets(), ","); got != "Things,Locations,HistoricalLocations,Datastreams,Sensors,ObservedProperties,Observations,FeaturesOfInterest" {
		t.Errorf("entity sets: %s", got)
	}
	for _, s := range EntitySets() {
		for _, n := range NavigationProperties(s) {
			if setByName(n.Target) == nil {
				t.Errorf("%s/%s leads to unknown %s", s, n.Name, n.Target)
			}
			// Every navigation has its way back (the spec's model is
			// symmetric) and compiles.
			for _, d := range []Dialect{SQLite, Postgres} {
				if _, err := Compile(d, Target{Via: &Via{Set: s, ID: 1, Property: n.Name}}, Options{Top: 1}, time.Now()); err != nil {
					t.Errorf("%s/%s: %v", s, n.Name, err)
				}
			}
		}
		if len(Properties(s)) == 0 {
			t.Errorf("%s has no properties", s)
		}
	}
	if n, ok := NavigationOf("Datastreams", "Thing"); !ok || n.Many || n.Target != "Things" {
		t.Errorf("Datastreams/Thing: %+v", n)
	}
	if _, err := Compile(SQLite, Target{EntitySet: "Nope"}, Options{}, time.Now()); err == nil {
		t.Error("unknown set compiled")
	}
	if _, err := Compile(SQLite, Target{EntitySet: "Things", Via: &Via{Set: "Datastreams", Property: "Sensor"}}, Options{}, time.Now()); err == nil {
		t.Error("inconsistent target compiled")
	}
}
