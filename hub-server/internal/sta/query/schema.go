package query

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/internal/air"
)

// vtype is the type of a value in a filter.
type vtype int

const (
	vNull vtype = iota
	vInt
	vFloat
	vString
	vBool
	vTime     // an instant; columns in their timeUnit
	vInterval // two columns: start, end (half open)
	vDuration
	vGeo    // a point column (two columns: lon, lat) or a geometry literal
	vObject // a JSON object: only its members can be compared
	vDate   // a day (date()): days since 1970-01-01
)

func (t vtype) String() string {
	return [...]string{"null", "integer", "number", "string", "boolean", "time", "time interval", "duration", "geometry", "object", "date"}[t]
}

// timeUnit is what a time column counts since 1970.
type timeUnit int64

const (
	unitMinute timeUnit = 60 * 1e9
	unitNanos  timeUnit = 1
)

// member is a filterable member of a JSON object property
// (properties/quarter): a view column of a scalar type.
type member struct {
	col string
	typ vtype
}

// prop is a property of an entity set.
type prop struct {
	name string
	typ  vtype
	// cols are the view columns it is made of: one for scalars; start and
	// end for intervals; lon and lat for points; those the object is
	// built of for objects.
	cols    []string
	unit    timeUnit
	kind    Kind
	members map[string]member
	// build makes the rendered value from the cols' scanned values; nil
	// for plain scalars.
	build func(v []any) (any, error)
}

// nav is a navigation property: target.to = source.from.
type nav struct {
	Navigation
	from, to string
}

// branch is one SELECT of an entity set's rows: FROM text with aliases,
// WHERE conditions, and each view column's expression. Observations have
// two (per minute and per hour); the rest one. Only our own constants
// appear in it, never request text.
type branch struct {
	from  string
	where []string
	cols  map[string]string
	// shifted are columns that are another column plus a constant
	// (an observation's end is its start + 1 or + 60), so a condition on
	// them becomes one on the indexed column.
	shifted map[string]shift
}

type shift struct {
	col string
	off int64
}

type entitySet struct {
	name  string
	props []prop
	navs  []nav
	// branches get now (in unix minutes) as SQL: a placeholder, so that
	// a statement's text stays the same from minute to minute and a
	// prepared statement can be reused.
	branches func(nowMinute string) []branch
	// rows are the branches and view their union with every column
	// named, made once (the expansion of 1,000 parents compiles 1,000
	// statements).
	rows []branch
	view string
}

func (s *entitySet) prop(name string) *prop {
	for i := range s.props {
		if s.props[i].name == name {
			return &s.props[i]
		}
	}
	return nil
}

func (s *entitySet) nav(name string) *nav {
	for i := range s.navs {
		if s.navs[i].Name == name {
			return &s.navs[i]
		}
	}
	return nil
}

// sqlString quotes one of our own constants (air vocabulary) for SQL.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// caseOf maps a column's values to SQL constants: CASE col WHEN k THEN v ... END.
func caseOf(col string, pairs [][2]string) string {
	var b strings.Builder
	b.WriteString("CASE " + col)
	for _, p := range pairs {
		b.WriteString(" WHEN " + sqlString(p[0]) + " THEN " + p[1])
	}
	b.WriteString(" END")
	return b.String()
}

func quantityCase(col string, field func(q air.Quantity) string) string {
	var pairs [][2]string
	for _, q := range air.Quantities {
		pairs = append(pairs, [2]string{q.ID, field(q)})
	}
	return caseOf(col, pairs)
}

func publishedQuantities() string {
	var ids []string
	for _, q := range air.Quantities {
		ids = append(ids, sqlString(q.ID))
	}
	return "(" + strings.Join(ids, ", ") + ")"
}

// sensorIDExpr is the Sensor @iot.id of a datastream: its model's index
// in air.Models + 1, else the model that measures its quantity
// (air.ModelFor).
func sensorIDExpr() string {
	var b strings.Builder
	b.WriteString("CASE")
	for i, m := range air.Models {
		fmt.Fprintf(&b, " WHEN d.model = %s THEN %d", sqlString(m.ID), i+1)
	}
	for _, q := range air.Quantities {
		if m, ok := air.ModelFor("", q.ID); ok {
			for i := range air.Models {
				if air.Models[i].ID == m.ID {
					fmt.Fprintf(&b, " WHEN d.quantity = %s THEN %d", sqlString(q.ID), i+1)
				}
			}
		}
	}
	b.WriteString(" END")
	return b.String()
}

// verdictExpr is air.Flags.Verdict in SQL over a flags column.
func verdictExpr(flags string) string {
	bit := func(f air.Flags) string { return fmt.Sprintf("((%s & %d) <> 0)", flags, f) }
	return "CASE WHEN " + bit(air.OutOfRange) + " THEN 'invalid' WHEN " + bit(air.WarmUp) + " THEN 'warmup' WHEN " +
		bit(air.Incomplete) + " THEN 'incomplete' WHEN " + bit(air.PM25AbovePM10|air.FlatLine|air.HighHumidity) +
		" THEN 'suspect' ELSE 'ok' END"
}

const (
	observationType = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
	geoJSONType     = "application/geo+json"
	// idFactor makes an Observation's @iot.id from its datastream and
	// minute (migration 00014).
	idFactor = 100000000
)

// The FROM and WHERE of what is published: terminals with a site and a
// datastream of a published quantity not switched off.
const (
	siteFrom       = "terminals t JOIN terminal_sites s ON s.terminal_num = t.num"
	publishedThing = "EXISTS (SELECT 1 FROM datastreams pd WHERE pd.terminal_num = t.num AND pd.resolution IN ('minute', 'hour') AND pd.quantity IN "
)

func pointJSON(v []any) (any, error) {
	lon, err1 := asFloat(v[0])
	lat, err2 := asFloat(v[1])
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("point: %v %v", v[0], v[1])
	}
	return json.RawMessage(`{"type":"Point","coordinates":[` + strconv.FormatFloat(lon, 'g', -1, 64) + "," + strconv.FormatFloat(lat, 'g', -1, 64) + "]}"), nil
}

func intervalString(unit timeUnit) func(v []any) (any, error) {
	return func(v []any) (any, error) {
		a, err1 := asInt(v[0])
		b, err2 := asInt(v[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("interval: %v %v", v[0], v[1])
		}
		return formatTime(a, unit) + "/" + formatTime(b, unit), nil
	}
}

func timeString(unit timeUnit) func(v []any) (any, error) {
	return func(v []any) (any, error) {
		a, err := asInt(v[0])
		if err != nil {
			return nil, fmt.Errorf("time: %v", v[0])
		}
		return formatTime(a, unit), nil
	}
}

func formatTime(v int64, unit timeUnit) string {
	return time.Unix(0, v*int64(unit)).UTC().Format(time.RFC3339)
}

// object builds a JSON object from the cols' values under the given
// names; conv converts each value. Written by hand: a day of minutes is
// 1,440 of them per request.
func object(names []string, conv []func(any) (any, error)) func(v []any) (any, error) {
	keys := make([][]byte, len(names))
	for i, n := range names {
		k, _ := json.Marshal(n)
		keys[i] = append(k, ':')
	}
	return func(v []any) (any, error) {
		b := make([]byte, 0, 128)
		b = append(b, '{')
		for i := range names {
			val, err := conv[i](v[i])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", names[i], err)
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, keys[i]...)
			if b, err = appendJSON(b, val); err != nil {
				return nil, fmt.Errorf("%s: %w", names[i], err)
			}
		}
		return json.RawMessage(append(b, '}')), nil
	}
}

func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return append(b, "null"...), nil
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	}
	e, err := json.Marshal(v)
	return append(b, e...), err
}

// qualities are the resultQuality objects of every combination of flags.
var qualities = func() []json.RawMessage {
	out := make([]json.RawMessage, 1<<len(flagNamesForQuality()))
	for f := range out {
		names := air.Flags(f).Names()
		if names == nil {
			names = []string{}
		}
		b, _ := json.Marshal(struct {
			Flag    string   `json:"flag"`
			Reasons []string `json:"reasons"`
		}{air.Flags(f).Verdict(), names})
		out[f] = b
	}
	return out
}()

func flagNamesForQuality() []string { return (^air.Flags(0)).Names() }

func convString(v any) (any, error) { return asString(v) }
func convInt(v any) (any, error)    { return asInt(v) }
func convFloat(v any) (any, error)  { return asFloat(v) }
func convBool(v any) (any, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	}
	i, err := asInt(v)
	return i != 0, err
}

// siteProperties are a Location's and a FeatureOfInterest's properties
// (optional in SensorThings 1.1; clients such as QGIS $select them).
func siteProperties() prop {
	return prop{name: "properties", typ: vObject, cols: []string{"quarter", "place"}, kind: KindJSON,
		members: map[string]member{"quarter": {"quarter", vString}, "place": {"place", vString}},
		build:   object([]string{"quarter", "place"}, []func(any) (any, error){convString, convString})}
}

func strProp(name, col string) prop {
	return prop{name: name, typ: vString, cols: []string{col}, kind: KindString}
}

func pointProp(name string) prop {
	return prop{name: name, typ: vGeo, cols: []string{"lon", "lat"}, kind: KindGeoJSON, build: pointJSON}
}

var sets []*entitySet

func init() {
	siteCols := func() map[string]string {
		return map[string]string{
			"id": "t.num", "name": "t.name", "quarter": "t.quarter", "place": "s.place",
			"indoor": "s.indoor", "indoor_b": "(s.indoor <> 0)", "lon": "s.longitude", "lat": "s.latitude", "updated": "s.updated_at",
			"thing_description": "'Quartierhub terminal in the quarter ' || t.quarter",
			"foi_name":          "'Ambient air at ' || s.place",
			// The name says the place; the description the terminal
			// (whose name is often the place's too) and its quarter.
			"foi_description": "'The air around the Quartierhub terminal ' || t.name || ' in the quarter ' || t.quarter",
			"encoding_type":   sqlString(geoJSONType),
		}
	}
	siteBranch := func(string) []branch {
		return []branch{{from: siteFrom, where: []string{publishedThing + publishedQuantities() + ")"}, cols: siteCols()}}
	}
	things := &entitySet{
		name: "Things",
		props: []prop{
			strProp("name", "name"),
			strProp("description", "thing_description"),
			// No terminal ID: it is the terminal's credential identity and
			// of no use to data users (name and @iot.id identify a Thing).
			{name: "properties", typ: vObject, cols: []string{"quarter", "place", "indoor"}, kind: KindJSON,
				members: map[string]member{"quarter": {"quarter", vString}, "place": {"place", vString}, "indoor": {"indoor_b", vBool}},
				build:   object([]string{"quarter", "place", "indoor"}, []func(any) (any, error){convString, convString, convBool})},
		},
		navs: []nav{
			{Navigation{"Locations", "Locations", true}, "id", "id"},
			{Navigation{"HistoricalLocations", "HistoricalLocations", true}, "id", "id"},
			{Navigation{"Datastreams", "Datastreams", true}, "id", "thing_id"},
		},
		branches: siteBranch,
	}
	locations := &entitySet{
		name: "Locations",
		props: []prop{
			strProp("name", "name"),
			strProp("description", "place"),
			strProp("encodingType", "encoding_type"),
			pointProp("location"),
			siteProperties(),
		},
		navs: []nav{
			{Navigation{"Things", "Things", true}, "id", "id"},
			{Navigation{"HistoricalLocations", "HistoricalLocations", true}, "id", "id"},
		},
		branches: siteBranch,
	}
	historical := &entitySet{
		name:  "HistoricalLocations",
		props: []prop{{name: "time", typ: vTime, cols: []string{"updated"}, unit: unitNanos, kind: KindTime, build: timeString(unitNanos)}},
		navs: []nav{
			{Navigation{"Thing", "Things", false}, "id", "id"},
			{Navigation{"Locations", "Locations", true}, "id", "id"},
		},
		branches: siteBranch,
	}
	features := &entitySet{
		name: "FeaturesOfInterest",
		props: []prop{
			strProp("name", "foi_name"),
			strProp("description", "foi_description"),
			strProp("encodingType", "encoding_type"),
			pointProp("feature"),
			siteProperties(),
		},
		navs:     []nav{{Navigation{"Observations", "Observations", true}, "id", "foi_id"}},
		branches: siteBranch,
	}

	dsCols := func(now string) map[string]string {
		hourStart := "(d.first_minute - d.first_minute % 60)"
		lastHour := "(d.last_minute - d.last_minute % 60)"
		t0 := "CASE WHEN d.resolution = 'hour' THEN " + hourStart + " ELSE d.first_minute END"
		t1 := "CASE WHEN d.resolution = 'hour' THEN (CASE WHEN " + lastHour + " + 60 <= " + now + " THEN " + lastHour + " + 60 ELSE " + lastHour + " END) ELSE d.last_minute + 1 END"
		span := "CASE WHEN d.resolution = 'hour' THEN 60 ELSE 1 END"
		return map[string]string{
			"id": "d.id", "thing_id": "d.terminal_num",
			"name":        "t.name || ' ' || " + quantityCase("d.quantity", func(q air.Quantity) string { return sqlString(q.Name) }),
			"description": quantityCase("d.quantity", func(q air.Quantity) string { return sqlString(q.Name + " at ") }) + " || s.place",
			"unit_name":   quantityCase("d.quantity", func(q air.Quantity) string { return sqlString(q.UnitName) }),
			"unit_symbol": quantityCase("d.quantity", func(q air.Quantity) string { return sqlString(q.Symbol) }),
			"unit_def":    quantityCase("d.quantity", func(q air.Quantity) string { return sqlString("ucum:" + q.UCUM) }),
			"obs_type":    sqlString(observationType),
			"resolution":  "CASE WHEN d.resolution = 'hour' THEN 'PT1H' ELSE 'PT1M' END",
			"quantity":    "d.quantity", "sensor": "d.sensor",
			"sensor_id": sensorIDExpr(),
			"op_id": quantityCase("d.quantity", func(q air.Quantity) string {
				for i := range air.Quantities {
					if air.Quantities[i].ID == q.ID {
						return strconv.Itoa(i + 1)
					}
				}
				return "NULL"
			}),
			"t0": t0, "t1": t1,
			"rt0": "(" + t0 + ") + (" + span + ")", "rt1": t1,
			"lon": "s.longitude", "lat": "s.latitude",
		}
	}
	datastreams := &entitySet{
		name: "Datastreams",
		props: []prop{
			strProp("name", "name"),
			strProp("description", "description"),
			{name: "unitOfMeasurement", typ: vObject, cols: []string{"unit_name", "unit_symbol", "unit_def"}, kind: KindJSON,
				members: map[string]member{"name": {"unit_name", vString}, "symbol": {"unit_symbol", vString}, "definition": {"unit_def", vString}},
				build:   object([]string{"name", "symbol", "definition"}, []func(any) (any, error){convString, convString, convString})},
			strProp("observationType", "obs_type"),
			{name: "observedArea", typ: vGeo, cols: []string{"lon", "lat"}, kind: KindGeoJSON, build: pointJSON},
			{name: "phenomenonTime", typ: vInterval, cols: []string{"t0", "t1"}, unit: unitMinute, kind: KindInterval, build: intervalString(unitMinute)},
			{name: "resultTime", typ: vInterval, cols: []string{"rt0", "rt1"}, unit: unitMinute, kind: KindInterval, build: intervalString(unitMinute)},
			{name: "properties", typ: vObject, cols: []string{"resolution", "quantity", "sensor"}, kind: KindJSON,
				members: map[string]member{"resolution": {"resolution", vString}, "quantity": {"quantity", vString}, "sensorId": {"sensor", vString}},
				build:   object([]string{"resolution", "quantity", "sensorId"}, []func(any) (any, error){convString, convString, convString})},
		},
		navs: []nav{
			{Navigation{"Thing", "Things", false}, "thing_id", "id"},
			{Navigation{"Sensor", "Sensors", false}, "sensor_id", "id"},
			{Navigation{"ObservedProperty", "ObservedProperties", false}, "op_id", "id"},
			{Navigation{"Observations", "Observations", true}, "id", "datastream_id"},
		},
		branches: func(now string) []branch {
			return []branch{{
				from:  "datastreams d JOIN terminals t ON t.num = d.terminal_num JOIN terminal_sites s ON s.terminal_num = d.terminal_num",
				where: []string{"d.resolution IN ('minute', 'hour')", "d.quantity IN " + publishedQuantities()},
				cols:  dsCols(now),
			}}
		},
	}

	var sensorRows, opRows []string
	for i, m := range air.Models {
		sensorRows = append(sensorRows, fmt.Sprintf("SELECT %d AS id, %s AS name, %s AS description, 'application/pdf' AS encoding_type, %s AS metadata, %s AS model",
			i+1, sqlString(m.Name), sqlString(m.Description), sqlString(m.Datasheet), sqlString(m.ID)))
	}
	for i, q := range air.Quantities {
		opRows = append(opRows, fmt.Sprintf("SELECT %d AS id, %s AS name, %s AS definition, %s AS description, %s AS quantity",
			i+1, sqlString(q.Name), sqlString(q.Definition), sqlString(q.Description), sqlString(q.ID)))
	}
	staticCols := func(names ...string) map[string]string {
		m := map[string]string{}
		for _, n := range names {
			m[n] = "v." + n
		}
		return m
	}
	sensors := &entitySet{
		name: "Sensors",
		props: []prop{
			strProp("name", "name"), strProp("description", "description"),
			strProp("encodingType", "encoding_type"), strProp("metadata", "metadata"),
			{name: "properties", typ: vObject, cols: []string{"model"}, kind: KindJSON,
				members: map[string]member{"model": {"model", vString}},
				build:   object([]string{"model"}, []func(any) (any, error){convString})},
		},
		navs: []nav{{Navigation{"Datastreams", "Datastreams", true}, "id", "sensor_id"}},
		branches: func(string) []branch {
			return []branch{{from: "(" + strings.Join(sensorRows, " UNION ALL ") + ") v", cols: staticCols("id", "name", "description", "encoding_type", "metadata", "model")}}
		},
	}
	observedProperties := &entitySet{
		name: "ObservedProperties",
		props: []prop{
			strProp("name", "name"), strProp("definition", "definition"), strProp("description", "description"),
			{name: "properties", typ: vObject, cols: []string{"quantity"}, kind: KindJSON,
				members: map[string]member{"quantity": {"quantity", vString}},
				build:   object([]string{"quantity"}, []func(any) (any, error){convString})},
		},
		navs: []nav{{Navigation{"Datastreams", "Datastreams", true}, "id", "op_id"}},
		branches: func(string) []branch {
			return []branch{{from: "(" + strings.Join(opRows, " UNION ALL ") + ") v", cols: staticCols("id", "name", "definition", "description", "quantity")}}
		},
	}

	paramNames := []string{"min", "max", "count", "expectedCount", "warmupCount", "invalidCount", "minutes"}
	observations := &entitySet{
		name: "Observations",
		props: []prop{
			{name: "phenomenonTime", typ: vInterval, cols: []string{"t0", "t1"}, unit: unitMinute, kind: KindInterval, build: intervalString(unitMinute)},
			{name: "result", typ: vFloat, cols: []string{"result"}, kind: KindFloat, build: func(v []any) (any, error) {
				if v[0] == nil {
					return nil, nil
				}
				return asFloat(v[0])
			}},
			{name: "resultTime", typ: vTime, cols: []string{"t1"}, unit: unitMinute, kind: KindTime, build: timeString(unitMinute)},
			{name: "resultQuality", typ: vObject, cols: []string{"flags"}, kind: KindJSON,
				members: map[string]member{"flag": {"verdict", vString}},
				build: func(v []any) (any, error) {
					f, err := asInt(v[0])
					if err != nil || f < 0 || f >= int64(len(qualities)) {
						return nil, fmt.Errorf("flags %v: %v", v[0], err)
					}
					return qualities[f], nil
				}},
			{name: "parameters", typ: vObject, cols: []string{"min", "max", "count", "expected", "warmup", "invalid", "minutes", "span"}, kind: KindJSON,
				members: map[string]member{"min": {"min", vFloat}, "max": {"max", vFloat}, "count": {"count", vInt}, "expectedCount": {"expected", vInt},
					"warmupCount": {"warmup", vInt}, "invalidCount": {"invalid", vInt}, "minutes": {"minutes", vInt}},
				build: func(v []any) (any, error) {
					span, err := asInt(v[7])
					if err != nil {
						return nil, err
					}
					// An hour also says how many minutes its mean is made of.
					names := paramNames[:6]
					if span != 1 {
						names = paramNames
					}
					conv := []func(any) (any, error){convFloat, convFloat, convInt, convInt, convInt, convInt, convInt}
					return object(names, conv[:len(names)])(v[:len(names)])
				}},
		},
		navs: []nav{
			{Navigation{"Datastream", "Datastreams", false}, "datastream_id", "id"},
			{Navigation{"FeatureOfInterest", "FeaturesOfInterest", false}, "foi_id", "id"},
		},
		branches: func(now string) []branch {
			from := func(table, alias string) string {
				return table + " " + alias + " JOIN datastreams d ON d.id = " + alias + ".datastream_id JOIN terminal_sites s ON s.terminal_num = d.terminal_num"
			}
			minute := branch{
				from:  from("observations", "o"),
				where: []string{"d.resolution = 'minute'", "d.quantity IN " + publishedQuantities()},
				cols: map[string]string{
					"id": "(o.datastream_id * " + strconv.Itoa(idFactor) + " + o.minute)", "datastream_id": "o.datastream_id",
					"t0": "o.minute", "t1": "(o.minute + 1)", "result": "o.mean", "min": "o.min", "max": "o.max",
					"count": "o.count", "expected": "o.expected", "warmup": "o.warmup", "invalid": "o.invalid",
					"minutes": "1", "span": "1", "flags": "o.flags", "verdict": verdictExpr("o.flags"), "foi_id": "d.terminal_num",
				},
				shifted: map[string]shift{"t1": {"t0", 1}},
			}
			hour := branch{
				from: from("observations_hourly", "h"),
				// Only hours that have ended: a running hour's mean changes.
				where: []string{"d.resolution = 'hour'", "d.quantity IN " + publishedQuantities(), "h.hour <= (" + now + " - 60)"},
				cols: map[string]string{
					"id": "(h.datastream_id * " + strconv.Itoa(idFactor) + " + h.hour)", "datastream_id": "h.datastream_id",
					"t0": "h.hour", "t1": "(h.hour + 60)", "result": "(CASE WHEN h.minutes > 0 THEN h.sum / h.minutes END)",
					"min": "h.min", "max": "h.max", "count": "h.count", "expected": "h.expected", "warmup": "h.warmup", "invalid": "h.invalid",
					"minutes": "h.minutes", "span": "60", "flags": "h.flags", "verdict": verdictExpr("h.flags"), "foi_id": "d.terminal_num",
				},
				shifted: map[string]shift{"t1": {"t0", 60}},
			}
			return []branch{minute, hour}
		},
	}
	sets = []*entitySet{things, locations, historical, datastreams, sensors, observedProperties, observations, features}
	for _, s := range sets {
		s.rows = s.branches(nowMarker)
		s.view = viewOf(s)
	}
}

func setByName(name string) *entitySet {
	for _, s := range sets {
		if s.name == name {
			return s
		}
	}
	return nil
}

func entitySetNames() []string {
	var out []string
	for _, s := range sets {
		out = append(out, s.name)
	}
	return out
}

func propertyNames(set string) []string {
	s := setByName(set)
	if s == nil {
		return nil
	}
	var out []string
	for _, p := range s.props {
		out = append(out, p.name)
	}
	return out
}

func navigations(set string) []Navigation {
	s := setByName(set)
	if s == nil {
		return nil
	}
	var out []Navigation
	for _, n := range s.navs {
		out = append(out, n.Navigation)
	}
	return out
}

// Scanned values arrive as what the driver makes of them: int64,
// float64, string, []byte, bool.
func asInt(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case float64:
		return int64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("not an integer: %T", v)
}

func asFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case []byte:
		return strconv.ParseFloat(string(x), 64)
	case string:
		return strconv.ParseFloat(x, 64)
	}
	return 0, fmt.Errorf("not a number: %T", v)
}

func asString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return "", fmt.Errorf("not a string: %T", v)
}
