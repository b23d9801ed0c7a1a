package query

import "time"

// NodeKind is what a filter node is.
type NodeKind int

// The kinds of nodes.
const (
	// NodeLiteral holds Value: string, int64, float64, bool, nil (null),
	// time.Time, Interval, Duration or Geometry.
	NodeLiteral NodeKind = iota + 1
	// NodePath is a property path: Path[0] a property or navigation
	// property of the entity set, then navigation steps, a property, and
	// members of a JSON object (properties/quarter).
	NodePath
	// NodeOp is an operator (Op: "eq", "ne", "gt", "ge", "lt", "le",
	// "and", "or", "not", "add", "sub", "mul", "div", "mod", "neg") on
	// Args.
	NodeOp
	// NodeFunc is a function call (Op: its name as written in lower case,
	// "startswith", "geo.distance", "st_within") on Args.
	NodeFunc
)

// Node is one node of a $filter or $orderby expression. Pos is its byte
// offset in the option's value.
type Node struct {
	Kind  NodeKind
	Pos   int
	Op    string
	Args  []*Node
	Path  []string
	Value any
}

// Interval is a time interval literal (start/end), half open.
type Interval struct{ Start, End time.Time }

// Duration is an OData duration literal (duration'P1DT2H'): months and
// the rest, which do not add up the same way.
type Duration struct {
	Months int
	D      time.Duration
}

// Geometry is a geography literal in WKT (longitude latitude, WGS 84):
// a POINT (one ring of one point), a POLYGON (rings, the first the
// shell) or a MULTIPOLYGON (Polygons).
type Geometry struct {
	Type     string // "POINT", "POLYGON", "MULTIPOLYGON", "LINESTRING"
	Polygons [][][][2]float64
}
