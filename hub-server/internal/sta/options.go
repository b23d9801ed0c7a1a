package sta

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/sta/query"
)

// An expanded collection's @iot.nextLink (Things(1)/Datastreams?…) must
// carry the expansion's own options; they arrived inside $expand, so they
// are written out again from the parsed tree.

// encodeOptions writes o as a URL query with $skip at skip.
func encodeOptions(o query.Options, skip int) string {
	var b strings.Builder
	b.WriteString("$top=" + strconv.Itoa(o.Top) + "&$skip=" + strconv.Itoa(skip))
	for _, p := range optionPairs(o) {
		if p[0] == "$top" || p[0] == "$skip" {
			continue
		}
		b.WriteString("&" + p[0] + "=" + queryEscape(p[1]))
	}
	return b.String()
}

// optionPairs are o's options as name and OData text.
func optionPairs(o query.Options) [][2]string {
	var out [][2]string
	if o.TopGiven {
		out = append(out, [2]string{"$top", strconv.Itoa(o.Top)})
	}
	if o.Skip > 0 {
		out = append(out, [2]string{"$skip", strconv.Itoa(o.Skip)})
	}
	if o.Count {
		out = append(out, [2]string{"$count", "true"})
	}
	if len(o.OrderBy) > 0 {
		keys := make([]string, len(o.OrderBy))
		for i, k := range o.OrderBy {
			dir := " asc"
			if k.Desc {
				dir = " desc"
			}
			keys[i] = exprString(k.Expr) + dir
		}
		out = append(out, [2]string{"$orderby", strings.Join(keys, ",")})
	}
	if len(o.Select) > 0 {
		out = append(out, [2]string{"$select", strings.Join(o.Select, ",")})
	}
	if o.Filter != nil {
		out = append(out, [2]string{"$filter", exprString(o.Filter)})
	}
	if len(o.Expand) > 0 {
		items := make([]string, len(o.Expand))
		for i, e := range o.Expand {
			items[i] = e.Property
			var inner []string
			for _, p := range optionPairs(e.Options) {
				inner = append(inner, p[0]+"="+p[1])
			}
			if len(inner) > 0 {
				items[i] += "(" + strings.Join(inner, ";") + ")"
			}
		}
		out = append(out, [2]string{"$expand", strings.Join(items, ",")})
	}
	if o.ResultFormat != "" {
		out = append(out, [2]string{"$resultFormat", o.ResultFormat})
	}
	return out
}

// queryEscape escapes a query value, spaces as %20 (not every client
// reads "+" as a space).
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// exprString writes a filter or orderby expression as OData text that
// parses to the same tree (operations bracketed, so no precedence is
// needed).
func exprString(n *query.Node) string {
	if n == nil {
		return "null"
	}
	switch n.Kind {
	case query.NodeLiteral:
		return literalString(n.Value)
	case query.NodePath:
		return strings.Join(n.Path, "/")
	case query.NodeFunc:
		args := make([]string, len(n.Args))
		for i, a := range n.Args {
			args[i] = exprString(a)
		}
		return n.Op + "(" + strings.Join(args, ",") + ")"
	case query.NodeOp:
		switch {
		case n.Op == "not" && len(n.Args) == 1:
			return "not (" + exprString(n.Args[0]) + ")"
		case n.Op == "neg" && len(n.Args) == 1:
			return "-(" + exprString(n.Args[0]) + ")"
		case len(n.Args) == 2:
			return "(" + exprString(n.Args[0]) + " " + n.Op + " " + exprString(n.Args[1]) + ")"
		}
	}
	return fmt.Sprintf("%v", n.Value)
}

func literalString(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 64)
		if !math.IsInf(v, 0) && !math.IsNaN(v) && !strings.ContainsAny(s, ".e") {
			s += ".0"
		}
		return s
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case query.Interval:
		return v.Start.UTC().Format(time.RFC3339Nano) + "/" + v.End.UTC().Format(time.RFC3339Nano)
	case query.Duration:
		return "duration'" + durationString(v) + "'"
	case query.Geometry:
		return "geography'" + wkt(v) + "'"
	}
	return fmt.Sprintf("%v", v)
}

// durationString writes d in ISO 8601 (P1Y2M3DT4H5M6.5S, months as M).
func durationString(d query.Duration) string {
	var b strings.Builder
	rest := d.D
	if rest < 0 {
		b.WriteByte('-')
		rest = -rest
	}
	b.WriteByte('P')
	if d.Months != 0 {
		b.WriteString(strconv.Itoa(d.Months) + "M")
	}
	days := rest / (24 * time.Hour)
	rest -= days * 24 * time.Hour
	if days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10) + "D")
	}
	b.WriteString("T" + strconv.FormatFloat(rest.Seconds(), 'f', -1, 64) + "S")
	return b.String()
}

// wkt writes a geometry literal's well-known text.
func wkt(g query.Geometry) string {
	ring := func(r [][2]float64) string {
		pts := make([]string, len(r))
		for i, p := range r {
			pts[i] = strconv.FormatFloat(p[0], 'f', -1, 64) + " " + strconv.FormatFloat(p[1], 'f', -1, 64)
		}
		return strings.Join(pts, ",")
	}
	polygon := func(p [][][2]float64) string {
		rings := make([]string, len(p))
		for i, r := range p {
			rings[i] = "(" + ring(r) + ")"
		}
		return "(" + strings.Join(rings, ",") + ")"
	}
	switch g.Type {
	case "POINT", "LINESTRING":
		if len(g.Polygons) > 0 && len(g.Polygons[0]) > 0 {
			return g.Type + "(" + ring(g.Polygons[0][0]) + ")"
		}
	case "POLYGON":
		if len(g.Polygons) > 0 {
			return "POLYGON" + polygon(g.Polygons[0])
		}
	case "MULTIPOLYGON":
		ps := make([]string, len(g.Polygons))
		for i, p := range g.Polygons {
			ps[i] = polygon(p)
		}
		return "MULTIPOLYGON(" + strings.Join(ps, ",") + ")"
	}
	return g.Type + " EMPTY"
}
