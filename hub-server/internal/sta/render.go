package sta

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/sta/query"
)

// The conformance classes of SensorThings 1.1 (Annex A) and the
// requirements of request-data this server may list.
const (
	confDatamodel    = "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel"
	confResourcePath = "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities"
	confRequestData  = "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data"
	confDataArray    = "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array"
)

// Conformance returns what the service root lists under
// serverSettings.conformance, the classes this server meets:
//
//   - datamodel (Sensing Core's entities, properties and relations: every
//     entity set exists, HistoricalLocations with one entry per Thing);
//   - resource-path-to-entities (every path form of section 9.2: sets,
//     entities, navigation, properties, $value, $ref);
//   - request-data (section 9.3's query options and status codes) only
//     when $filter compiles every built-in operator and function of
//     section 9.3.3.5.2 (filterFunctions); otherwise the requirements of
//     the class that are met, each by its URI, and not .../filter;
//   - data-array (section 14.3: $resultFormat=dataArray when reading
//     Observations; creating them that way would need create-update-
//     delete, which a read-only server does not claim).
//
// Never claimed: create-update-delete, batch requests, MultiDatastreams,
// MQTT.
func Conformance() []string {
	conformanceOnce.Do(func() {
		conformance = []string{confDatamodel, confResourcePath}
		if missing := MissingFilterFunctions(); len(missing) == 0 {
			conformance = append(conformance, confRequestData)
		} else {
			for _, r := range []string{"order", "expand", "select", "orderby", "top", "skip", "count", "pagination",
				"status-code", "query-status-code"} {
				conformance = append(conformance, confRequestData+"/"+r)
			}
		}
		conformance = append(conformance, confDataArray)
	})
	return conformance
}

var (
	conformanceOnce sync.Once
	conformance     []string
)

// filterFunctions probe every built-in operator and function of OGC
// 18-088 table 25 (9.3.3.5.2) on an entity set where it makes sense.
var filterFunctions = []struct{ set, filter string }{
	{"Things", "substringof('a',name) or endswith(name,'a') or startswith(name,'a') or length(name) gt 0 or indexof(name,'a') ge 0"},
	{"Things", "substring(name,1) eq 'a' or substring(name,1,2) eq 'a' or tolower(name) eq 'a' or toupper(name) eq 'a'"},
	{"Things", "trim(name) eq 'a' or concat(name,'a') eq 'a'"},
	{"Observations", "year(resultTime) eq 2026 or month(resultTime) eq 1 or day(resultTime) eq 1 or hour(resultTime) eq 1"},
	{"Observations", "minute(resultTime) eq 1 or second(resultTime) eq 1 or date(resultTime) eq date(now())"},
	{"Observations", "fractionalseconds(resultTime) eq 0"},
	{"Observations", "time(resultTime) ne time(now())"},
	{"Observations", "totaloffsetminutes(resultTime) eq 0"},
	{"Observations", "resultTime gt mindatetime() and resultTime lt maxdatetime()"},
	{"Observations", "round(result) eq 1 or floor(result) eq 1 or ceiling(result) eq 1"},
	{"Observations", "result add 1 gt 0 or result sub 1 gt 0 or result mul 2 gt 0 or result div 2 gt 0 or parameters/count mod 2 eq 0"},
	{"Observations", "not (result ne 1) and (result ge 1 or result le 1 or result lt 1 or result gt 1 or result eq 1)"},
	{"Locations", "geo.distance(location, geography'POINT(13.7 51.0)') lt 1"},
	{"Locations", "geo.length(geography'LINESTRING(13.7 51.0, 13.8 51.1)') gt 0"},
	{"Locations", "geo.intersects(location, geography'POLYGON((13 50, 14 50, 14 52, 13 52, 13 50))')"},
	{"Locations", "st_equals(location, geography'POINT(13.7 51.0)') or st_disjoint(location, geography'POINT(13.7 51.0)')"},
	{"Locations", "st_touches(location, geography'POLYGON((13 50, 14 50, 14 52, 13 52, 13 50))')"},
	{"Locations", "st_within(location, geography'POLYGON((13 50, 14 50, 14 52, 13 52, 13 50))')"},
	{"Locations", "st_overlaps(location, geography'POLYGON((13 50, 14 50, 14 52, 13 52, 13 50))')"},
	{"Locations", "st_crosses(location, geography'LINESTRING(13.7 51.0, 13.8 51.1)')"},
	{"Locations", "st_intersects(location, geography'POLYGON((13 50, 14 50, 14 52, 13 52, 13 50))')"},
	{"Locations", "st_contains(geography'POLYGON((13 50, 14 50, 14 52, 13 52, 13 50))', location)"},
	{"Locations", "st_relate(location, geography'POINT(13.7 51.0)', 'T********')"},
}

// MissingFilterFunctions returns the probes of filterFunctions that do
// not compile: what keeps this server from claiming request-data.
func MissingFilterFunctions() []string {
	var missing []string
	for _, p := range filterFunctions {
		n, err := query.ParseFilter(p.set, p.filter, query.DefaultLimits())
		if err == nil {
			_, err = query.Compile(query.SQLite, query.Target{EntitySet: p.set}, query.Options{Top: 1, Filter: n}, time.Unix(0, 0))
		}
		if err != nil {
			missing = append(missing, p.filter+": "+err.Error())
		}
	}
	return missing
}

// object is a JSON object whose members keep their order (SensorThings
// clients read @iot.count and @iot.nextLink before value).
type object []kv

type kv struct {
	K string
	V any
}

// MarshalJSON writes the members in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeJSON(&b, m.K); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := writeJSON(&b, m.V); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSON appends v's JSON to b without HTML escaping: links keep
// their "&" (not "\u0026"), as people and naive clients read them.
func writeJSON(b *bytes.Buffer, v any) error {
	e := json.NewEncoder(b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// serveProperty answers /Set(id)/property[/member…][/$value].
func (rq *request) serveProperty(rp *resourcePath) (body, error) {
	last := rp.Last()
	target, err := rq.resolve(rp)
	if err != nil {
		return body{}, err
	}
	e, err := rq.entity(last.Set, target, query.Options{Select: []string{rp.Prop[0]}})
	if err != nil {
		return body{}, err
	}
	var v any
	for _, m := range e.obj {
		if m.K == rp.Prop[0] {
			v = m.V
		}
	}
	for _, member := range rp.Prop[1:] {
		// A member of a JSON object (properties/quarter).
		raw, ok := v.(json.RawMessage)
		var members map[string]json.RawMessage
		if !ok || json.Unmarshal(raw, &members) != nil {
			return body{}, notFound("%s has no member %q", strings.Join(rp.Prop, "/"), member)
		}
		m, ok := members[member]
		if !ok {
			return body{}, notFound("%s has no member %q", strings.Join(rp.Prop, "/"), member)
		}
		v = m
	}
	if rp.Value {
		// The raw value: a string as its text, anything else as JSON.
		if s, ok := v.(string); ok {
			return body{contentType: textType, data: []byte(s)}, nil
		}
		if raw, ok := v.(json.RawMessage); ok {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				return body{contentType: textType, data: []byte(s)}, nil
			}
		}
		b, err := json.Marshal(v)
		if err != nil {
			return body{}, err
		}
		return body{contentType: textType, data: b}, nil
	}
	return jsonBody(object{{rp.Prop[len(rp.Prop)-1], v}})
}

// observationsPerDatastream is the factor of an Observation's @iot.id:
// datastream * observationsPerDatastream + minute (migration 00014).
const observationsPerDatastream = 100000000

// serveDataArray answers a collection of Observations in the dataArray
// format: one member per Datastream with the components (the selected
// properties) and one array of values per Observation, in the order the
// query gives them.
func (rq *request) serveDataArray(set string, t query.Target, o query.Options) (body, error) {
	if set != "Observations" {
		return body{}, &badRequest{Msg: "$resultFormat=dataArray is for Observations"}
	}
	var count *int64
	if o.Count {
		n, err := rq.count(t, o)
		if err != nil {
			return body{}, err
		}
		count = &n
	}
	var (
		st   query.Statement
		rows []query.Row
		more bool
		err  error
	)
	if o.Top > 0 {
		if st, err = query.Compile(rq.h.dialect, t, o, rq.now); err != nil {
			return body{}, compileError(err)
		}
		if rows, more, err = rq.run(st); err != nil {
			return body{}, err
		}
	}
	// The components in $select's order (the spec's examples), else id
	// and every property; at[i] is component i's column (-1: the id).
	components, at := []string{}, []int{}
	if len(o.Select) == 0 {
		components, at = append(components, "id"), append(at, -1)
		for i, c := range st.Columns {
			components, at = append(components, c.Property), append(at, i)
		}
	} else {
		for _, name := range o.Select {
			if name == "id" {
				components, at = append(components, "id"), append(at, -1)
				continue
			}
			for i, c := range st.Columns {
				if c.Property == name {
					components, at = append(components, name), append(at, i)
				}
			}
		}
	}
	type group struct {
		datastream int64
		values     []any
	}
	var groups []*group
	byDatastream := map[int64]*group{}
	for _, row := range rows {
		ds := row.ID / observationsPerDatastream
		g := byDatastream[ds]
		if g == nil {
			g = &group{datastream: ds}
			byDatastream[ds] = g
			groups = append(groups, g)
		}
		vals := make([]any, len(at))
		for i, c := range at {
			if c < 0 {
				vals[i] = row.ID
			} else {
				vals[i] = row.Values[c]
			}
		}
		g.values = append(g.values, vals)
	}
	value := make([]any, 0, len(groups))
	for _, g := range groups {
		value = append(value, object{
			{"Datastream@iot.navigationLink", rq.selfLink("Datastreams", g.datastream)},
			{"components", components},
			{"dataArray@iot.count", len(g.values)},
			{"dataArray", g.values},
		})
	}
	out := object{}
	if count != nil {
		out = append(out, kv{"@iot.count", *count})
	}
	if more {
		out = append(out, kv{"@iot.nextLink", rq.nextLink(o)})
	}
	out = append(out, kv{"value", value})
	return jsonBody(out)
}

// fail answers err: 400 for a bad path or query (with the option,
// position and reason), 404 for what does not exist, 503 when the query
// ran out of time, 500 (logged, never shown) for the rest.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		pe *pathError
		qe *query.Error
		br *badRequest
	)
	switch {
	case errors.As(err, &pe) && pe.NotFound:
		writeError(w, http.StatusNotFound, pe.Msg)
	case errors.As(err, &pe):
		writeError(w, http.StatusBadRequest, pe.Msg)
	case errors.As(err, &qe):
		writeError(w, http.StatusBadRequest, qe.Error())
	case errors.As(err, &br):
		writeError(w, http.StatusBadRequest, br.Msg)
	case errors.Is(err, errTooExpensive):
		// No Retry-After: the same query would run out of time again.
		writeError(w, http.StatusServiceUnavailable, errTooExpensive.Error())
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
	default:
		h.o.Logger.ErrorContext(r.Context(), "sta: request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// writeError answers status with SensorThings' error object (FROST's
// shape: code, type, message).
func writeError(w http.ResponseWriter, status int, msg string) {
	var buf bytes.Buffer
	writeJSON(&buf, object{{"code", status}, {"type", "error"}, {"message", msg}})
	b := buf.Bytes()
	h := w.Header()
	h.Set("Content-Type", jsonType)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
