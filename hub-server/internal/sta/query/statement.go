package query

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

type scanner struct {
	n     int
	kind  Kind
	build func([]any) (any, error)
}

// resolveTarget checks t and returns its entity set.
func resolveTarget(t Target) (*entitySet, error) {
	if t.Via != nil {
		src := setByName(t.Via.Set)
		if src == nil {
			return nil, fmt.Errorf("query: unknown entity set %q", t.Via.Set)
		}
		nv := src.nav(t.Via.Property)
		if nv == nil {
			return nil, fmt.Errorf("query: %s has no navigation property %q", t.Via.Set, t.Via.Property)
		}
		if t.EntitySet != "" && t.EntitySet != nv.Target {
			return nil, fmt.Errorf("query: %s/%s leads to %s, not %s", t.Via.Set, t.Via.Property, nv.Target, t.EntitySet)
		}
		return setByName(nv.Target), nil
	}
	set := setByName(t.EntitySet)
	if set == nil {
		return nil, fmt.Errorf("query: unknown entity set %q", t.EntitySet)
	}
	return set, nil
}

// idCond selects the entity id in sc. An Observation's id is split into
// its datastream and minute, which the primary key holds.
func (c *compiler) idCond(sc *scope, id int64) string {
	if sc.set.name == "Observations" {
		if id < 0 {
			return "(1 = 0)"
		}
		return "(" + sc.col("datastream_id") + " = " + c.arg(id/idFactor) + " AND " + sc.col("t0") + " = " + c.arg(id%idFactor) + ")"
	}
	return "(" + sc.col("id") + " = " + c.arg(id) + ")"
}

func (c *compiler) targetConds(t Target, sc *scope) []string {
	var conds []string
	if t.ID != nil {
		conds = append(conds, c.idCond(sc, *t.ID))
	}
	if t.Via != nil {
		src := setByName(t.Via.Set)
		nv := src.nav(t.Via.Property)
		if nv.from == "id" && src.name != "Observations" {
			conds = append(conds, "("+sc.col(nv.to)+" = "+c.parentArg(t.Via.ID)+")")
		} else {
			c.aliases++
			ps := &scope{set: src, al: "p" + strconv.Itoa(c.aliases)}
			conds = append(conds, "("+sc.col(nv.to)+" IN (SELECT "+ps.col(nv.from)+" FROM "+c.view(src)+" "+ps.al+" WHERE "+c.idCond(ps, t.Via.ID)+"))")
		}
	}
	return conds
}

// orderKey is one compiled $orderby key: the value it sorts by within a
// branch (sql, on an index where it can be) and the value it is
// (out, for the union of branches).
type orderKey struct {
	sql, out string
	desc     bool
}

func (c *compiler) orderKeys(set *entitySet, sc *scope, o Options) ([]orderKey, error) {
	var keys []orderKey
	idKeys := func(desc bool) []orderKey {
		if set.name == "Observations" {
			return []orderKey{{sc.col("datastream_id"), sc.col("datastream_id"), desc}, {sc.col("t0"), sc.col("t0"), desc}}
		}
		return []orderKey{{sc.col("id"), sc.col("id"), desc}}
	}
	for _, ob := range o.OrderBy {
		if ob.Expr.Kind == NodePath && len(ob.Expr.Path) == 1 && isIDName(ob.Expr.Path[0]) {
			keys = append(keys, idKeys(ob.Desc)...)
			continue
		}
		rel := &related{scalar: true, byPath: map[string]*scope{}}
		e, err := c.expr(ob.Expr, sc, rel)
		if err != nil {
			if qe, ok := err.(*Error); ok {
				qe.Option = "$orderby"
			}
			return nil, err
		}
		var k orderKey
		switch {
		case e.konst:
			continue // sorts nothing
		case e.t == vTime || e.t == vInterval:
			k = orderKey{sql: e.sql, out: e.valueSQL()}
		case e.t == vGeo || e.t == vObject || e.t == vDuration:
			return nil, &Error{Option: "$orderby", Pos: ob.Expr.Pos, Reason: fmt.Sprintf("cannot sort by a %s", e.t)}
		default:
			k = orderKey{sql: e.valueSQL(), out: e.valueSQL()}
		}
		if len(rel.froms) > 0 {
			k.sql = "(SELECT " + k.out + " FROM " + strings.Join(rel.froms, ", ") + " WHERE " + strings.Join(rel.conds, " AND ") + ")"
			k.out = k.sql
		}
		k.desc = ob.Desc
		keys = append(keys, k)
	}
	// @iot.id last makes the order total (stable pages). It runs the way
	// the last key runs, so "phenomenonTime desc" reads an index on
	// (minute, datastream_id) backwards instead of sorting.
	last := false
	if len(o.OrderBy) > 0 {
		last = o.OrderBy[len(o.OrderBy)-1].Desc
	}
	return append(keys, idKeys(last)...), nil
}

func direction(desc bool) string {
	if desc {
		return " DESC"
	}
	return ""
}

func selectedProps(set *entitySet, o Options) []*prop {
	var out []*prop
	for i := range set.props {
		p := &set.props[i]
		if len(o.Select) == 0 {
			out = append(out, p)
			continue
		}
		for _, s := range o.Select {
			if s == p.name {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func compile(d Dialect, t Target, o Options, now time.Time, count bool) (Statement, error) {
	if d != SQLite && d != Postgres {
		return Statement{}, fmt.Errorf("query: unknown dialect %q", d)
	}
	set, err := resolveTarget(t)
	if err != nil {
		return Statement{}, err
	}
	if o.Top < 0 || o.Skip < 0 {
		return Statement{}, fmt.Errorf("query: negative $top or $skip")
	}
	c := newCompiler(d, now)
	props := selectedProps(set, o)
	branches := set.rows
	var parts []string
	var nkeys int
	for bi := range branches {
		b := &branches[bi]
		sc := &scope{set: set, b: b}
		conds := append([]string{}, b.where...)
		conds = append(conds, c.targetConds(t, sc)...)
		if o.Filter != nil {
			f, err := c.boolSQL(o.Filter, sc)
			if err != nil {
				return Statement{}, err
			}
			conds = append(conds, f)
		}
		where := ""
		if len(conds) > 0 {
			where = " WHERE " + strings.Join(conds, " AND ")
		}
		if count {
			parts = append(parts, "SELECT count(*) FROM "+b.from+where)
			continue
		}
		keys, err := c.orderKeys(set, sc, o)
		if err != nil {
			return Statement{}, err
		}
		nkeys = len(keys)
		cols := []string{sc.col("id") + " AS id"}
		for _, p := range props {
			for _, col := range p.cols {
				cols = append(cols, sc.col(col)+" AS c"+strconv.Itoa(len(cols)))
			}
		}
		var order []string
		for i, k := range keys {
			if len(branches) > 1 {
				cols = append(cols, k.out+" AS k"+strconv.Itoa(i))
			}
			order = append(order, k.sql+direction(k.desc))
		}
		q := "SELECT " + strings.Join(cols, ", ") + " FROM " + b.from + where + " ORDER BY " + strings.Join(order, ", ")
		if len(branches) > 1 {
			// Each branch stops after what the page can use, in index order.
			q = "SELECT * FROM (" + q + " LIMIT " + c.arg(int64(o.Skip)+int64(o.Top)+1) + ") b" + strconv.Itoa(bi)
		} else {
			q += " LIMIT " + c.arg(int64(o.Top)+1) + " OFFSET " + c.arg(int64(o.Skip))
		}
		parts = append(parts, q)
	}
	var q string
	switch {
	case count && len(parts) == 1:
		q = parts[0]
	case count:
		q = "SELECT (" + strings.Join(parts, ") + (") + ")"
	case len(parts) == 1:
		q = parts[0]
	default:
		keys, _ := c.orderKeys(set, &scope{set: set, b: &branches[0]}, o)
		var order []string
		for i := 0; i < nkeys; i++ {
			order = append(order, "k"+strconv.Itoa(i)+direction(keys[i].desc))
		}
		q = strings.Join(parts, " UNION ALL ") + " ORDER BY " + strings.Join(order, ", ") +
			" LIMIT " + c.arg(int64(o.Top)+1) + " OFFSET " + c.arg(int64(o.Skip))
	}
	sql, args := c.finish(q)
	st := Statement{SQL: sql, Args: args, Limit: o.Top, parentPos: c.parentPos}
	if len(branches) > 1 {
		st.extra = nkeys
	}
	if count {
		st.Columns = []Column{{Property: "count", Kind: KindInt}}
		return st, nil
	}
	for _, p := range props {
		st.Columns = append(st.Columns, Column{Property: p.name, Kind: p.kind})
		st.scan = append(st.scan, scanner{n: len(p.cols), kind: p.kind, build: p.build})
	}
	return st, nil
}

func (s Statement) scanRow(scan func(dest ...any) error) (Row, error) {
	n := 1 + s.extra
	for _, sc := range s.scan {
		n += sc.n
	}
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := scan(ptrs...); err != nil {
		return Row{}, fmt.Errorf("query: scan: %w", err)
	}
	id, err := asInt(vals[0])
	if err != nil {
		return Row{}, fmt.Errorf("query: scan @iot.id: %w", err)
	}
	row := Row{ID: id, Values: make([]any, len(s.scan))}
	i := 1
	for j, sc := range s.scan {
		v := vals[i : i+sc.n]
		i += sc.n
		var out any
		switch {
		case sc.build != nil:
			out, err = sc.build(v)
		case v[0] == nil:
			out = nil
		case sc.kind == KindString:
			out, err = asString(v[0])
		case sc.kind == KindInt:
			out, err = asInt(v[0])
		case sc.kind == KindFloat:
			out, err = asFloat(v[0])
		default:
			out = v[0]
		}
		if err != nil {
			return Row{}, fmt.Errorf("query: scan %s: %w", s.Columns[j].Property, err)
		}
		row.Values[j] = out
	}
	return row, nil
}

// parentArg is the argument of the parent's id in "key = parent", noted
// so that ForParent can swap it.
func (c *compiler) parentArg(id int64) string {
	m := c.arg(id)
	c.parentIdx = append(c.parentIdx, len(c.args)-1)
	return m
}

// ForParent is s for another parent of the same expansion: the statement
// of /Datastreams(7)/Observations made for /Datastreams(8)/Observations
// by swapping the parent's id in its arguments, not compiled again (an
// $expand of 1,000 parents compiled 1,000 times). ok is false when s
// cannot be (no parent, or one reached other than by its key).
func (s Statement) ForParent(id int64) (Statement, bool) {
	if len(s.parentPos) == 0 {
		return s, false
	}
	args := slices.Clone(s.Args)
	for _, p := range s.parentPos {
		args[p] = id
	}
	s.Args = args
	return s, true
}
