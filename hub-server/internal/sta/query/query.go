// Package query is the SensorThings API's query language (OGC 18-088,
// SensorThings API 1.1, section 9.3): it parses the query options of a
// request ($top, $skip, $count, $orderby, $select, $expand, $filter,
// $resultFormat) into a tree with positions, checks every property, path
// and function against the entity model this hub publishes (Schema), and
// compiles a request's target and options into one parameterised SQL
// statement for SQLite or PostgreSQL (store.OpenData.QueryOpenData).
//
// Nothing from a request is ever written into SQL: names come from the
// schema's whitelist, every literal becomes an argument. Input is bounded
// (Limits): filter length, node count, nesting depth, $select and
// $orderby lengths, $expand depth.
//
// $filter offers OGC 18-088 section 9.3.3.5: eq ne gt ge lt le, and or
// not, add sub mul div mod (mod on whole numbers), the string functions
// (substringof contains startswith endswith length indexof substring
// tolower toupper trim concat; case-sensitive in both stores), year month
// day hour minute second date now mindatetime maxdatetime, round floor
// ceiling, geo.distance (degrees on the lon/lat plane), geo.intersects
// st_intersects st_within st_contains st_disjoint st_equals between a
// point property and a POINT, POLYGON (holes too) or MULTIPOLYGON
// literal; paths through navigation properties (any-semantics for
// collections) and members of JSON properties (properties/quarter,
// parameters/count, resultQuality/flag) and of the GeoJSON geometries
// (location/type is 'Point', location/geometry/type null: QGIS filters by
// geometry type so). Times compare as half-open
// intervals: an interval eq an instant contains it, gt/ge start after/at,
// lt/le end at or before it; intervals against intervals: eq, lt, gt.
// Not offered: time(), fractionalseconds(), totaloffsetminutes(),
// geo.length and the st_ relations touches/overlaps/crosses/relate, ge/le
// between two intervals, $select of members, months in durations added
// to a property.
//
// The package knows the tables of migration 00014 (terminal_sites,
// datastreams, observations, observations_hourly) and terminals; the
// static entity sets (Sensors, ObservedProperties) are inline VALUES from
// internal/air, so filters and joins treat them like tables.
package query

import (
	"fmt"
	"net/url"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/userr"
)

// Dialect is the SQL the statement is written for: store.DialectSQLite
// or store.DialectPostgres (store.OpenData.OpenDataDialect). Placeholders
// are "?" in both; QueryOpenData rewrites them.
type Dialect string

// The dialects.
const (
	SQLite   Dialect = store.DialectSQLite
	Postgres Dialect = store.DialectPostgres
)

// Limits bound what a request may ask for. Zero fields take the defaults
// of DefaultLimits.
type Limits struct {
	// DefaultTop is $top when the request gives none (also inside
	// $expand); MaxTop caps any $top (a larger one is cut to MaxTop, as
	// the spec lets a server page).
	DefaultTop, MaxTop int
	// MaxExpandDepth is how deep $expand nests (Datastreams/Observations
	// is 2).
	MaxExpandDepth int
	// MaxFilterLen is the length of one $filter in bytes, MaxFilterNodes
	// the nodes of its tree, MaxFilterDepth its nesting.
	MaxFilterLen, MaxFilterNodes, MaxFilterDepth int
	// MaxSelect, MaxOrderBy and MaxExpand bound the items of one option.
	MaxSelect, MaxOrderBy, MaxExpand int
	// MaxPolygonPoints bounds the vertices of a geography literal.
	MaxPolygonPoints int
}

// DefaultLimits are the limits of the public endpoint.
func DefaultLimits() Limits {
	return Limits{
		DefaultTop: 100, MaxTop: 10000,
		MaxExpandDepth: 2,
		MaxFilterLen:   4096, MaxFilterNodes: 256, MaxFilterDepth: 32,
		MaxSelect: 32, MaxOrderBy: 8, MaxExpand: 8,
		MaxPolygonPoints: 256,
	}
}

// Options are one request's (or one $expand's) query options, parsed and
// checked against the entity set they apply to.
type Options struct {
	// Top is the page size: the request's $top capped at MaxTop, else
	// DefaultTop. TopGiven says whether the request said $top.
	Top      int
	TopGiven bool
	Skip     int
	// Count is $count=true.
	Count   bool
	OrderBy []OrderBy
	// Select names the properties and navigation properties to render
	// (their canonical spelling, "id" for @iot.id); empty means all
	// properties (and no navigation links are dropped).
	Select []string
	Expand []Expand
	// Filter is nil when there is none; it is a boolean expression.
	Filter *Node
	// ResultFormat is "" or "dataArray" (only on Observations).
	ResultFormat string
}

// OrderBy is one $orderby key.
type OrderBy struct {
	Expr *Node
	Desc bool
}

// Expand is one $expand item: a navigation property of the entity set
// and the options for the entities it leads to (the set
// Navigation(set, Property).Target). Datastreams/Observations arrives as
// {Datastreams, {Expand: [{Observations}]}}.
type Expand struct {
	Property string
	Options  Options
}

// Error is a bad query: which option, the byte offset in that option's
// value (0-based), and why. It is for the client's 400 answer; its
// message is safe to show (userr.Message finds it).
type Error struct {
	Option string // "$filter", "$orderby", ... or "$expand/Datastreams/$filter"
	Pos    int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%s at %d: %s", e.Option, e.Pos, e.Reason) }

// Unwrap marks the message as one a person may be shown.
func (e *Error) Unwrap() error { return &userr.Error{Msg: e.Error()} }

// Target is what a request's resource path names: an entity set
// (/Observations), one entity (/Things(1): ID), or the entities a
// navigation property of one entity leads to (/Things(1)/Datastreams, and
// to-one /Datastreams(5)/Thing: Via). EntitySet may be left empty when Via
// is set: Compile takes it from the navigation property.
type Target struct {
	EntitySet string
	ID        *int64
	Via       *Via
}

// Via is "the Property of entity ID of Set".
type Via struct {
	Set      string
	ID       int64
	Property string
}

// Kind says how a column is rendered. Statement.Scan turns every kind
// into a Go value that encoding/json writes as SensorThings wants it; the
// kinds are for renderers that need more (dataArray, $value).
type Kind int

// The kinds of columns.
const (
	KindInt      Kind = iota + 1 // int64
	KindFloat                    // float64
	KindString                   // string
	KindJSON                     // json.RawMessage: an object (properties, unitOfMeasurement, parameters, resultQuality)
	KindTime                     // string, RFC 3339 UTC ("2026-12-06T10:00:00Z")
	KindInterval                 // string, "start/end" in RFC 3339 UTC
	KindGeoJSON                  // json.RawMessage: a GeoJSON geometry (location, feature, observedArea)
)

// Column is one rendered property of a Statement's rows, in the order
// they should be written (after @iot.id, which every row has).
type Column struct {
	Property string
	Kind     Kind
}

// Statement is a compiled query: SQL with "?" placeholders, its
// arguments, and what its rows hold. Rows are decoded with Scan.
type Statement struct {
	SQL     string
	Args    []any
	Columns []Column
	// Limit is the page size the SQL asks one row more than (Compile):
	// a row number Limit+1 means there is a next page.
	Limit int

	scan  []scanner
	extra int // the sort keys a union of branches reads after the values
	// parentPos are the Args that hold the Via parent's id (ForParent).
	parentPos []int
}

// Row is one decoded row: the entity's @iot.id and the values of the
// statement's Columns, each ready for encoding/json.
type Row struct {
	ID     int64
	Values []any
}

// Scan decodes one row through QueryOpenData's scan function.
func (s Statement) Scan(scan func(dest ...any) error) (Row, error) {
	return s.scanRow(scan)
}

// Navigation is a navigation property of an entity set.
type Navigation struct {
	Name   string // "Datastreams", "Thing"
	Target string // the entity set it leads to
	Many   bool   // a collection (to-many) or one entity (to-one)
}

// EntitySets returns the entity sets this hub serves, in the order the
// service root lists them.
func EntitySets() []string { return entitySetNames() }

// Properties returns the properties of an entity set in rendering order
// (without @iot.id), nil for an unknown set.
func Properties(set string) []string { return propertyNames(set) }

// NavigationProperties returns the navigation properties of an entity set
// (for @iot.navigationLink and $expand), nil for an unknown set.
func NavigationProperties(set string) []Navigation { return navigations(set) }

// NavigationOf returns the navigation property name of set.
func NavigationOf(set, name string) (Navigation, bool) {
	for _, n := range navigations(set) {
		if n.Name == name {
			return n, true
		}
	}
	return Navigation{}, false
}

// ParseOptions parses the query options of a request on entitySet (for
// /Things(1)/Datastreams: "Datastreams"). Unknown $-options, repeated
// options, unknown properties and values out of Limits are *Error.
// Parameters not starting with "$" are ignored (the spec leaves them to
// the server).
func ParseOptions(entitySet string, v url.Values, l Limits) (Options, error) {
	return parseOptions(entitySet, v, l.withDefaults())
}

// ParseFilter parses one $filter expression on entitySet.
func ParseFilter(entitySet, filter string, l Limits) (*Node, error) {
	return parseFilterOption(entitySet, "$filter", filter, l.withDefaults())
}

// Compile returns the statement that selects the rows of t under o: the
// filter, the order (the keys of $orderby, then @iot.id, so pages are
// stable: ascending, or descending when the last key is), $skip, and o.Top+1 rows so the caller knows whether
// a next page exists. Columns are the properties $select keeps (all when
// it is empty); @iot.id is always read. now decides which hours have
// ended (hourly datastreams show only those) and what now() is.
func Compile(d Dialect, t Target, o Options, now time.Time) (Statement, error) {
	return compile(d, t, o, now, false)
}

// CompileCount returns the statement that counts the entities of t under
// o's filter (one row, one int64 column), for @iot.count.
func CompileCount(d Dialect, t Target, o Options, now time.Time) (Statement, error) {
	return compile(d, t, o, now, true)
}
