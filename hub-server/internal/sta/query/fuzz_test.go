package query

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// compileAll compiles o on set in both dialects: whatever parses must
// compile (the parser's check and the compiler agree), and its SQL must
// hold exactly one argument per placeholder with no request text.
func compileAll(t *testing.T, set string, o Options) {
	for _, d := range []Dialect{SQLite, Postgres} {
		for _, count := range []bool{false, true} {
			st, err := compile(d, Target{EntitySet: set}, o, time.Unix(1_800_000_000, 0), count)
			if err != nil {
				t.Fatalf("%s %s: parsed but does not compile: %v", d, set, err)
			}
			if n := strings.Count(st.SQL, "?"); n != len(st.Args) {
				t.Fatalf("%s: %d placeholders, %d args", d, n, len(st.Args))
			}
			if strings.ContainsAny(st.SQL, "\x01\x02") {
				t.Fatalf("%s: marker left in SQL", d)
			}
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, c := range compileCases() {
		if v, ok := strings.CutPrefix(c.query, "$filter="); ok {
			v, _, _ = strings.Cut(v, "&")
			f.Add(uint8(6), v)
		}
	}
	for i, s := range []string{"name eq 'x'", "st_within(Locations/location, geography'POLYGON((0 0, 1 0, 1 1, 0 0))')", "properties/indoor eq true",
		"phenomenonTime lt 2026-12-06T10:00:00Z/2026-12-06T10:01:00Z", "time ge now() sub duration'P1D'", "not not (1 eq 1)",
		"location/type eq 'Point' or location/geometry/type eq 'Point'", "feature/geometry/type eq null", "observedArea/coordinates eq 1"} {
		f.Add(uint8(i), s)
	}
	sets := EntitySets()
	f.Fuzz(func(t *testing.T, which uint8, filter string) {
		set := sets[int(which)%len(sets)]
		n, err := ParseFilter(set, filter, Limits{})
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || qe.Pos < 0 || qe.Pos > len(filter) {
				t.Fatalf("%q: error %v is not a *Error within the input", filter, err)
			}
			return
		}
		compileAll(t, set, Options{Top: 10, Filter: n})
	})
}

func FuzzParseOptions(f *testing.F) {
	f.Add(uint8(0), "$expand=Datastreams($filter=name eq 'x';$top=2;$expand=Observations($orderby=phenomenonTime desc))&$select=name,Locations&$count=true")
	f.Add(uint8(6), "$filter=Datastream/Thing/properties/quarter eq 'A'&$orderby=result desc,Datastream/name&$top=5&$skip=2&$resultFormat=dataArray")
	f.Add(uint8(1), "$filter=geo.distance(location, geography'POINT(13.7 51)') lt 0.1&$expand=Things/Datastreams")
	sets := EntitySets()
	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		set := sets[int(which)%len(sets)]
		v, err := parseQuery(raw)
		if err != nil {
			return
		}
		o, err := ParseOptions(set, v, Limits{})
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("%q: error %v is not a *Error", raw, err)
			}
			return
		}
		var walk func(set string, o Options, depth int)
		walk = func(set string, o Options, depth int) {
			if depth > DefaultLimits().MaxExpandDepth {
				t.Fatalf("%q: $expand deeper than the limit", raw)
			}
			compileAll(t, set, o)
			for _, e := range o.Expand {
				nv, ok := NavigationOf(set, e.Property)
				if !ok {
					t.Fatalf("%q: expand of unknown %s/%s", raw, set, e.Property)
				}
				walk(nv.Target, e.Options, depth+1)
			}
		}
		walk(set, o, 0)
	})
}
