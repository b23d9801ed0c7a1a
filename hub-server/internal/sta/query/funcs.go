package query

import (
	"strings"
	"time"
)

// arity of the functions of OGC 18-088 section 9.3.3.5.2 (and OData 4.0
// ones SensorThings clients send) that this server offers.
var arity = map[string][2]int{
	"substringof": {2, 2}, "contains": {2, 2}, "startswith": {2, 2}, "endswith": {2, 2},
	"length": {1, 1}, "indexof": {2, 2}, "substring": {2, 3}, "tolower": {1, 1}, "toupper": {1, 1},
	"trim": {1, 1}, "concat": {2, 2},
	"year": {1, 1}, "month": {1, 1}, "day": {1, 1}, "hour": {1, 1}, "minute": {1, 1}, "second": {1, 1},
	"date": {1, 1}, "now": {0, 0}, "mindatetime": {0, 0}, "maxdatetime": {0, 0},
	"round": {1, 1}, "floor": {1, 1}, "ceiling": {1, 1},
	"geo.distance": {2, 2}, "geo.intersects": {2, 2}, "st_intersects": {2, 2}, "st_within": {2, 2},
	"st_contains": {2, 2}, "st_disjoint": {2, 2}, "st_equals": {2, 2},
}

var unsupported = map[string]bool{
	"time": true, "fractionalseconds": true, "totaloffsetminutes": true, "geo.length": true,
	"st_touches": true, "st_overlaps": true, "st_crosses": true, "st_relate": true,
}

func (c *compiler) call(n *Node, sc *scope, rel *related) (expr, error) {
	ar, ok := arity[n.Op]
	if !ok {
		if unsupported[n.Op] {
			return expr{}, errAt(n.Pos, "function %s is not supported by this server", n.Op)
		}
		return expr{}, errAt(n.Pos, "unknown function %q", n.Op)
	}
	if len(n.Args) < ar[0] || len(n.Args) > ar[1] {
		return expr{}, errAt(n.Pos, "%s takes %d argument(s), found %d", n.Op, ar[1], len(n.Args))
	}
	args := make([]expr, len(n.Args))
	for i, a := range n.Args {
		e, err := c.expr(a, sc, rel)
		if err != nil {
			return expr{}, err
		}
		args[i] = e
	}
	want := func(i int, ts ...vtype) error {
		for _, t := range ts {
			if args[i].t == t || (t == vFloat && args[i].t == vInt) {
				return nil
			}
		}
		return errAt(args[i].pos, "%s needs a %s here, found a %s", n.Op, ts[0], args[i].t)
	}
	sqls := func(ts vtype) ([]string, error) {
		var out []string
		for i := range args {
			if err := want(i, ts); err != nil {
				return nil, err
			}
			s, err := c.scalarSQL(args[i])
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	str := func(s string) expr { return expr{t: vString, sql: s, pos: n.Pos} }
	num := func(t vtype, s string) expr { return expr{t: t, sql: s, pos: n.Pos} }
	boolean := func(s string) expr { return expr{t: vBool, sql: s, pos: n.Pos} }
	instr := func(h, needle string) string {
		if c.d == Postgres {
			return "strpos(" + h + ", " + needle + ")"
		}
		return "instr(" + h + ", " + needle + ")"
	}
	switch n.Op {
	case "substringof", "contains", "startswith", "endswith":
		s, err := sqls(vString)
		if err != nil {
			return expr{}, err
		}
		h, needle := s[0], s[1]
		if n.Op == "substringof" { // substringof(needle, haystack), OData 3
			h, needle = needle, h
		}
		switch n.Op {
		case "startswith":
			// Not LIKE: SQLite's ignores case, PostgreSQL's does not.
			return boolean("(substr(" + h + ", 1, length(" + needle + ")) = " + needle + ")"), nil
		case "endswith":
			return boolean("(length(" + h + ") >= length(" + needle + ") AND substr(" + h + ", length(" + h + ") - length(" + needle + ") + 1) = " + needle + ")"), nil
		}
		return boolean("(" + instr(h, needle) + " > 0)"), nil
	case "length":
		s, err := sqls(vString)
		if err != nil {
			return expr{}, err
		}
		return num(vInt, "length("+s[0]+")"), nil
	case "indexof":
		s, err := sqls(vString)
		if err != nil {
			return expr{}, err
		}
		return num(vInt, "("+instr(s[0], s[1])+" - 1)"), nil
	case "tolower", "toupper", "trim":
		s, err := sqls(vString)
		if err != nil {
			return expr{}, err
		}
		f := map[string]string{"tolower": "lower", "toupper": "upper", "trim": "trim"}[n.Op]
		return str(f + "(" + s[0] + ")"), nil
	case "concat":
		s, err := sqls(vString)
		if err != nil {
			return expr{}, err
		}
		return str("(" + s[0] + " || " + s[1] + ")"), nil
	case "substring":
		if err := want(0, vString); err != nil {
			return expr{}, err
		}
		s0, err := c.scalarSQL(args[0])
		if err != nil {
			return expr{}, err
		}
		var rest []string
		for i := 1; i < len(args); i++ {
			if args[i].t != vInt {
				return expr{}, errAt(args[i].pos, "substring needs whole numbers, found a %s", args[i].t)
			}
			s, err := c.scalarSQL(args[i])
			if err != nil {
				return expr{}, err
			}
			rest = append(rest, "CAST("+s+" AS INTEGER)")
		}
		// OData counts from 0, SQL from 1.
		q := "substr(" + s0 + ", " + rest[0] + " + 1"
		if len(rest) == 2 {
			q += ", " + rest[1]
		}
		return str(q + ")"), nil
	case "now":
		return konst(c.now, n.Pos), nil
	case "mindatetime":
		return konst(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), n.Pos), nil
	case "maxdatetime":
		return konst(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), n.Pos), nil
	case "year", "month", "day", "hour", "minute", "second", "date":
		return c.datePart(n, args[0])
	case "round", "floor", "ceiling":
		if err := want(0, vFloat); err != nil {
			return expr{}, err
		}
		a := args[0]
		if a.konst {
			f := toFloat(a.val)
			switch n.Op {
			case "round":
				f = roundHalfAway(f)
			case "floor":
				f = floor(f)
			default:
				f = -floor(-f)
			}
			return konst(f, n.Pos), nil
		}
		s := a.valueSQL()
		if c.d == Postgres {
			s = "CAST(" + s + " AS DOUBLE PRECISION)"
		}
		switch n.Op {
		case "ceiling":
			return num(vFloat, "ceil("+s+")"), nil
		case "floor":
			return num(vFloat, "floor("+s+")"), nil
		}
		// Half away from zero (OData), the same in both stores:
		// PostgreSQL's round of a double rounds half to even.
		return num(vFloat, "(CASE WHEN "+s+" < 0 THEN -floor(-"+s+" + 0.5) ELSE floor("+s+" + 0.5) END)"), nil
	case "geo.distance":
		return c.distance(n, args)
	case "geo.intersects", "st_intersects", "st_within", "st_contains", "st_disjoint", "st_equals":
		return c.spatial(n, args)
	}
	return expr{}, errAt(n.Pos, "unknown function %q", n.Op)
}

func floor(f float64) float64 {
	i := float64(int64(f))
	if i > f {
		i--
	}
	return i
}

func roundHalfAway(f float64) float64 {
	if f < 0 {
		return -floor(-f + 0.5)
	}
	return floor(f + 0.5)
}

// datePart is year() ... second() and date() of a time (an interval's
// start), in UTC.
func (c *compiler) datePart(n *Node, a expr) (expr, error) {
	if !isTimeish(a.t) {
		return expr{}, errAt(a.pos, "%s needs a time, found a %s", n.Op, a.t)
	}
	if a.konst {
		t, ok := a.val.(time.Time)
		if !ok {
			t = a.val.(Interval).Start
		}
		var v int64
		switch n.Op {
		case "year":
			v = int64(t.Year())
		case "month":
			v = int64(t.Month())
		case "day":
			v = int64(t.Day())
		case "hour":
			v = int64(t.Hour())
		case "minute":
			v = int64(t.Minute())
		case "second":
			v = int64(t.Second())
		case "date":
			return expr{t: vDate, sql: c.arg(floorDiv(t.Unix(), 86400)), pos: n.Pos}, nil
		}
		return konst(v, n.Pos), nil
	}
	// Seconds since 1970 of the column.
	var secs string
	if a.unit == unitMinute {
		secs = "(" + a.valueSQL() + " * 60)"
	} else {
		secs = "(" + a.valueSQL() + " / 1000000000)"
	}
	if n.Op == "date" {
		return expr{t: vDate, sql: "(" + secs + " / 86400)", pos: n.Pos}, nil
	}
	if c.d == Postgres {
		field := map[string]string{"year": "YEAR", "month": "MONTH", "day": "DAY", "hour": "HOUR", "minute": "MINUTE", "second": "SECOND"}[n.Op]
		return expr{t: vInt, sql: "CAST(floor(EXTRACT(" + field + " FROM to_timestamp(" + secs + ") AT TIME ZONE 'UTC')) AS BIGINT)", pos: n.Pos}, nil
	}
	f := map[string]string{"year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M", "second": "%S"}[n.Op]
	return expr{t: vInt, sql: "CAST(strftime('" + f + "', " + secs + ", 'unixepoch') AS INTEGER)", pos: n.Pos}, nil
}

// pointOf returns the SQL of a point column, or the constant point.
func pointArgs(args []expr) (col expr, g Geometry, swapped bool, ok bool) {
	a, b := args[0], args[1]
	if a.konst && !b.konst {
		a, b, swapped = b, a, true
	}
	if a.konst || !b.konst || a.t != vGeo || b.t != vGeo {
		return expr{}, Geometry{}, false, false
	}
	return a, b.val.(Geometry), swapped, true
}

// distance is geo.distance between a point property and a POINT, in
// degrees on the plane of longitude and latitude (as FROST without
// PostGIS's geography type): good to compare small distances in one
// city, not a length in metres.
func (c *compiler) distance(n *Node, args []expr) (expr, error) {
	col, g, _, ok := pointArgs(args)
	if !ok {
		return expr{}, errAt(n.Pos, "geo.distance needs a location property and a geography'POINT(x y)' literal")
	}
	if g.Type != "POINT" {
		return expr{}, errAt(n.Pos, "geo.distance is offered to a POINT only")
	}
	p := g.Polygons[0][0][0]
	dx := "(" + col.sql + " - " + c.arg(p[0]) + ")"
	dy := "(" + col.sql2 + " - " + c.arg(p[1]) + ")"
	return expr{t: vFloat, sql: "sqrt(" + dx + " * " + dx + " + " + dy + " * " + dy + ")", pos: n.Pos}, nil
}

// spatial compiles the geometry relations between a point property and
// a literal: a point lies within (intersects) a polygon by the even-odd
// rule over all its rings, computed in plain SQL (one CASE per edge
// behind a bounding box test), so both stores need no spatial extension.
func (c *compiler) spatial(n *Node, args []expr) (expr, error) {
	col, g, swapped, ok := pointArgs(args)
	if !ok {
		return expr{}, errAt(n.Pos, "%s needs a location property and a geography'...' literal", n.Op)
	}
	switch n.Op {
	case "st_within":
		if swapped {
			return expr{}, errAt(n.Pos, "st_within(a, b): a lies within b; a point property lies within a literal, not the reverse (st_contains)")
		}
	case "st_contains":
		if !swapped && g.Type != "POINT" {
			return expr{}, errAt(n.Pos, "st_contains(a, b): a contains b; a point property contains no polygon (st_within)")
		}
	}
	var cond string
	if g.Type == "POINT" {
		p := g.Polygons[0][0][0]
		cond = "(" + col.sql + " = " + c.arg(p[0]) + " AND " + col.sql2 + " = " + c.arg(p[1]) + ")"
	} else {
		var polys []string
		for _, poly := range g.Polygons {
			polys = append(polys, c.pointInPolygon(col.sql, col.sql2, poly))
		}
		cond = "(" + strings.Join(polys, " OR ") + ")"
	}
	if n.Op == "st_disjoint" {
		cond = "(NOT " + cond + ")"
	}
	return expr{t: vBool, sql: cond, pos: n.Pos}, nil
}

func (c *compiler) pointInPolygon(x, y string, rings [][][2]float64) string {
	minX, minY, maxX, maxY := rings[0][0][0], rings[0][0][1], rings[0][0][0], rings[0][0][1]
	for _, p := range rings[0] {
		minX, maxX = min(minX, p[0]), max(maxX, p[0])
		minY, maxY = min(minY, p[1]), max(maxY, p[1])
	}
	var edges []string
	for _, r := range rings {
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			if a[1] == b[1] {
				continue // horizontal edges never cross the ray
			}
			k := (b[0] - a[0]) / (b[1] - a[1])
			edges = append(edges, "CASE WHEN (("+y+" > "+c.arg(a[1])+") <> ("+y+" > "+c.arg(b[1])+")) AND ("+x+" < "+
				c.arg(a[0])+" + ("+y+" - "+c.arg(a[1])+") * "+c.arg(k)+") THEN 1 ELSE 0 END")
		}
	}
	if len(edges) == 0 {
		return "(1 = 0)"
	}
	return "(" + x + " BETWEEN " + c.arg(minX) + " AND " + c.arg(maxX) + " AND " + y + " BETWEEN " + c.arg(minY) + " AND " + c.arg(maxY) +
		" AND ((" + strings.Join(edges, " + ") + ") % 2) = 1)"
}
