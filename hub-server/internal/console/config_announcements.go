package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// The announcement editor: a form over a layer's content.announcements
// for moderators who should not have to write JSON. It edits the same
// layer document as the JSON editor (GET …/config/edit?view=announcements,
// POST …/config/edit with op=ann_preview, ann_save or ann_delete), keeps
// everything else in it (other sections, other languages of a text),
// and saves through the same check (checkLayer) and audit.

// Limits of the form: a terminal's attract screen has room for a short
// title and a few sentences.
const (
	maxAnnTitle = 120
	maxAnnBody  = 1000
)

// annLangs are the languages the form edits; others in a text are kept.
var annLangs = []string{"de", "en"}

// dateInput is the value format of <input type="datetime-local">.
const dateInput = "2006-01-02T15:04"

// annForm is one announcement as the form shows and sends it.
type annForm struct {
	Orig    string // the announcement's ID; "" for a new one
	Title   map[string]string
	Body    map[string]string
	From    string   // dateInput, local time; "" = already valid
	Until   string   // dateInput, local time; "" = no end
	When    *Message // shown now, later, or ended
	Now     bool     // shown now
	Errors  []*Message
	Checked *checked // the check's outcome for this form (preview, errors)
}

type annData struct {
	Scope   string
	Layer   *store.ConfigLayer
	Version int64 // the layer version the forms are based on
	Own     bool  // the layer has an announcements list of its own
	// Inherited are the announcements the scope's terminals show from a
	// lower layer (From names it) while this one has no list of its own.
	Inherited []annForm
	From      string
	Items     []annForm
	New       annForm
	CanSave   bool
	Langs     []string
	Bad       *Message // an error not tied to one form
}

// annShow is the announcement editor page of a scope.
func (c *Console) annShow(w http.ResponseWriter, r *http.Request, scope string) {
	d, _, err := c.annLoad(r.Context(), scope)
	if err != nil {
		c.serverError(w, r, "announcements", err)
		return
	}
	c.render(w, r, http.StatusOK, "config_announcements", msg("common.announcements"), "config", d)
}

// annLoad reads scope's layer: the page data and the decoded document.
func (c *Console) annLoad(ctx context.Context, scope string) (annData, map[string]any, error) {
	p := principalFrom(ctx)
	d := annData{Scope: scope, CanSave: Can(p.user.Role, EditContent), Langs: annLangs}
	l, err := c.currentLayer(ctx, scope)
	if err != nil {
		return d, nil, err
	}
	doc := map[string]any{}
	if l != nil {
		d.Layer, d.Version = l, l.Version
		v, err := fleet.Decode(l.Document)
		if err != nil {
			return d, nil, fmt.Errorf("console: layer %s: %w", scope, err)
		}
		if m, ok := v.(map[string]any); ok {
			doc = m
		}
	}
	list, own := announcementsOf(doc)
	d.Own = own
	now := c.o.Now()
	for _, a := range list {
		d.Items = append(d.Items, formOf(a, now))
	}
	if !own {
		if d.From, list, err = c.inheritedAnnouncements(ctx, scope); err != nil {
			return d, nil, err
		}
		for _, a := range list {
			d.Inherited = append(d.Inherited, formOf(a, now))
		}
	}
	d.New = annForm{Title: map[string]string{}, Body: map[string]string{}}
	return d, doc, nil
}

// inheritedAnnouncements finds the nearest lower layer with an
// announcements list: for a terminal its quarter's, then global; for a
// quarter global.
func (c *Console) inheritedAnnouncements(ctx context.Context, scope string) (string, []map[string]any, error) {
	var lower []string
	switch {
	case strings.HasPrefix(scope, store.ScopeTerminalPrefix):
		ts, err := c.st.Terminals(ctx)
		if err != nil {
			return "", nil, err
		}
		for _, t := range ts {
			if store.ScopeTerminalPrefix+t.Name == scope {
				lower = append(lower, store.ScopeQuarterPrefix+t.Quarter)
			}
		}
		lower = append(lower, store.ScopeGlobal)
	case strings.HasPrefix(scope, store.ScopeQuarterPrefix):
		lower = []string{store.ScopeGlobal}
	}
	for _, s := range lower {
		l, err := c.currentLayer(ctx, s)
		if err != nil {
			return "", nil, err
		}
		if l == nil {
			continue
		}
		v, err := fleet.Decode(l.Document)
		if err != nil {
			continue
		}
		m, _ := v.(map[string]any)
		if list, ok := announcementsOf(m); ok {
			return s, list, nil
		}
	}
	return "", nil, nil
}

// announcementsOf returns doc's content.announcements and whether the
// layer has such a list at all.
func announcementsOf(doc map[string]any) ([]map[string]any, bool) {
	ct, _ := doc["content"].(map[string]any)
	raw, ok := ct["announcements"]
	if !ok || raw == nil {
		return nil, false
	}
	arr, _ := raw.([]any)
	var out []map[string]any
	for _, v := range arr {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, true
}

func formOf(a map[string]any, now time.Time) annForm {
	f := annForm{Title: map[string]string{}, Body: map[string]string{}}
	f.Orig, _ = a["id"].(string)
	for k, dst := range map[string]map[string]string{"title": f.Title, "body": f.Body} {
		m, _ := a[k].(map[string]any)
		for l, v := range m {
			if s, ok := v.(string); ok {
				dst[l] = s
			}
		}
	}
	var from, until time.Time
	if s, ok := a["from"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			from, f.From = t, t.Local().Format(dateInput)
		}
	}
	if s, ok := a["until"].(string); ok {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			until, f.Until = t, t.Local().Format(dateInput)
		}
	}
	switch {
	case api.Announcement{From: from, Until: until}.ValidAt(now):
		f.When, f.Now = msg("common.shown_now"), true
	case !until.IsZero() && !now.Before(until):
		f.When = msg("announcements.ended")
	default:
		f.When = msg("announcements.shown_later")
	}
	return f
}

// formFrom reads the posted form.
func formFrom(r *http.Request) annForm {
	f := annForm{Orig: r.PostFormValue("orig"), Title: map[string]string{}, Body: map[string]string{},
		From: strings.TrimSpace(r.PostFormValue("from")), Until: strings.TrimSpace(r.PostFormValue("until"))}
	for _, l := range annLangs {
		f.Title[l] = strings.TrimSpace(r.PostFormValue("title_" + l))
		f.Body[l] = strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("body_"+l), "\r\n", "\n"))
	}
	return f
}

// parseLocal reads a date and time as the form sends it (or typed by
// hand: with a space, with seconds, or a day alone meaning its start).
func parseLocal(s string) (time.Time, bool) {
	for _, layout := range []string{dateInput, "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// validate checks the form on its own.
func (f *annForm) validate() (from, until time.Time) {
	bad := func(m *Message) { f.Errors = append(f.Errors, m) }
	if f.Title["de"] == "" && f.Title["en"] == "" {
		bad(msg("announcements.error.title_missing"))
	}
	for _, l := range annLangs {
		if n := utf8.RuneCountInString(f.Title[l]); n > maxAnnTitle {
			bad(msg("announcements.error.title_too_long", "max", maxAnnTitle, "n", n))
		}
		if n := utf8.RuneCountInString(f.Body[l]); n > maxAnnBody {
			bad(msg("announcements.error.text_too_long", "max", maxAnnBody, "n", n))
		}
	}
	var ok bool
	if f.From != "" {
		if from, ok = parseLocal(f.From); !ok {
			bad(msg("announcements.error.from_not_a_date", "value", f.From))
		}
	}
	if f.Until != "" {
		if until, ok = parseLocal(f.Until); !ok {
			bad(msg("announcements.error.until_not_a_date", "value", f.Until))
		}
	}
	if !from.IsZero() && !until.IsZero() && !until.After(from) {
		bad(msg("announcements.error.until_before_from"))
	}
	return from, until
}

// annSave handles the editor's posts: check and preview, save, delete.
// Nothing is stored unless the whole layer passes checkLayer, and only
// on the layer version the form was loaded with.
func (c *Console) annSave(w http.ResponseWriter, r *http.Request, scope string) {
	e, err := c.startAnnEdit(r, scope)
	if err != nil {
		c.serverError(w, r, "announcements", err)
		return
	}
	switch {
	case e.base != e.page.Version:
		c.annConflict(w, r, e)
	case !e.findPosted():
		e.page.Bad = msg("announcements.error.gone")
		c.annAnswer(w, r, http.StatusConflict, e)
	case e.op == "ann_delete" && e.idx < 0:
		c.fail(w, r, http.StatusBadRequest, msg("announcements.error.choose_one"))
	case e.op == "ann_delete":
		e.remove()
		c.annCheckAndStore(w, r, e)
	case e.op == "ann_preview" || e.op == "ann_save":
		if !e.update() {
			c.annAnswer(w, r, http.StatusUnprocessableEntity, e)
			return
		}
		c.annCheckAndStore(w, r, e)
	default:
		c.fail(w, r, http.StatusBadRequest, msg("announcements.error.choose_action"))
	}
}

// annEdit is one post of the announcement editor: the page and layer as
// they are now, the posted form, and the layer's list as the post
// changes it.
type annEdit struct {
	scope  string
	op     string // ann_preview, ann_save or ann_delete
	page   annData
	doc    map[string]any   // the layer document
	list   []map[string]any // its announcements
	idx    int              // the posted announcement's place in list; -1: a new one
	form   annForm
	base   int64  // the layer version the form was loaded with
	detail string // for the audit log
}

func (c *Console) startAnnEdit(r *http.Request, scope string) (*annEdit, error) {
	page, doc, err := c.annLoad(r.Context(), scope)
	if err != nil {
		return nil, err
	}
	list, _ := announcementsOf(doc)
	return &annEdit{scope: scope, op: r.PostFormValue("op"), page: page, doc: doc, list: list, idx: -1,
		form: formFrom(r), base: formVersion(r)}, nil
}

// findPosted finds the announcement the form edits; false when it is
// no longer in the layer. A new one is always found.
func (e *annEdit) findPosted() bool {
	if e.form.Orig == "" {
		return true
	}
	for i, a := range e.list {
		if a["id"] == e.form.Orig {
			e.idx = i
		}
	}
	return e.idx >= 0
}

func (e *annEdit) remove() {
	e.list = append(e.list[:e.idx], e.list[e.idx+1:]...)
	e.detail = "announcement deleted: " + e.form.Orig
}

// update puts the form into the list, as a new announcement or over the
// one it edits; false when the form itself is not valid.
func (e *annEdit) update() bool {
	from, until := e.form.validate()
	if len(e.form.Errors) > 0 {
		return false
	}
	var a map[string]any
	if e.idx >= 0 {
		a = e.list[e.idx]
		e.detail = "announcement changed: " + e.form.Orig
	} else {
		a = map[string]any{"id": newAnnID(e.form, e.list)}
		e.list = append(e.list, a)
		e.detail = "announcement added: " + a["id"].(string)
	}
	a["title"] = mergeText(a["title"], e.form.Title)
	if body := mergeText(a["body"], e.form.Body); len(body) > 0 {
		a["body"] = body
	} else {
		delete(a, "body")
	}
	setTime(a, "from", from)
	setTime(a, "until", until)
	return true
}

// changedLayer is the layer document with the changed list.
func (e *annEdit) changedLayer() ([]byte, error) {
	ct, _ := e.doc["content"].(map[string]any)
	if ct == nil {
		ct = map[string]any{}
		e.doc["content"] = ct
	}
	items := make([]any, len(e.list))
	for i, a := range e.list {
		items[i] = a
	}
	ct["announcements"] = items
	return encodeLayer(e.doc)
}

// annCheckAndStore checks the changed layer as a whole (what every
// terminal it reaches would get) and, for a save, stores it.
func (c *Console) annCheckAndStore(w http.ResponseWriter, r *http.Request, e *annEdit) {
	ctx := r.Context()
	doc, err := e.changedLayer()
	if err != nil {
		c.serverError(w, r, "announcements", err)
		return
	}
	ck, err := c.checkLayer(ctx, e.scope, doc, principalFrom(ctx).user.Role)
	if err != nil {
		c.serverError(w, r, "config check", err)
		return
	}
	if ck.Base() != e.page.Version {
		c.annConflict(w, r, e)
		return
	}
	e.form.Checked = &ck
	switch {
	case len(ck.Errors) > 0:
		if e.op == "ann_delete" {
			e.page.Bad = msg("announcements.error.not_deleted")
		}
		c.annAnswer(w, r, http.StatusUnprocessableEntity, e)
	case e.op == "ann_preview":
		c.annAnswer(w, r, http.StatusOK, e)
	default:
		c.annStore(w, r, e, doc)
	}
}

func (c *Console) annStore(w http.ResponseWriter, r *http.Request, e *annEdit, doc []byte) {
	ctx := r.Context()
	_, err := c.st.PutConfigLayerIf(ctx, e.scope, doc, e.page.Version, c.auditEntry(ctx, "config.set", e.scope, e.detail))
	switch {
	case errors.Is(err, store.ErrVersionConflict):
		c.annConflict(w, r, e) // saved by someone else between the check and the write
	case err != nil:
		c.serverError(w, r, "config save", err)
	default:
		c.redirect(w, r, "/console/config/edit?view=announcements&scope="+url.QueryEscape(e.scope), "config")
	}
}

// annConflict answers a post based on a layer version someone else has
// replaced: the page as it is now, with the person's form kept.
func (c *Console) annConflict(w http.ResponseWriter, r *http.Request, e *annEdit) {
	ctx := r.Context()
	page, _, err := c.annLoad(ctx, e.scope)
	if err != nil {
		c.serverError(w, r, "announcements", err)
		return
	}
	e.page = page
	c.configConflict(ctx, e.scope, e.base, page.Layer)
	e.form.Errors = []*Message{msg("announcements.error.conflict", "version", page.Version)}
	e.form.Checked = nil
	c.annAnswer(w, r, http.StatusConflict, e)
}

// annAnswer shows the editor page with the posted form (for a delete,
// the stored announcement) carrying the messages; when its announcement
// is gone, the first message goes to the top of the page.
func (c *Console) annAnswer(w http.ResponseWriter, r *http.Request, status int, e *annEdit) {
	d, f := e.page, e.form
	found := false
	for i := range d.Items {
		if f.Orig == "" || d.Items[i].Orig != f.Orig {
			continue
		}
		found = true
		if e.op == "ann_delete" {
			d.Items[i].Errors, d.Items[i].Checked = f.Errors, f.Checked
		} else {
			d.Items[i] = f
		}
	}
	switch {
	case f.Orig == "":
		d.New = f
	case !found && d.Bad == nil && len(f.Errors) > 0:
		d.Bad = f.Errors[0]
	}
	c.render(w, r, status, "config_announcements", msg("common.announcements"), "config", d)
}

// mergeText sets the form's languages in a text, keeping the others; an
// emptied language is removed.
func mergeText(old any, form map[string]string) map[string]any {
	out := map[string]any{}
	if m, ok := old.(map[string]any); ok {
		for k, v := range m {
			out[k] = v
		}
	}
	for _, l := range annLangs {
		if form[l] == "" {
			delete(out, l)
		} else {
			out[l] = form[l]
		}
	}
	return out
}

func setTime(a map[string]any, key string, t time.Time) {
	if t.IsZero() {
		delete(a, key)
		return
	}
	a[key] = t.Format(time.RFC3339)
}

// newAnnID makes an ID from the title (lower-case letters, digits and
// dashes, as api.Content requires), unique in the list.
func newAnnID(f annForm, list []map[string]any) string {
	title := f.Title["de"]
	if title == "" {
		title = f.Title["en"]
	}
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r == 'ä':
			b.WriteString("ae")
		case r == 'ö':
			b.WriteString("oe")
		case r == 'ü':
			b.WriteString("ue")
		case r == 'ß':
			b.WriteString("ss")
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
		if b.Len() >= 40 {
			break
		}
	}
	base := strings.Trim(b.String(), "-")
	if base == "" {
		base = "announcement"
	}
	taken := map[string]bool{}
	for _, a := range list {
		if id, ok := a["id"].(string); ok {
			taken[id] = true
		}
	}
	id := base
	for n := 2; taken[id]; n++ {
		id = fmt.Sprintf("%s-%d", base, n)
	}
	return id
}

// encodeLayer writes a layer document readably (as the JSON editor
// shows it), without escaping <, > and &.
func encodeLayer(doc map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("console: encode layer: %w", err)
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}
