package sta

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/sta/query"
)

// Conformance are the conformance classes of SensorThings 1.1 this
// server meets, as the service root lists them (section 9.2.1):
//
//   - datamodel (Sensing Core's entities, properties and relations: every
//     entity set exists, HistoricalLocations with one entry per Thing);
//   - resource-path-to-entities (every path form of section 9.2: sets,
//     entities, navigation, properties, $value, $ref);
//   - request-data (the query options of section 9.3 — $expand, $select,
//     $orderby, $top, $skip, $count, $filter with its operators and
//     functions, the geospatial ones included — and the status codes);
//   - data-array (section 14.3: $resultFormat=dataArray when reading
//     Observations; creating them that way belongs to create-update-
//     delete, which a read-only server does not claim).
//
// Not claimed: create-update-delete, batch requests, MultiDatastreams,
// MQTT.
var Conformance = []string{
	"http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
	"http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
	"http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
	"http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
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
		k, _ := json.Marshal(m.K)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(m.V)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
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
	withID := len(o.Select) == 0 || slices.Contains(o.Select, "id")
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
	components := []string{}
	if withID {
		components = append(components, "id")
	}
	for _, c := range st.Columns {
		components = append(components, c.Property)
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
		vals := make([]any, 0, len(components))
		if withID {
			vals = append(vals, row.ID)
		}
		vals = append(vals, row.Values...)
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
		w.Header().Set("Retry-After", "10")
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
	b, _ := json.Marshal(object{{"code", status}, {"type", "error"}, {"message", msg}})
	h := w.Header()
	h.Set("Content-Type", jsonType)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}
