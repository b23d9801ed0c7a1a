package query

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// compiler turns checked trees into SQL. Arguments are written as
// markers (\x01 index \x02) while fragments are put together, and become
// "?" in text order at the end, so a fragment used twice takes its
// arguments twice.
type compiler struct {
	d       Dialect
	now     time.Time
	nowMin  int64
	args    []any
	aliases int
	// parentIdx are the args holding the Via parent's id; finish
	// notes where they end up (parentPos).
	parentIdx []int
	parentPos []int
}

func newCompiler(d Dialect, now time.Time) *compiler {
	return &compiler{d: d, now: now.UTC(), nowMin: floorDiv(now.Unix(), 60)}
}

// nowMarker stands for now in unix minutes in the entity sets' SQL,
// which is made once (schema.go); finish makes it an argument.
const nowMarker = "\x01now\x02"

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func (c *compiler) arg(v any) string {
	if b, ok := v.(bool); ok && c.d == SQLite {
		if b {
			v = int64(1)
		} else {
			v = int64(0)
		}
	}
	c.args = append(c.args, v)
	return "\x01" + strconv.Itoa(len(c.args)-1) + "\x02"
}

// finish replaces the markers in sql by placeholders and collects the
// arguments in their order. PostgreSQL gets each placeholder cast to its
// argument's type, so it never has to guess.
func (c *compiler) finish(sql string) (string, []any) {
	var b strings.Builder
	var args []any
	for {
		i := strings.IndexByte(sql, '\x01')
		if i < 0 {
			b.WriteString(sql)
			return b.String(), args
		}
		j := strings.IndexByte(sql[i:], '\x02') + i
		var v any = c.nowMin
		if sql[i:j+1] != nowMarker {
			n, _ := strconv.Atoi(sql[i+1 : j])
			v = c.args[n]
			if slices.Contains(c.parentIdx, n) {
				c.parentPos = append(c.parentPos, len(args))
			}
		}
		b.WriteString(sql[:i])
		if c.d == Postgres {
			b.WriteString("CAST(? AS " + pgType(v) + ")")
		} else {
			b.WriteString("?")
		}
		args = append(args, v)
		sql = sql[j+1:]
	}
}

func pgType(v any) string {
	switch v.(type) {
	case int64:
		return "BIGINT"
	case float64:
		return "DOUBLE PRECISION"
	case bool:
		return "BOOLEAN"
	}
	return "TEXT"
}

// scope resolves view column names to SQL: a branch's expressions at
// the top of a statement, alias.column inside a related entity's view.
type scope struct {
	set *entitySet
	b   *branch // nil for a view
	al  string
}

func (s *scope) col(name string) string {
	if s.b != nil {
		if e, ok := s.b.cols[name]; ok {
			return e
		}
		panic("query: no column " + name + " in " + s.set.name)
	}
	return s.al + "." + name
}

// colShift is col as base + offset where the branch knows one.
func (s *scope) colShift(name string) (string, int64) {
	if s.b != nil {
		if sh, ok := s.b.shifted[name]; ok {
			return s.col(sh.col), sh.off
		}
	}
	return s.col(name), 0
}

// view is the SQL of a set's rows with every column named, for joins.
func (c *compiler) view(set *entitySet) string { return set.view }

func viewOf(set *entitySet) string {
	var parts []string
	for _, b := range set.rows {
		names := make([]string, 0, len(b.cols))
		for n := range b.cols {
			names = append(names, n)
		}
		sort.Strings(names)
		var sel []string
		for _, n := range names {
			sel = append(sel, b.cols[n]+" AS "+n)
		}
		q := "SELECT " + strings.Join(sel, ", ") + " FROM " + b.from
		if len(b.where) > 0 {
			q += " WHERE " + strings.Join(b.where, " AND ")
		}
		parts = append(parts, q)
	}
	return "(" + strings.Join(parts, " UNION ALL ") + ")"
}

// related collects the joins a leaf of a filter needs for its paths
// through navigation properties; the leaf becomes EXISTS over them.
// scalar (an $orderby key) allows to-one steps only.
type related struct {
	scalar bool
	froms  []string
	conds  []string
	byPath map[string]*scope
	// first are the outer column and the first related column of each
	// path's first step; outer is set when the leaf reads the outer row
	// itself too.
	first      map[string]string
	outer      bool
	outerFirst string
}

// expr is a compiled value: SQL (sql + off for times) or a constant.
type expr struct {
	t     vtype
	konst bool
	val   any
	sql   string // scalar; interval start; point longitude
	sql2  string // interval end; point latitude
	off   int64  // sql + off is the value (times)
	off2  int64
	unit  timeUnit
	pos   int
}

func (e expr) valueSQL() string {
	if e.off != 0 {
		return "(" + e.sql + " + " + strconv.FormatInt(e.off, 10) + ")"
	}
	return e.sql
}

func typeOf(v any) vtype {
	switch v.(type) {
	case nil:
		return vNull
	case int64:
		return vInt
	case float64:
		return vFloat
	case string:
		return vString
	case bool:
		return vBool
	case time.Time:
		return vTime
	case Interval:
		return vInterval
	case Duration:
		return vDuration
	case Geometry:
		return vGeo
	}
	return vNull
}

func errAt(pos int, format string, args ...any) *Error {
	return &Error{Option: "$filter", Pos: pos, Reason: fmt.Sprintf(format, args...)}
}

func konst(v any, pos int) expr { return expr{t: typeOf(v), konst: true, val: v, pos: pos} }

func isNum(t vtype) bool { return t == vInt || t == vFloat }

// scalarSQL is the SQL of a scalar value (a constant becomes an argument).
func (c *compiler) scalarSQL(e expr) (string, error) {
	if e.konst {
		switch e.t {
		case vInt, vFloat, vString, vBool:
			return c.arg(e.val), nil
		case vNull:
			return "NULL", nil
		}
		return "", errAt(e.pos, "a %s cannot be used here", e.t)
	}
	switch e.t {
	case vInt, vFloat, vString, vBool, vDate:
		return e.valueSQL(), nil
	}
	return "", errAt(e.pos, "a %s cannot be used here", e.t)
}

// boolSQL compiles n as a condition: and, or, not over leaves; each leaf
// that reaches through navigation properties becomes EXISTS over them.
func (c *compiler) boolSQL(n *Node, sc *scope) (string, error) {
	if n.Kind == NodeOp {
		switch n.Op {
		case "and", "or":
			a, err := c.boolSQL(n.Args[0], sc)
			if err != nil {
				return "", err
			}
			b, err := c.boolSQL(n.Args[1], sc)
			if err != nil {
				return "", err
			}
			return "(" + a + " " + strings.ToUpper(n.Op) + " " + b + ")", nil
		case "not":
			a, err := c.boolSQL(n.Args[0], sc)
			if err != nil {
				return "", err
			}
			return "(NOT " + a + ")", nil
		}
	}
	rel := &related{byPath: map[string]*scope{}}
	e, err := c.expr(n, sc, rel)
	if err != nil {
		return "", err
	}
	if e.t != vBool {
		return "", errAt(n.Pos, "expected a condition, found a %s", e.t)
	}
	s, err := c.condSQL(e)
	if err != nil {
		return "", err
	}
	if len(rel.froms) == 0 {
		return s, nil
	}
	// Paths that all leave by one step and read nothing else of the row:
	// "key IN (related keys)", which looks the row up by its key (an
	// Observation's datastream_id) instead of testing every row.
	if len(rel.first) == 1 && !rel.outer {
		for related := range rel.first {
			return "(" + rel.outerFirst + " IN (SELECT " + related + " FROM " + strings.Join(rel.froms, ", ") + " WHERE " +
				strings.Join(append(rel.conds[1:len(rel.conds):len(rel.conds)], s), " AND ") + "))", nil
		}
	}
	return "EXISTS (SELECT 1 FROM " + strings.Join(rel.froms, ", ") + " WHERE " + strings.Join(rel.conds, " AND ") + " AND " + s + ")", nil
}

func (c *compiler) condSQL(e expr) (string, error) {
	if e.konst {
		if b, _ := e.val.(bool); b {
			return "(1 = 1)", nil
		}
		return "(1 = 0)", nil
	}
	return e.sql, nil
}

func (c *compiler) expr(n *Node, sc *scope, rel *related) (expr, error) {
	switch n.Kind {
	case NodeLiteral:
		return konst(n.Value, n.Pos), nil
	case NodePath:
		return c.path(n, sc, rel)
	case NodeOp:
		return c.op(n, sc, rel)
	case NodeFunc:
		return c.call(n, sc, rel)
	}
	return expr{}, errAt(n.Pos, "bad expression")
}

func isIDName(s string) bool { return s == "id" || s == "@iot.id" }

func (c *compiler) path(n *Node, sc *scope, rel *related) (expr, error) {
	cur := sc
	prefix := ""
	for i := 0; i < len(n.Path); i++ {
		name := n.Path[i]
		last := i == len(n.Path)-1
		if cur == sc && rel != nil && !(i == 0 && cur.set.nav(name) != nil && !isShortcut(cur.set.nav(name), n.Path, i)) {
			rel.outer = true
		}
		if isIDName(name) {
			if !last {
				return expr{}, errAt(n.Pos, "nothing follows @iot.id")
			}
			return expr{t: vInt, sql: cur.col("id"), pos: n.Pos}, nil
		}
		if p := cur.set.prop(name); p != nil {
			if p.typ == vObject {
				if i+2 != len(n.Path) {
					return expr{}, errAt(n.Pos, "compare a member of %s (%s/name), not the whole object", name, name)
				}
				m, ok := p.members[n.Path[i+1]]
				if !ok {
					return expr{}, errAt(n.Pos, "unknown member %q of %s of %s", n.Path[i+1], name, cur.set.name)
				}
				e := expr{t: m.typ, sql: cur.col(m.col), pos: n.Pos}
				return e, nil
			}
			if p.typ == vGeo && !last {
				return geometryMember(n, i)
			}
			if !last {
				return expr{}, errAt(n.Pos, "%s of %s has no members", name, cur.set.name)
			}
			e := expr{t: p.typ, unit: p.unit, pos: n.Pos}
			e.sql, e.off = cur.colShift(p.cols[0])
			if len(p.cols) > 1 {
				e.sql2, e.off2 = cur.colShift(p.cols[1])
			}
			return e, nil
		}
		nv := cur.set.nav(name)
		if nv == nil {
			return expr{}, errAt(n.Pos, "unknown property %q of %s", name, cur.set.name)
		}
		if last {
			return expr{}, errAt(n.Pos, "%s leads to %s: name one of its properties (%s/...)", name, nv.Target, name)
		}
		// The key of a to-one navigation is at hand: Datastream/id of an
		// Observation is its datastream_id, on the index.
		if isShortcut(nv, n.Path, i) {
			return expr{t: vInt, sql: cur.col(nv.from), pos: n.Pos}, nil
		}
		if rel == nil || (rel.scalar && nv.Many) {
			return expr{}, errAt(n.Pos, "%s is a collection: it cannot be used here", name)
		}
		prefix += "/" + name
		next, ok := rel.byPath[prefix]
		if !ok {
			c.aliases++
			target := setByName(nv.Target)
			next = &scope{set: target, al: "r" + strconv.Itoa(c.aliases)}
			rel.froms = append(rel.froms, c.view(target)+" "+next.al)
			rel.conds = append(rel.conds, next.col(nv.to)+" = "+cur.col(nv.from))
			rel.byPath[prefix] = next
			if cur == sc {
				if rel.first == nil {
					rel.first = map[string]string{}
				}
				rel.first[next.col(nv.to)] = cur.col(nv.from)
				rel.outerFirst = cur.col(nv.from)
			}
		}
		cur = next
	}
	return expr{}, errAt(n.Pos, "empty path")
}

// geometryMember is a GeoJSON member of the geometry at path[i]. QGIS
// filters every page by "location/type eq 'Point' or
// location/geometry/type eq 'Point'" once a layer's geometry type is
// chosen, and probes the types with it. Our geometries are bare GeoJSON
// Points: type is always 'Point', and a bare geometry has no "geometry"
// member, so anything under it is null.
func geometryMember(n *Node, i int) (expr, error) {
	rest := n.Path[i+1:]
	switch {
	case len(rest) == 1 && rest[0] == "type":
		return konst("Point", n.Pos), nil
	case rest[0] == "geometry":
		return konst(nil, n.Pos), nil
	case len(rest) == 1 && rest[0] == "coordinates":
		return expr{}, errAt(n.Pos, "%s/coordinates is an array and cannot be compared: use st_within, geo.intersects or geo.distance", n.Path[i])
	}
	return expr{}, errAt(n.Pos, "unknown member %q of %s (a GeoJSON Point: type, coordinates)", strings.Join(rest, "/"), n.Path[i])
}

// isShortcut reports whether path[i:] is "ToOne/id", read from the row's
// own key.
func isShortcut(nv *nav, path []string, i int) bool {
	return !nv.Many && nv.to == "id" && i+2 == len(path) && isIDName(path[i+1])
}

var mirror = map[string]string{"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
var sqlOp = map[string]string{"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}

func (c *compiler) op(n *Node, sc *scope, rel *related) (expr, error) {
	switch n.Op {
	case "and", "or", "not":
		var parts []string
		for _, a := range n.Args {
			e, err := c.expr(a, sc, rel)
			if err != nil {
				return expr{}, err
			}
			if e.t != vBool {
				return expr{}, errAt(a.Pos, "%s needs conditions, found a %s", n.Op, e.t)
			}
			s, err := c.condSQL(e)
			if err != nil {
				return expr{}, err
			}
			parts = append(parts, s)
		}
		if n.Op == "not" {
			return expr{t: vBool, sql: "(NOT " + parts[0] + ")", pos: n.Pos}, nil
		}
		return expr{t: vBool, sql: "(" + parts[0] + " " + strings.ToUpper(n.Op) + " " + parts[1] + ")", pos: n.Pos}, nil
	case "neg":
		e, err := c.expr(n.Args[0], sc, rel)
		if err != nil {
			return expr{}, err
		}
		if !isNum(e.t) {
			return expr{}, errAt(n.Pos, "minus needs a number, found a %s", e.t)
		}
		if e.konst {
			if i, ok := e.val.(int64); ok {
				return konst(-i, n.Pos), nil
			}
			return konst(-e.val.(float64), n.Pos), nil
		}
		return expr{t: e.t, sql: "(-" + e.valueSQL() + ")", pos: n.Pos}, nil
	case "eq", "ne", "gt", "ge", "lt", "le":
		a, err := c.expr(n.Args[0], sc, rel)
		if err != nil {
			return expr{}, err
		}
		b, err := c.expr(n.Args[1], sc, rel)
		if err != nil {
			return expr{}, err
		}
		return c.compare(n, a, b)
	case "add", "sub", "mul", "div", "mod":
		a, err := c.expr(n.Args[0], sc, rel)
		if err != nil {
			return expr{}, err
		}
		b, err := c.expr(n.Args[1], sc, rel)
		if err != nil {
			return expr{}, err
		}
		return c.arith(n, a, b)
	}
	return expr{}, errAt(n.Pos, "unknown operator %q", n.Op)
}

func (c *compiler) compare(n *Node, a, b expr) (expr, error) {
	op := n.Op
	if a.t == vNull || b.t == vNull {
		if op != "eq" && op != "ne" {
			return expr{}, errAt(n.Pos, "%s with null: use eq or ne", op)
		}
		if a.t == vNull {
			a, b = b, a
		}
		if a.t == vNull {
			return konst(op == "eq", n.Pos), nil
		}
		if a.konst {
			return konst(op == "ne", n.Pos), nil
		}
		if a.t == vObject || a.t == vGeo {
			return expr{}, errAt(a.pos, "a %s cannot be compared", a.t)
		}
		if op == "eq" {
			return expr{t: vBool, sql: "(" + a.valueSQL() + " IS NULL)", pos: n.Pos}, nil
		}
		return expr{t: vBool, sql: "(" + a.valueSQL() + " IS NOT NULL)", pos: n.Pos}, nil
	}
	// date(x) eq 2026-12-06: the literal is that day's midnight.
	if a.t == vDate && b.konst && b.t == vTime {
		b = expr{t: vDate, sql: c.arg(floorDiv(b.val.(time.Time).Unix(), 86400)), pos: b.pos}
	}
	if b.t == vDate && a.konst && a.t == vTime {
		a = expr{t: vDate, sql: c.arg(floorDiv(a.val.(time.Time).Unix(), 86400)), pos: a.pos}
	}
	if isTimeish(a.t) || isTimeish(b.t) {
		return c.compareTimes(n, a, b)
	}
	switch {
	case isNum(a.t) && isNum(b.t), a.t == vString && b.t == vString, a.t == vDate && b.t == vDate:
	case a.t == vBool && b.t == vBool:
		if op != "eq" && op != "ne" {
			return expr{}, errAt(n.Pos, "booleans are compared with eq or ne")
		}
	default:
		return expr{}, errAt(n.Pos, "cannot compare a %s with a %s", a.t, b.t)
	}
	if a.konst && b.konst {
		r, err := compareConst(a.val, b.val)
		if err != nil {
			return expr{}, errAt(n.Pos, "%v", err)
		}
		return konst(holds(op, r), n.Pos), nil
	}
	x, err := c.scalarSQL(a)
	if err != nil {
		return expr{}, err
	}
	y, err := c.scalarSQL(b)
	if err != nil {
		return expr{}, err
	}
	return expr{t: vBool, sql: "(" + x + " " + sqlOp[op] + " " + y + ")", pos: n.Pos}, nil
}

func holds(op string, r int) bool {
	switch op {
	case "eq":
		return r == 0
	case "ne":
		return r != 0
	case "gt":
		return r > 0
	case "ge":
		return r >= 0
	case "lt":
		return r < 0
	}
	return r <= 0
}

func compareConst(a, b any) (int, error) {
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string)), nil
	case bool:
		if x == b.(bool) {
			return 0, nil
		}
		return 1, nil
	}
	fa, fb := toFloat(a), toFloat(b)
	switch {
	case fa < fb:
		return -1, nil
	case fa > fb:
		return 1, nil
	}
	return 0, nil
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

func isTimeish(t vtype) bool { return t == vTime || t == vInterval }

// endpoint is one end of a time or interval: a column (sql + off, in
// unit) or a constant.
type endpoint struct {
	konst bool
	t     time.Time
	sql   string
	off   int64
	unit  timeUnit
}

func endpoints(e expr) (start, end endpoint, interval bool) {
	if e.konst {
		switch v := e.val.(type) {
		case time.Time:
			return endpoint{konst: true, t: v}, endpoint{konst: true, t: v}, false
		case Interval:
			return endpoint{konst: true, t: v.Start}, endpoint{konst: true, t: v.End}, true
		}
	}
	s := endpoint{sql: e.sql, off: e.off, unit: e.unit}
	if e.t == vInterval {
		return s, endpoint{sql: e.sql2, off: e.off2, unit: e.unit}, true
	}
	return s, s, false
}

// compareTimes follows OGC 18-088 and FROST's reading of it for time
// intervals, which are half open [start, end): an interval eq an
// instant contains it; gt / ge an instant: starts after / at or after
// it; lt / le an instant: ends at or before it. Two intervals: eq when
// both ends agree, lt when the first ends at or before the second
// starts, gt when it starts at or after the second ends; ge and le are
// refused (it is not clear what they would mean). Instants compare as
// instants.
func (c *compiler) compareTimes(n *Node, a, b expr) (expr, error) {
	op := n.Op
	for _, e := range []expr{a, b} {
		if !isTimeish(e.t) {
			return expr{}, errAt(n.Pos, "cannot compare a %s with a %s", a.t, b.t)
		}
	}
	as, ae, ai := endpoints(a)
	bs, be, bi := endpoints(b)
	if !ai && bi {
		// An instant against an interval: the interval against the
		// instant, mirrored.
		as, ae, ai, bs, be, bi = bs, be, bi, as, ae, ai
		op = mirror[op]
	}
	var conds []string
	var konsts []bool
	add := func(x endpoint, o string, y endpoint) error {
		s, k, isConst, err := c.cmpEndpoints(x, o, y)
		if err != nil {
			return errAt(n.Pos, "%v", err)
		}
		if isConst {
			konsts = append(konsts, k)
		} else {
			conds = append(conds, s)
		}
		return nil
	}
	var err error
	switch {
	case !ai: // instant and instant
		err = add(as, sqlOp[op], bs)
	case ai && !bi:
		switch op {
		case "eq", "ne":
			if err = add(as, "<=", bs); err == nil {
				err = add(ae, ">", bs)
			}
		case "gt":
			err = add(as, ">", bs)
		case "ge":
			err = add(as, ">=", bs)
		case "lt", "le":
			err = add(ae, "<=", bs)
		}
	default:
		switch op {
		case "eq", "ne":
			if err = add(as, "=", bs); err == nil {
				err = add(ae, "=", be)
			}
		case "lt":
			err = add(ae, "<=", bs)
		case "gt":
			err = add(as, ">=", be)
		default:
			return expr{}, errAt(n.Pos, "%s between two time intervals is not defined: use lt, gt or eq, or compare their starts and ends", op)
		}
	}
	if err != nil {
		return expr{}, err
	}
	for _, k := range konsts {
		if !k {
			conds = []string{"(1 = 0)"}
			break
		}
	}
	if len(conds) == 0 {
		conds = []string{"(1 = 1)"}
	}
	s := "(" + strings.Join(conds, " AND ") + ")"
	if ai && op == "ne" {
		s = "(NOT " + s + ")"
	}
	return expr{t: vBool, sql: s, pos: n.Pos}, nil
}

var flipSQL = map[string]string{"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}

// cmpEndpoints compares two ends. A column against a constant becomes
// "column op integer" on the column itself (its offset moved to the
// constant, the constant rounded to the column's unit the way that keeps
// the meaning), so it can use an index.
func (c *compiler) cmpEndpoints(x endpoint, op string, y endpoint) (string, bool, bool, error) {
	if x.konst && y.konst {
		r := x.t.Compare(y.t)
		return "", holdsSQL(op, r), true, nil
	}
	if x.konst {
		x, y = y, x
		op = flipSQL[op]
	}
	if !y.konst {
		if x.unit != y.unit {
			return "", false, false, fmt.Errorf("times of different precision cannot be compared")
		}
		l, r := x.sql, y.sql
		if x.off != 0 {
			l = "(" + l + " + " + strconv.FormatInt(x.off, 10) + ")"
		}
		if y.off != 0 {
			r = "(" + r + " + " + strconv.FormatInt(y.off, 10) + ")"
		}
		return "(" + l + " " + op + " " + r + ")", false, false, nil
	}
	// column + off op t  <=>  column op (t - off), in the column's unit.
	q, exact := toUnit(y.t, x.unit)
	q -= x.off
	var v int64
	switch op {
	case "=":
		if !exact {
			return "", false, true, nil
		}
		v = q
	case "<>":
		if !exact {
			return "", true, true, nil
		}
		v = q
	case "<", ">=":
		v = q
		if !exact {
			v = q + 1 // ceil
		}
	case "<=", ">":
		v = q // floor
	}
	return "(" + x.sql + " " + op + " " + c.arg(v) + ")", false, false, nil
}

func holdsSQL(op string, r int) bool {
	switch op {
	case "=":
		return r == 0
	case "<>":
		return r != 0
	case ">":
		return r > 0
	case ">=":
		return r >= 0
	case "<":
		return r < 0
	}
	return r <= 0
}

// toUnit is t in unit since 1970, rounded down, and whether exactly;
// clamped far outside what a column holds.
func toUnit(t time.Time, u timeUnit) (int64, bool) {
	sec, nsec := t.Unix(), int64(t.Nanosecond())
	if u == unitNanos {
		const limit = math.MaxInt64/1000000000 - 1
		if sec > limit {
			return math.MaxInt64 / 2, true
		}
		if sec < -limit {
			return math.MinInt64 / 2, true
		}
		return sec*1e9 + nsec, true
	}
	per := int64(u) / 1e9 // seconds per unit
	q := floorDiv(sec, per)
	return q, sec-q*per == 0 && nsec == 0
}

func (c *compiler) arith(n *Node, a, b expr) (expr, error) {
	op := n.Op
	if a.konst && b.konst {
		v, err := foldArith(op, a.val, b.val)
		if err != nil {
			return expr{}, errAt(n.Pos, "%v", err)
		}
		return konst(v, n.Pos), nil
	}
	if isTimeish(a.t) && b.t == vDuration && b.konst && (op == "add" || op == "sub") {
		d := b.val.(Duration)
		if d.Months != 0 {
			return expr{}, errAt(b.pos, "months and years cannot be added to a property: use days")
		}
		per := time.Duration(a.unit)
		if d.D%per != 0 {
			return expr{}, errAt(b.pos, "this property counts whole %s", map[timeUnit]string{unitMinute: "minutes", unitNanos: "nanoseconds"}[a.unit])
		}
		k := int64(d.D / per)
		if op == "sub" {
			k = -k
		}
		a.off += k
		if a.t == vInterval {
			a.off2 += k
		}
		a.pos = n.Pos
		return a, nil
	}
	if !isNum(a.t) || !isNum(b.t) {
		return expr{}, errAt(n.Pos, "%s needs numbers (or a time and a duration), found a %s and a %s", op, a.t, b.t)
	}
	x, err := c.scalarSQL(a)
	if err != nil {
		return expr{}, err
	}
	y, err := c.scalarSQL(b)
	if err != nil {
		return expr{}, err
	}
	t := vInt
	if a.t == vFloat || b.t == vFloat {
		t = vFloat
	}
	switch op {
	case "add":
		return expr{t: t, sql: "(" + x + " + " + y + ")", pos: n.Pos}, nil
	case "sub":
		return expr{t: t, sql: "(" + x + " - " + y + ")", pos: n.Pos}, nil
	case "mul":
		return expr{t: t, sql: "(" + x + " * " + y + ")", pos: n.Pos}, nil
	case "div":
		// Division by zero is null, as in SQLite, not an error.
		return expr{t: t, sql: "(" + x + " / NULLIF(" + y + ", 0))", pos: n.Pos}, nil
	}
	if t != vInt {
		return expr{}, errAt(n.Pos, "mod needs whole numbers")
	}
	return expr{t: t, sql: "(" + x + " % NULLIF(" + y + ", 0))", pos: n.Pos}, nil
}

func foldArith(op string, a, b any) (any, error) {
	switch x := a.(type) {
	case time.Time:
		switch y := b.(type) {
		case Duration:
			if op == "sub" {
				y = Duration{-y.Months, -y.D}
			} else if op != "add" {
				return nil, fmt.Errorf("%s of a time and a duration", op)
			}
			return x.AddDate(0, y.Months, 0).Add(y.D), nil
		case time.Time:
			if op == "sub" {
				return Duration{D: x.Sub(y)}, nil
			}
		}
		return nil, fmt.Errorf("%s of a time and a %s", op, typeOf(b))
	case Interval:
		if y, ok := b.(Duration); ok && (op == "add" || op == "sub") {
			if op == "sub" {
				y = Duration{-y.Months, -y.D}
			}
			return Interval{x.Start.AddDate(0, y.Months, 0).Add(y.D), x.End.AddDate(0, y.Months, 0).Add(y.D)}, nil
		}
		return nil, fmt.Errorf("%s of a time interval and a %s", op, typeOf(b))
	case Duration:
		if y, ok := b.(time.Time); ok && op == "add" {
			return y.AddDate(0, x.Months, 0).Add(x.D), nil
		}
		if y, ok := b.(Duration); ok && (op == "add" || op == "sub") {
			if op == "sub" {
				y = Duration{-y.Months, -y.D}
			}
			return Duration{x.Months + y.Months, x.D + y.D}, nil
		}
		return nil, fmt.Errorf("%s of a duration and a %s", op, typeOf(b))
	}
	ia, aInt := a.(int64)
	ib, bInt := b.(int64)
	if !isNum(typeOf(a)) || !isNum(typeOf(b)) {
		return nil, fmt.Errorf("%s needs numbers, found a %s and a %s", op, typeOf(a), typeOf(b))
	}
	if aInt && bInt {
		switch op {
		case "add":
			return ia + ib, nil
		case "sub":
			return ia - ib, nil
		case "mul":
			return ia * ib, nil
		case "div", "mod":
			if ib == 0 {
				return nil, fmt.Errorf("division by zero")
			}
			if op == "div" {
				return ia / ib, nil
			}
			return ia % ib, nil
		}
	}
	fa, fb := toFloat(a), toFloat(b)
	var r float64
	switch op {
	case "add":
		r = fa + fb
	case "sub":
		r = fa - fb
	case "mul":
		r = fa * fb
	case "div":
		if fb == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		r = fa / fb
	case "mod":
		return nil, fmt.Errorf("mod needs whole numbers")
	}
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return nil, fmt.Errorf("number out of range")
	}
	return r, nil
}
