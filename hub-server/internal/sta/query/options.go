package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.DefaultTop, d.DefaultTop)
	set(&l.MaxTop, d.MaxTop)
	set(&l.MaxExpandDepth, d.MaxExpandDepth)
	set(&l.MaxFilterLen, d.MaxFilterLen)
	set(&l.MaxFilterNodes, d.MaxFilterNodes)
	set(&l.MaxFilterDepth, d.MaxFilterDepth)
	set(&l.MaxSelect, d.MaxSelect)
	set(&l.MaxOrderBy, d.MaxOrderBy)
	set(&l.MaxExpand, d.MaxExpand)
	set(&l.MaxPolygonPoints, d.MaxPolygonPoints)
	if l.DefaultTop > l.MaxTop {
		l.DefaultTop = l.MaxTop
	}
	return l
}

// maxSkip keeps $skip+$top well inside int64 and SQL's LIMIT.
const maxSkip = 1 << 40

// optionValue is one option: its value is src[start:end], src the text
// positions count in (the value itself for a request's own options,
// $expand's value for nested ones).
type optionValue struct {
	name, src  string
	start, end int
}

func (o optionValue) value() string { return o.src[o.start:o.end] }

func parseOptions(set string, v map[string][]string, l Limits) (Options, error) {
	var opts []optionValue
	for k, vals := range v {
		if !strings.HasPrefix(k, "$") {
			continue
		}
		if len(vals) != 1 {
			return Options{}, &Error{Option: k, Reason: "given more than once"}
		}
		opts = append(opts, optionValue{name: k, src: vals[0], end: len(vals[0])})
	}
	return parseOptionList(set, opts, l, 0, "")
}

// parseOptionList parses the options of one level; depth counts the
// $expand levels above, prefix names them for errors
// ("$expand/Datastreams/").
func parseOptionList(setName string, opts []optionValue, l Limits, depth int, prefix string) (Options, error) {
	set := setByName(setName)
	if set == nil {
		return Options{}, fmt.Errorf("query: unknown entity set %q", setName)
	}
	o := Options{Top: l.DefaultTop}
	seen := map[string]bool{}
	// $filter and $orderby are checked against the schema by compiling
	// them; $expand last, so its errors come after this level's.
	for _, op := range opts {
		name := op.name
		fail := func(pos int, format string, args ...any) error {
			return &Error{Option: prefix + name, Pos: op.start + pos, Reason: fmt.Sprintf(format, args...)}
		}
		if seen[name] {
			return Options{}, fail(0, "given more than once")
		}
		seen[name] = true
		val := op.value()
		switch name {
		case "$top":
			n, err := strconv.ParseUint(val, 10, 31)
			if err != nil {
				return Options{}, fail(0, "expected a whole number, found %q", val)
			}
			o.Top, o.TopGiven = min(int(n), l.MaxTop), true
		case "$skip":
			n, err := strconv.ParseUint(val, 10, 63)
			if err != nil || n > maxSkip {
				return Options{}, fail(0, "expected a whole number up to %d, found %q", int64(maxSkip), val)
			}
			o.Skip = int(n)
		case "$count":
			switch val {
			case "true":
				o.Count = true
			case "false":
			default:
				return Options{}, fail(0, "expected true or false, found %q", val)
			}
		case "$resultFormat":
			if val != "dataArray" {
				return Options{}, fail(0, "the only result format is dataArray, found %q", val)
			}
			if setName != "Observations" {
				return Options{}, fail(0, "dataArray is offered for Observations only")
			}
			o.ResultFormat = val
		case "$select":
			items := splitTop(val, ',')
			if len(items) > l.MaxSelect {
				return Options{}, fail(items[l.MaxSelect].pos, "more than %d items", l.MaxSelect)
			}
			for _, it := range items {
				s := strings.TrimSpace(it.text)
				switch {
				case isIDName(s):
					s = "id"
				case set.prop(s) != nil, set.nav(s) != nil:
				default:
					return Options{}, fail(it.pos, "unknown property %q of %s", s, setName)
				}
				o.Select = append(o.Select, s)
			}
		case "$orderby":
			items := splitTop(val, ',')
			if len(items) > l.MaxOrderBy {
				return Options{}, fail(items[l.MaxOrderBy].pos, "more than %d keys", l.MaxOrderBy)
			}
			for _, it := range items {
				text, desc := it.text, false
				trimmed := strings.TrimRight(text, " ")
				for _, dir := range []string{" asc", " desc"} {
					if len(trimmed) > len(dir) && strings.EqualFold(trimmed[len(trimmed)-len(dir):], dir) {
						text, desc = trimmed[:len(trimmed)-len(dir)], dir == " desc"
						break
					}
				}
				n, err := parseExpression(prefix+name, op.src, op.start+it.pos, op.start+it.pos+len(text), l)
				if err != nil {
					return Options{}, err
				}
				o.OrderBy = append(o.OrderBy, OrderBy{Expr: n, Desc: desc})
			}
		case "$filter":
			n, err := parseExpression(prefix+name, op.src, op.start, op.end, l)
			if err != nil {
				return Options{}, err
			}
			o.Filter = n
		case "$expand":
		default:
			return Options{}, fail(0, "unknown query option (known: $top, $skip, $count, $orderby, $select, $expand, $filter, $resultFormat)")
		}
	}
	// Check $filter and $orderby against the schema: they compile.
	if err := checkCompiles(set, o, prefix); err != nil {
		return Options{}, err
	}
	for _, op := range opts {
		if op.name != "$expand" {
			continue
		}
		ex, err := parseExpand(set, op, l, depth, prefix+"$expand")
		if err != nil {
			return Options{}, err
		}
		o.Expand = ex
	}
	return o, nil
}

func checkCompiles(set *entitySet, o Options, prefix string) error {
	c := newCompiler(SQLite, time.Unix(0, 0))
	b := set.rows[0]
	sc := &scope{set: set, b: &b}
	fix := func(err error, option string) error {
		if qe, ok := err.(*Error); ok {
			qe.Option = prefix + option
			return qe
		}
		return err
	}
	if o.Filter != nil {
		if _, err := c.boolSQL(o.Filter, sc); err != nil {
			return fix(err, "$filter")
		}
	}
	if _, err := c.orderKeys(set, sc, o); err != nil {
		return fix(err, "$orderby")
	}
	return nil
}

// parseExpand reads Nav[/Nav...][(options; ...)], ... items.
func parseExpand(set *entitySet, op optionValue, l Limits, depth int, option string) ([]Expand, error) {
	val, base := op.value(), op.start
	items := splitTop(val, ',')
	if len(items) > l.MaxExpand {
		return nil, &Error{Option: option, Pos: base + items[l.MaxExpand].pos, Reason: fmt.Sprintf("more than %d items", l.MaxExpand)}
	}
	var out []Expand
	for _, it := range items {
		text := it.text
		pos := base + it.pos
		lead := len(text) - len(strings.TrimLeft(text, " "))
		text = strings.TrimSpace(text)
		pos += lead
		path, inner, hasInner := strings.Cut(text, "(")
		if hasInner {
			if !strings.HasSuffix(inner, ")") {
				return nil, &Error{Option: option, Pos: pos + len(text), Reason: "expected \")\" closing the options"}
			}
			inner = inner[:len(inner)-1]
		}
		steps := strings.Split(path, "/")
		if depth+len(steps) > l.MaxExpandDepth {
			return nil, &Error{Option: option, Pos: pos, Reason: fmt.Sprintf("$expand nests deeper than %d", l.MaxExpandDepth)}
		}
		out2, err := addExpand(out, set, steps, op.src, inner, hasInner, pos, pos+len(path)+1, l, depth, option)
		if err != nil {
			return nil, err
		}
		out = out2
	}
	return out, nil
}

// addExpand adds the item steps (with inner options on the last step)
// to list, merging items that share a first step.
func addExpand(list []Expand, set *entitySet, steps []string, src, inner string, hasInner bool, pos, innerPos int, l Limits, depth int, option string) ([]Expand, error) {
	name := strings.TrimSpace(steps[0])
	nv := set.nav(name)
	if nv == nil {
		return nil, &Error{Option: option, Pos: pos, Reason: fmt.Sprintf("unknown navigation property %q of %s", name, set.name)}
	}
	target := setByName(nv.Target)
	idx := -1
	for i := range list {
		if list[i].Property == name {
			idx = i
		}
	}
	if idx < 0 {
		list = append(list, Expand{Property: name, Options: Options{Top: l.DefaultTop}})
		idx = len(list) - 1
	}
	e := &list[idx]
	if len(steps) > 1 {
		sub, err := addExpand(e.Options.Expand, target, steps[1:], src, inner, hasInner, pos+len(steps[0])+1, innerPos, l, depth+1, option)
		if err != nil {
			return nil, err
		}
		e.Options.Expand = sub
		return list, nil
	}
	if !hasInner {
		return list, nil
	}
	if e.Options.TopGiven || e.Options.Filter != nil || len(e.Options.Select) > 0 || len(e.Options.OrderBy) > 0 || e.Options.Skip > 0 || e.Options.Count {
		return nil, &Error{Option: option, Pos: pos, Reason: fmt.Sprintf("options for %s given twice", name)}
	}
	var opts []optionValue
	for _, part := range splitTop(inner, ';') {
		k, v, ok := strings.Cut(part.text, "=")
		k = strings.TrimSpace(k)
		if !ok || !strings.HasPrefix(k, "$") {
			return nil, &Error{Option: option, Pos: innerPos + part.pos, Reason: "expected $option=value"}
		}
		end := innerPos + part.pos + len(part.text)
		opts = append(opts, optionValue{name: k, src: src, start: end - len(v), end: end})
	}
	// Options nested further down keep the existing nested expands.
	prev := e.Options.Expand
	o, err := parseOptionList(target.name, opts, l, depth+1, option+"/"+name+"/")
	if err != nil {
		return nil, err
	}
	if len(prev) > 0 && len(o.Expand) > 0 {
		return nil, &Error{Option: option, Pos: pos, Reason: fmt.Sprintf("$expand under %s given twice", name)}
	}
	if len(o.Expand) == 0 {
		o.Expand = prev
	}
	e.Options = o
	return list, nil
}

type part struct {
	text string
	pos  int
}

// splitTop splits s at sep outside quotes and parentheses.
func splitTop(s string, sep byte) []part {
	var out []part
	depth, start := 0, 0
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, part{s[start:i], start})
			start = i + 1
		}
	}
	return append(out, part{s[start:], start})
}

func parseFilterOption(set, option, filter string, l Limits) (*Node, error) {
	es := setByName(set)
	if es == nil {
		return nil, fmt.Errorf("query: unknown entity set %q", set)
	}
	n, err := parseExpression(option, filter, 0, len(filter), l)
	if err != nil {
		return nil, err
	}
	if err := checkCompiles(es, Options{Filter: n}, ""); err != nil {
		return nil, err
	}
	return n, nil
}
