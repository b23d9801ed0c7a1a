package sta

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/sta/query"
)

func TestParsePath(t *testing.T) {
	type want struct {
		segs       []string // "Set" or "Set(id)" per segment, by entity set
		prop       string
		value, ref bool
		collection bool
	}
	for _, tc := range []struct {
		path string
		want want
	}{
		{"", want{}},
		{"/", want{}},
		{"/Things", want{segs: []string{"Things"}, collection: true}},
		{"/Things/", want{segs: []string{"Things"}, collection: true}},
		{"/Things(1)", want{segs: []string{"Things(1)"}}},
		{"/Things(1)/Datastreams", want{segs: []string{"Things(1)", "Datastreams"}, collection: true}},
		{"/Things(1)/Datastreams(5)", want{segs: []string{"Things(1)", "Datastreams(5)"}}},
		{"/Datastreams(5)/Thing", want{segs: []string{"Datastreams(5)", "Things"}}},
		{"/Datastreams(5)/Thing/Locations", want{segs: []string{"Datastreams(5)", "Things", "Locations"}, collection: true}},
		{"/Observations(500000001)/FeatureOfInterest", want{segs: []string{"Observations(500000001)", "FeaturesOfInterest"}}},
		{"/Things(1)/name", want{segs: []string{"Things(1)"}, prop: "name"}},
		{"/Things(1)/name/$value", want{segs: []string{"Things(1)"}, prop: "name", value: true}},
		{"/Things(1)/properties/quarter", want{segs: []string{"Things(1)"}, prop: "properties/quarter"}},
		{"/Datastreams(5)/Thing/name", want{segs: []string{"Datastreams(5)", "Things"}, prop: "name"}},
		{"/Things/$ref", want{segs: []string{"Things"}, ref: true, collection: true}},
		{"/Things(1)/Datastreams/$ref", want{segs: []string{"Things(1)", "Datastreams"}, ref: true, collection: true}},
		{"/Datastreams(5)/Thing/$ref", want{segs: []string{"Datastreams(5)", "Things"}, ref: true}},
	} {
		rp, err := parsePath(tc.path)
		if err != nil {
			t.Errorf("parsePath(%q): %v", tc.path, err)
			continue
		}
		var segs []string
		for _, s := range rp.Segs {
			d := s.Set
			if s.HasID {
				d += "(" + itoa(s.ID) + ")"
			}
			segs = append(segs, d)
		}
		got := want{segs: segs, prop: strings.Join(rp.Prop, "/"), value: rp.Value, ref: rp.Ref, collection: rp.Collection()}
		if !slices.Equal(got.segs, tc.want.segs) || got.prop != tc.want.prop || got.value != tc.want.value || got.ref != tc.want.ref ||
			got.collection != tc.want.collection {
			t.Errorf("parsePath(%q) = %+v, want %+v", tc.path, got, tc.want)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	for _, tc := range []struct {
		path     string
		notFound bool
	}{
		{"Things", false},
		{"/Thingz", true},
		{"/Things(1)/Datastreamz", true},
		{"/Things(1)/Datastreamz(2)", true},
		{"/Things(x)", false},
		{"/Things(-1)", false},
		{"/Things(+1)", false},
		{"/Things()", false},
		{"/Things(1", false},
		{"/Things)1(", false},
		{"/(1)", false},
		{"/Things(1)(2)", false},
		{"/Things(99999999999999999999)", false},
		{"/Things//Datastreams", false},
		{"/Things/Datastreams", false},          // a collection needs an id before navigation
		{"/Things(1)/Datastreams/Thing", false}, // likewise
		{"/Datastreams(5)/Thing(1)", false},     // a to-one navigation takes no id
		{"/Things(1)/name/$ref", false},
		{"/$ref", false},
		{"/Things/$value", false},
		{"/Things(1)/$value", false},
		{"/Things(1)/name/$value/x", false},
		{"/Things(1)/$ref/Datastreams", false},
		{"/Things(1)/properties/a(b)", false},
		{"/Things(1)/colour", true},
		{"/" + strings.Repeat("a/", maxPathSegments+1), false},
		{"/Things(1)" + strings.Repeat("x", maxPathBytes), false},
	} {
		_, err := parsePath(tc.path)
		var pe *pathError
		if !errors.As(err, &pe) {
			t.Errorf("parsePath(%q) = %v, want a path error", tc.path, err)
			continue
		}
		if pe.NotFound != tc.notFound {
			t.Errorf("parsePath(%q): not found %v (%v), want %v", tc.path, pe.NotFound, err, tc.notFound)
		}
	}
}

// A string id is valid syntax naming nothing here: 404, not 400.
func TestParsePathStringID(t *testing.T) {
	rp, err := parsePath("/Things('abc')")
	if err != nil || !rp.Last().NoSuchID {
		t.Fatalf("parsePath(Things('abc')) = %+v, %v; want a segment with NoSuchID", rp, err)
	}
}

// FuzzParsePath: any path either parses into segments that the entity
// model has (every navigation step one of the previous set's), or is a
// path error; never a panic.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"", "/", "/Things", "/Things(1)/Datastreams(5)/Observations", "/Datastreams(5)/Thing/Locations/$ref",
		"/Things(1)/properties/quarter/$value", "/Things('a''b')", "/Things(1)/name/$value", "/Observations(1)/Datastream/Sensor",
		"/Things(((", "/Things(1)/../..", "/%00", "/Locations(1)/Things(2)/HistoricalLocations"} {
		f.Add(s)
	}
	sets := query.EntitySets()
	f.Fuzz(func(t *testing.T, p string) {
		rp, err := parsePath(p)
		if err != nil {
			var pe *pathError
			if !errors.As(err, &pe) {
				t.Fatalf("parsePath(%q): %v is no path error", p, err)
			}
			return
		}
		if len(p) > maxPathBytes {
			t.Fatalf("parsePath accepted %d bytes", len(p))
		}
		for i, s := range rp.Segs {
			if i == 0 {
				if !slices.Contains(sets, s.Set) {
					t.Fatalf("parsePath(%q): first segment %q is no entity set", p, s.Set)
				}
				continue
			}
			n, ok := query.NavigationOf(rp.Segs[i-1].Set, s.Name)
			if !ok || n.Target != s.Set {
				t.Fatalf("parsePath(%q): %s does not lead from %s to %s", p, s.Name, rp.Segs[i-1].Set, s.Set)
			}
			if s.HasID && !n.Many {
				t.Fatalf("parsePath(%q): id on to-one %s", p, s.Name)
			}
			if isCollection(rp.Segs, i-1) {
				t.Fatalf("parsePath(%q): navigation from a collection", p)
			}
		}
		if (rp.Ref || rp.Value || len(rp.Prop) > 0) && rp.Root() {
			t.Fatalf("parsePath(%q): $ref, $value or a property on the root", p)
		}
	})
}

// The root claims request-data exactly when every built-in function
// compiles; otherwise its requirements but filter.
func TestConformanceClaims(t *testing.T) {
	claims := Conformance()
	missing := MissingFilterFunctions()
	if slices.Contains(claims, confRequestData) != (len(missing) == 0) {
		t.Fatalf("claims %v with missing functions %v", claims, missing)
	}
	for _, c := range claims {
		if strings.HasSuffix(c, "/filter") {
			t.Errorf("claims %s", c)
		}
	}
	for _, m := range missing {
		t.Logf("not claimed for want of: %s", m)
	}
}

// FuzzParseQuery: a raw query either splits into parameters (no more
// than it has "&"-separated parts, ";" kept inside values) or is a bad
// request; never a panic.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "&", "$top=1&$skip=2", "&$filter=phenomenonTime%20ge%202026-12-06T00:00:00.000Z",
		"$expand=Observations($top=1;$orderby=phenomenonTime%20desc)", "%zz=1", "a=%", "$filter=name+eq+'a+b'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := parseQuery(raw)
		if err != nil {
			var br *badRequest
			if !errors.As(err, &br) {
				t.Fatalf("parseQuery(%q): %v is no bad request", raw, err)
			}
			return
		}
		n := 0
		for _, vals := range v {
			n += len(vals)
		}
		if n > strings.Count(raw, "&")+1 {
			t.Fatalf("parseQuery(%q): %d parameters", raw, n)
		}
		if strings.Contains(raw, ";") && !strings.Contains(raw, "%3B") {
			found := false
			for k, vals := range v {
				found = found || strings.Contains(k, ";")
				for _, s := range vals {
					found = found || strings.Contains(s, ";")
				}
			}
			if !found {
				t.Fatalf("parseQuery(%q) lost the ';'", raw)
			}
		}
	})
}

// FuzzFilterRoundTrip: an expanded collection's nextLink writes its
// $filter out again (exprString); what it writes parses to the same
// tree.
func FuzzFilterRoundTrip(f *testing.F) {
	for _, s := range []string{
		"result gt 420", "name eq 'O''Brien'", "not (result lt 400) and Datastream/Thing/name eq 'Pohlandplatz'",
		"phenomenonTime ge 2026-12-06T00:00:00.500Z and phenomenonTime lt 2026-12-07T00:00:00Z",
		"st_within(location, geography'POLYGON((13.6 50.9, 13.9 50.9, 13.9 51.2, 13.6 50.9))')",
		"geo.distance(location, geography'POINT(13.79 51.045)') lt 0.01", "-result add 2.5 mul 3 ge 1e3",
		"startswith(name,'Pohl') or properties/quarter eq 'Johannstadt'", "result eq null or true",
		"resultTime gt now() sub duration'P1DT2H'", "parameters/count mod 2 eq 0",
	} {
		f.Add("Observations", s)
		f.Add("Locations", s)
		f.Add("Things", s)
	}
	f.Fuzz(func(t *testing.T, set, filter string) {
		if !slices.Contains(query.EntitySets(), set) {
			return
		}
		n, err := query.ParseFilter(set, filter, query.DefaultLimits())
		if err != nil {
			return
		}
		written := exprString(n)
		again, err := query.ParseFilter(set, written, query.DefaultLimits())
		if err != nil {
			t.Fatalf("%q was written as %q, which does not parse: %v", filter, written, err)
		}
		if a, b := treeString(n), treeString(again); a != b {
			t.Fatalf("%q was written as %q:\n%s\nparses to\n%s", filter, written, a, b)
		}
	})
}

// treeString writes a filter tree without positions.
func treeString(n *query.Node) string {
	if n == nil {
		return "nil"
	}
	var b strings.Builder
	b.WriteString("(" + itoa(int64(n.Kind)) + " " + n.Op + " " + strings.Join(n.Path, "/"))
	if n.Kind == query.NodeLiteral {
		b.WriteString(" " + literalString(n.Value))
	}
	for _, a := range n.Args {
		b.WriteString(" " + treeString(a))
	}
	b.WriteString(")")
	return b.String()
}
