package sta

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/sta/query"
)

// request is one request being answered.
type request struct {
	h    *Handler
	ctx  context.Context
	r    *http.Request
	base string // the service root's absolute URL, no trailing slash
	now  time.Time
	path string // the resource path as received (escaped), "" for the root
	// decoded is path with its escapes decoded, as parsePath reads it.
	decoded string
	raw     string // the raw query
	// mu guards entities and expansions: a page's entities are rendered
	// with their expansions by several goroutines (renderPage).
	mu sync.Mutex
	// entities counts the entities read for this answer (MaxEntities).
	entities int
	// expansions are the statements of $expand options compiled for
	// one parent, made for the next by query.Statement.ForParent.
	expansions map[*query.Options]query.Statement
}

// body is an answer ready to write.
type body struct {
	contentType string
	data        []byte
}

const (
	jsonType = "application/json; charset=utf-8"
	textType = "text/plain; charset=utf-8"
)

// badRequest is the client's mistake outside the query options (which
// are *query.Error): 400 with Msg.
type badRequest struct{ Msg string }

func (e *badRequest) Error() string { return e.Msg }

// errTooExpensive is a statement timeout or the request's deadline.
var errTooExpensive = errors.New("query too expensive: narrow it by Datastream or time")

// serve answers the request: the service root, or the resource its path
// names under its query options.
func (rq *request) serve() (body, error) {
	rp, err := parsePath(rq.decoded)
	if err != nil {
		return body{}, err
	}
	if rp.Root() {
		return jsonBody(rq.serviceDocument())
	}
	values, err := parseQuery(rq.raw)
	if err != nil {
		return body{}, err
	}
	last := rp.Last()
	if last.NoSuchID {
		return body{}, notFound("no %s(%s)", last.Name, "…")
	}
	if len(rp.Prop) > 0 {
		// Options do not apply to a property: the spec's clients send
		// none, and anything they would select is already chosen.
		return rq.serveProperty(rp)
	}
	opts, err := query.ParseOptions(last.Set, values, rq.h.o.Limits)
	if err != nil {
		return body{}, err
	}
	target, err := rq.resolve(rp)
	if err != nil {
		return body{}, err
	}
	if rp.Ref {
		opts.Select, opts.Expand = []string{"id"}, nil
	}
	if !rp.Collection() {
		e, err := rq.entity(last.Set, target, opts)
		if err != nil {
			return body{}, err
		}
		if rp.Ref {
			return jsonBody(object{{"@iot.selfLink", rq.selfLink(last.Set, e.id)}})
		}
		return jsonBody(e.obj)
	}
	if opts.ResultFormat == "dataArray" {
		if len(opts.Expand) > 0 {
			return body{}, &badRequest{Msg: "$resultFormat=dataArray takes no $expand"}
		}
		return rq.serveDataArray(last.Set, target, opts)
	}
	page, err := rq.collection(last.Set, target, opts, rp.Ref, nil)
	if err != nil {
		return body{}, err
	}
	out := object{}
	if page.count != nil {
		out = append(out, kv{"@iot.count", *page.count})
	}
	if page.more {
		out = append(out, kv{"@iot.nextLink", rq.nextLink(opts)})
	}
	out = append(out, kv{"value", page.values})
	return jsonBody(out)
}

// parseQuery splits a raw URL query into its parameters. Unlike
// url.ParseQuery it keeps ";" inside values: $expand's options are
// separated by it, and clients (QGIS, browsers) send it unescaped.
func parseQuery(raw string) (url.Values, error) {
	v := url.Values{}
	for _, p := range strings.Split(raw, "&") {
		if p == "" {
			continue // "?&$filter=…" (FROST's Grafana plugin)
		}
		k, val, _ := strings.Cut(p, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return nil, &badRequest{Msg: "query: not a valid URL query: " + err.Error()}
		}
		if val, err = url.QueryUnescape(val); err != nil {
			return nil, &badRequest{Msg: "query: " + k + " is not a valid URL query value: " + err.Error()}
		}
		v[k] = append(v[k], val)
	}
	return v, nil
}

// resolve turns a resolved path into the query's Target: every entity on
// the way is looked up (a missing one is 404), so the target is the last
// segment, an entity set, an entity, or the navigation property of one
// entity.
func (rq *request) resolve(rp *resourcePath) (query.Target, error) {
	first := rp.Segs[0]
	t := query.Target{EntitySet: first.Set}
	if first.HasID {
		t.ID = &first.ID
	}
	for i := 1; i < len(rp.Segs); i++ {
		// The entity before segment i: check it exists and learn its id
		// (a to-one navigation names its entity by the way there).
		prev := rp.Segs[i-1]
		if prev.NoSuchID {
			return query.Target{}, notFound("no %s(…)", prev.Name)
		}
		id, err := rq.lookup(prev, t)
		if err != nil {
			return query.Target{}, err
		}
		seg := rp.Segs[i]
		t = query.Target{EntitySet: seg.Set, Via: &query.Via{Set: prev.Set, ID: id, Property: seg.Name}}
		if seg.HasID {
			t.ID = &seg.ID
		}
		if seg.NoSuchID {
			return query.Target{}, notFound("no %s(…)", seg.Name)
		}
	}
	return t, nil
}

// lookup returns the id of the one entity t names, 404 when there is
// none.
func (rq *request) lookup(seg segment, t query.Target) (int64, error) {
	st, err := query.Compile(rq.h.dialect, t, query.Options{Top: 1, Select: []string{"id"}}, rq.now)
	if err != nil {
		return 0, fmt.Errorf("sta: compile %s: %w", seg.Set, err)
	}
	rows, _, err := rq.run(st)
	if err != nil {
		return 0, err
	}
	if len(rows) == 0 {
		return 0, rq.missing(seg)
	}
	return rows[0].ID, nil
}

func (rq *request) missing(seg segment) error {
	if seg.HasID {
		return notFound("no %s(%d)", seg.Name, seg.ID)
	}
	return notFound("no %s there", seg.Name)
}

// run executes st, returning at most st.Limit rows and whether there were
// more. Rows count against MaxEntities.
func (rq *request) run(st query.Statement) ([]query.Row, bool, error) {
	var rows []query.Row
	more := false
	start := time.Now()
	err := rq.h.st.QueryOpenData(rq.ctx, rq.h.o.StatementTimeout, st.SQL, st.Args, func(scan func(dest ...any) error) error {
		if st.Limit > 0 && len(rows) == st.Limit {
			more = true
			return nil
		}
		row, err := st.Scan(scan)
		if err != nil {
			return err
		}
		rq.mu.Lock()
		rq.entities++
		n := rq.entities
		rq.mu.Unlock()
		if n > rq.h.o.MaxEntities {
			return errTooMany{rq.h.o.MaxEntities}
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		var many errTooMany
		switch {
		case errors.As(err, &many):
			return nil, false, &badRequest{Msg: fmt.Sprintf("the answer would hold more than %d entities: lower $top, in the request or its $expand", many.max)}
		case errors.Is(err, context.DeadlineExceeded), rq.ctx.Err() != nil && rq.r.Context().Err() == nil,
			time.Since(start) >= rq.h.o.StatementTimeout && rq.r.Context().Err() == nil:
			// The statement's or the request's time ran out (a driver may
			// report the interrupt in words of its own).
			return nil, false, errTooExpensive
		}
		return nil, false, fmt.Errorf("sta: query: %w", err)
	}
	return rows, more, nil
}

type errTooMany struct{ max int }

func (e errTooMany) Error() string { return fmt.Sprintf("more than %d entities", e.max) }

// entityOut is a rendered entity and its id.
type entityOut struct {
	id  int64
	obj object
}

// entity reads and renders the one entity t names (404 when none), with
// its expansions.
func (rq *request) entity(set string, t query.Target, o query.Options) (entityOut, error) {
	o.Top, o.Skip, o.Count, o.Filter, o.OrderBy = 1, 0, false, nil, nil
	st, err := query.Compile(rq.h.dialect, t, o, rq.now)
	if err != nil {
		return entityOut{}, compileError(err)
	}
	rows, _, err := rq.run(st)
	if err != nil {
		return entityOut{}, err
	}
	if len(rows) == 0 {
		if t.ID != nil {
			return entityOut{}, notFound("no %s(%d)", set, *t.ID)
		}
		return entityOut{}, notFound("no %s there", set)
	}
	obj, err := rq.render(set, st.Columns, rows[0], o)
	if err != nil {
		return entityOut{}, err
	}
	return entityOut{id: rows[0].ID, obj: obj}, nil
}

// page is one page of a collection.
type page struct {
	values []any
	more   bool
	count  *int64
}

// collection reads and renders one page of the collection t names.
// expansion, when not nil, is the $expand option o comes from: its
// statement is compiled for the first parent only.
func (rq *request) collection(set string, t query.Target, o query.Options, refs bool, expansion *query.Options) (page, error) {
	var p page
	if o.Count {
		n, err := rq.count(t, o)
		if err != nil {
			return page{}, err
		}
		p.count = &n
	}
	if o.Top == 0 {
		// $top=0: only the count (QGIS asks so).
		p.values = []any{}
		return p, nil
	}
	st, err := rq.compileExpansion(t, o, expansion)
	if err != nil {
		return page{}, err
	}
	rows, more, err := rq.run(st)
	if err != nil {
		return page{}, err
	}
	p.more = more
	p.values = make([]any, len(rows))
	if refs {
		for i, row := range rows {
			p.values[i] = object{{"@iot.selfLink", rq.selfLink(set, row.ID)}}
		}
		return p, nil
	}
	workers := 1
	if expansion == nil && len(o.Expand) > 0 {
		// Each entity of the page expands with statements of its own:
		// on SQLite the readers run them side by side.
		workers = min(renderWorkers, len(rows))
	}
	if err := rq.renderPage(set, st.Columns, rows, o, p.values, workers); err != nil {
		return page{}, err
	}
	return p, nil
}

// renderWorkers bounds the goroutines that render one page's entities
// with their expansions; the concurrency limit counts requests, so one
// request uses at most this many of the store's readers.
const renderWorkers = 2

// renderPage renders rows into out (same order) with workers goroutines.
func (rq *request) renderPage(set string, cols []query.Column, rows []query.Row, o query.Options, out []any, workers int) error {
	if workers <= 1 {
		for i, row := range rows {
			obj, err := rq.render(set, cols, row, o)
			if err != nil {
				return err
			}
			out[i] = obj
		}
		return nil
	}
	var (
		next   atomic.Int64
		failed atomic.Bool
		wg     sync.WaitGroup
		errMu  sync.Mutex
		first  error
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(rows) {
					return
				}
				obj, err := rq.render(set, cols, rows[i], o)
				if err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
					failed.Store(true)
					return
				}
				out[i] = obj
			}
		}()
	}
	wg.Wait()
	return first
}

// compileExpansion compiles o for t, or takes the statement the same
// expansion had for the previous parent with t's parent swapped in.
func (rq *request) compileExpansion(t query.Target, o query.Options, expansion *query.Options) (query.Statement, error) {
	if expansion != nil && t.Via != nil {
		rq.mu.Lock()
		prev, ok := rq.expansions[expansion]
		rq.mu.Unlock()
		if ok {
			if st, ok := prev.ForParent(t.Via.ID); ok {
				return st, nil
			}
		}
	}
	st, err := query.Compile(rq.h.dialect, t, o, rq.now)
	if err != nil {
		return query.Statement{}, compileError(err)
	}
	if expansion != nil {
		rq.mu.Lock()
		if rq.expansions == nil {
			rq.expansions = map[*query.Options]query.Statement{}
		}
		rq.expansions[expansion] = st
		rq.mu.Unlock()
	}
	return st, nil
}

// count returns the number of entities t names under o's filter.
func (rq *request) count(t query.Target, o query.Options) (int64, error) {
	st, err := query.CompileCount(rq.h.dialect, t, o, rq.now)
	if err != nil {
		return 0, compileError(err)
	}
	var n int64
	err = rq.h.st.QueryOpenData(rq.ctx, rq.h.o.StatementTimeout, st.SQL, st.Args, func(scan func(dest ...any) error) error {
		return scan(&n)
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || rq.ctx.Err() != nil && rq.r.Context().Err() == nil {
			return 0, errTooExpensive
		}
		return 0, fmt.Errorf("sta: count: %w", err)
	}
	return n, nil
}

// compileError passes a bad query (*query.Error) on as it is and wraps
// anything else.
func compileError(err error) error {
	var qe *query.Error
	if errors.As(err, &qe) {
		return qe
	}
	return fmt.Errorf("sta: compile: %w", err)
}

// render writes one row of set as a SensorThings entity: @iot.id and
// @iot.selfLink, the columns, navigation links, then the expanded
// navigation properties, each as o's $select keeps them.
func (rq *request) render(set string, cols []query.Column, row query.Row, o query.Options) (object, error) {
	all := len(o.Select) == 0
	self := rq.selfLink(set, row.ID)
	obj := make(object, 0, len(cols)+8)
	if all || slices.Contains(o.Select, "id") {
		obj = append(obj, kv{"@iot.id", row.ID}, kv{"@iot.selfLink", self})
	}
	for i, c := range cols {
		obj = append(obj, kv{c.Property, row.Values[i]})
	}
	for _, n := range query.NavigationProperties(set) {
		if all || slices.Contains(o.Select, n.Name) {
			obj = append(obj, kv{n.Name + "@iot.navigationLink", self + "/" + n.Name})
		}
	}
	for i := range o.Expand {
		e := &o.Expand[i]
		nav, ok := query.NavigationOf(set, e.Property)
		if !ok {
			return nil, fmt.Errorf("sta: expand: %s has no %s", set, e.Property)
		}
		t := query.Target{EntitySet: nav.Target, Via: &query.Via{Set: set, ID: row.ID, Property: e.Property}}
		if !nav.Many {
			st, err := query.Compile(rq.h.dialect, t, withOne(e.Options), rq.now)
			if err != nil {
				return nil, compileError(err)
			}
			rows, _, err := rq.run(st)
			if err != nil {
				return nil, err
			}
			var v any
			if len(rows) > 0 {
				if v, err = rq.render(nav.Target, st.Columns, rows[0], e.Options); err != nil {
					return nil, err
				}
			}
			obj = append(obj, kv{e.Property, v})
			continue
		}
		p, err := rq.collection(nav.Target, t, e.Options, false, &e.Options)
		if err != nil {
			return nil, err
		}
		if p.count != nil {
			obj = append(obj, kv{e.Property + "@iot.count", *p.count})
		}
		if p.more {
			obj = append(obj, kv{e.Property + "@iot.nextLink", self + "/" + e.Property + "?" + encodeOptions(e.Options, e.Options.Skip+e.Options.Top)})
		}
		obj = append(obj, kv{e.Property, p.values})
	}
	return obj, nil
}

// withOne is o for a to-one navigation property: one entity, no paging.
func withOne(o query.Options) query.Options {
	o.Top, o.Skip, o.Count, o.Filter, o.OrderBy = 1, 0, false, nil, nil
	return o
}

func (rq *request) selfLink(set string, id int64) string {
	return rq.base + "/" + set + "(" + strconv.FormatInt(id, 10) + ")"
}

// nextLink is the request's own URL with $skip advanced by a page: every
// other parameter as the client sent it (the spec has clients treat the
// link as opaque; QGIS and Grafana's plugin follow it as it is).
func (rq *request) nextLink(o query.Options) string {
	var keep []string
	for _, p := range strings.Split(rq.raw, "&") {
		if p == "" {
			continue
		}
		k, _, _ := strings.Cut(p, "=")
		if k, err := url.QueryUnescape(k); err == nil && (k == "$top" || k == "$skip") {
			continue
		}
		keep = append(keep, p)
	}
	keep = append(keep, "$top="+strconv.Itoa(o.Top), "$skip="+strconv.Itoa(o.Skip+o.Top))
	return rq.base + rq.path + "?" + strings.Join(keep, "&")
}

// serviceDocument is the service root: the entity sets and the
// conformance classes this server meets.
func (rq *request) serviceDocument() object {
	sets := make([]any, 0, 8)
	for _, s := range query.EntitySets() {
		sets = append(sets, object{{"name", s}, {"url", rq.base + "/" + s}})
	}
	return object{{"value", sets}, {"serverSettings", object{{"conformance", Conformance()}}}}
}

func jsonBody(v any) (body, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, v); err != nil {
		return body{}, fmt.Errorf("sta: encode: %w", err)
	}
	return body{contentType: jsonType, data: b.Bytes()}, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
