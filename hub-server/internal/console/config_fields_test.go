package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// wantOwner states, independently of layerFields, who owns each field
// path of a layer: the moderator's content, and what only admins change.
// The last two are spellings the table does not list (a field the
// terminal does not know; a known one in other letter case, which Go's
// JSON decoding on the terminal would still match).
var wantOwner = map[string]Action{
	"content":                         EditContent,
	"content.version":                 EditContent,
	"content.quarter":                 EditContent,
	"content.languages":               EditContent,
	"content.services":                EditContent,
	"content.pages":                   EditContent,
	"content.announcements":           EditContent,
	"content.surveys":                 EditContent,
	"content.problem_categories":      EditContent,
	"content.places":                  EditContent,
	"content.terminal_place":          EditContent,
	"content.help_desk":               EditContent,
	"content.session_timeout_seconds": EditSettings,
	"content.warning_seconds":         EditSettings,
	"content.service_cards":           EditSettings,
	"content.service_pin":             EditSettings,
	"content.moderator_cards":         EditSettings,
	"content.moderator_pin":           EditSettings,
	"content.Service_PIN":             EditSettings,
	"content.kiosk_mode":              EditSettings,
	"settings":                        EditSettings,
	"settings.heartbeat_interval":     EditSettings,
	"settings.sync_interval":          EditSettings,
	"settings.devices":                EditSettings,
	"settings.display":                EditSettings,
}

// TestLayerFieldsCoverAPI: the ownership table names every field of the
// layer's types (api.Content, api.TerminalSettings) and nothing else, so
// a field added to the wire format needs an owner before it can be saved.
func TestLayerFieldsCoverAPI(t *testing.T) {
	want := map[string]bool{}
	for _, sec := range api.ConfigSections {
		want[sec] = true
	}
	for sec, typ := range map[string]reflect.Type{"content": reflect.TypeFor[api.Content](), "settings": reflect.TypeFor[api.TerminalSettings]()} {
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				t.Fatalf("%s.%s has no JSON name", typ, f.Name)
			}
			want[sec+"."+name] = true
		}
	}
	for p := range want {
		if _, ok := layerFields[p]; !ok {
			t.Errorf("layerFields lacks %s: decide who owns it", p)
		}
	}
	for p := range layerFields {
		if !want[p] {
			t.Errorf("layerFields names %s, which the api types do not have", p)
		}
	}
	for p, a := range layerFields {
		if wantOwner[p] != a {
			t.Errorf("layerFields[%s] = %s, want %s", p, a, wantOwner[p])
		}
	}
}

// fieldValues are two different values for a field path, valid in a
// layer as ValidateConfigLayer checks it.
func fieldValues(path string) (string, string) {
	switch path {
	case "settings.heartbeat_interval":
		return `"30s"`, `"60s"`
	case "settings.sync_interval":
		return `"20s"`, `"40s"`
	case "settings.devices":
		return `{"printer": null}`, `{"printer": {"kind": "escpos"}}`
	case "settings.display":
		return `{"rotation": 90}`, `{"night_from": "22:00", "night_to": "06:00"}`
	case "content.session_timeout_seconds", "content.warning_seconds":
		return `120`, `86400`
	}
	return `["one"]`, `["two"]`
}

// fieldOp is one way a layer can change a field: from old to new.
type fieldOp struct {
	name     string
	old, new string
	// needs are the fields whose owner the change needs.
	needs []string
}

// fieldOps lists every way to set, change and remove path.
func fieldOps(path string) []fieldOp {
	sec, field, child := strings.Cut(path, ".")
	others := func() []string { // the section and all its fields
		var out []string
		for p := range wantOwner {
			if p == sec || strings.HasPrefix(p, sec+".") {
				out = append(out, p)
			}
		}
		return out
	}()
	if !child {
		return []fieldOp{
			{"set", `{}`, `{"` + sec + `": {}}`, []string{sec}},
			{"set on a new layer", ``, `{"` + sec + `": {}}`, []string{sec}},
			{"remove by null", `{"` + sec + `": {}}`, `{"` + sec + `": null}`, others},
			{"remove by omission", `{"` + sec + `": {}}`, `{}`, []string{sec}},
		}
	}
	v1, v2 := fieldValues(path)
	with := func(v string) string { return `{"` + sec + `": {"` + field + `": ` + v + `}}` }
	return []fieldOp{
		{"set", `{"` + sec + `": {}}`, with(v1), []string{path}},
		{"set on a new layer", ``, with(v1), []string{sec, path}},
		{"change", with(v1), with(v2), []string{path}},
		{"remove by null", with(v1), with(`null`), []string{path}},
		{"remove by omission", with(v1), `{"` + sec + `": {}}`, []string{path}},
		{"remove the section by null", with(v1), `{"` + sec + `": null}`, others},
		{"remove the section by omission", with(v1), `{}`, []string{sec, path}},
		{"set after a null", with(`null`), with(v1), []string{path}},
		{"remove the lower layers' value by null", `{"` + sec + `": {}}`, with(`null`), []string{path}},
	}
}

func mayAll(role string, paths []string) bool {
	for _, p := range paths {
		if !Can(role, wantOwner[p]) {
			return false
		}
	}
	return true
}

// TestFieldOwnership: every role × every field path × every way to
// set, change or remove it: fieldsNotOwned allows exactly what the role
// owns, and names the field it refuses.
func TestFieldOwnership(t *testing.T) {
	for _, role := range append(slices.Clone(Roles), "nobody") {
		for path := range wantOwner {
			for _, op := range fieldOps(path) {
				denied, err := fieldsNotOwned(role, []byte(op.old), []byte(op.new))
				if err != nil {
					t.Fatalf("%s %s %s: %v", role, path, op.name, err)
				}
				allowed := mayAll(role, op.needs)
				if allowed != (len(denied) == 0) {
					t.Errorf("%s: %s %s (%s → %s): refused %v, want allowed %t", role, op.name, path, op.old, op.new, denied, allowed)
				}
				for _, d := range denied {
					if Can(role, wantOwner[d]) {
						t.Errorf("%s: %s %s: refused %s, which the role owns", role, op.name, path, d)
					}
				}
				if !Can(role, wantOwner[path]) && len(op.needs) <= 2 && !slices.ContainsFunc(denied, func(d string) bool { return d == path || strings.HasPrefix(path, d+".") }) {
					t.Errorf("%s: %s %s: refused %v, which does not name the field", role, op.name, path, denied)
				}
			}
		}
	}
	// Nothing changed: nothing refused, however it is written.
	same := [][2]string{
		{`{"settings": {"sync_interval": "20s"}, "content": {"service_pin": "x"}}`, `{"content":{"service_pin":"x"},"settings":{"sync_interval":"20s"}}`},
		{``, `{}`},
		{`{"settings": {"sync_interval": "20s"}}`, `{"settings": {"sync_interval": "20s"}, "content": {"announcements": []}}`},
	}
	for _, s := range same {
		if denied, err := fieldsNotOwned(store.RoleModerator, []byte(s[0]), []byte(s[1])); err != nil || len(denied) > 0 {
			t.Errorf("%s → %s: refused %v, %v; want nothing refused", s[0], s[1], denied, err)
		}
	}
}

// TestSaveEnforcesFieldOwnership: the JSON editor stores a layer only
// when its user owns every field it changes — every role × field path ×
// way to change it, through the real handler; a refused layer leaves the
// stored one as it was.
func TestSaveEnforcesFieldOwnership(t *testing.T) {
	h := newHub(t, nil)
	ctx := context.Background()
	for _, role := range Roles {
		h.addUser(role, role)
	}
	n := 0
	for _, role := range Roles {
		b := h.browser()
		b.mustLogin(role)
		for path := range wantOwner {
			for _, op := range fieldOps(path) {
				n++
				scope := fmt.Sprintf("quarter:q%d", n)
				var version int64
				if op.old != "" {
					v, err := h.st.PutConfigLayer(ctx, scope, []byte(op.old), store.Audit{At: h.clock.Now(), Actor: "test", Action: "config.set", Subject: scope})
					if err != nil {
						t.Fatal(err)
					}
					version = v
				}
				p := b.post("/console/config/edit", url.Values{"scope": {scope}, "document": {op.new}, "op": {"save"}, "version": {fmt.Sprint(version)}})
				what := fmt.Sprintf("%s: %s %s (%s → %s)", role, op.name, path, op.old, op.new)
				stored, err := h.con.currentLayer(ctx, scope)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case !Can(role, EditContent):
					if p.status != http.StatusForbidden {
						t.Errorf("%s: %d, want 403", what, p.status)
					}
				case mayAll(role, op.needs):
					if p.status != http.StatusSeeOther || stored == nil || string(stored.Document) != op.new {
						t.Errorf("%s: %d, want it saved\n%s", what, p.status, between(p.body, `id="config-errors"`, "</div>"))
					}
					continue
				default:
					if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "Your role may not") {
						t.Errorf("%s: %d, want 422 naming the field", what, p.status)
					}
				}
				if (stored == nil) != (op.old == "") || stored != nil && string(stored.Document) != op.old {
					t.Errorf("%s: the stored layer changed", what)
				}
			}
		}
	}
}

// TestModeratorCannotReachSettings: the reported ways round the old
// settings check — "settings": null on a layer above one with settings,
// and service cards or PIN in content — are refused, also when spelt in
// other letter case, and the terminals' effective settings stay.
func TestModeratorCannotReachSettings(t *testing.T) {
	h := newHub(t, nil)
	ctx := context.Background()
	h.addUser("mod", store.RoleModerator)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	global := strings.Replace(testContent, `{"content":`, `{"settings": {"sync_interval": "20s"}, "content":`, 1)
	if !strings.Contains(global, "sync_interval") {
		t.Fatal("the fixture did not get its settings")
	}
	if _, err := h.st.PutConfigLayer(ctx, "global", []byte(global), store.Audit{At: h.clock.Now(), Actor: "test", Action: "config.set"}); err != nil {
		t.Fatal(err)
	}
	mod := h.browser()
	mod.mustLogin("mod")
	for name, doc := range map[string]string{
		"settings null":         `{"settings": null, "content": {"announcements": []}}`,
		"devices null":          `{"settings": {"devices": null}}`,
		"service cards":         `{"content": {"service_cards": ["6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"]}}`,
		"service PIN":           `{"content": {"service_pin": "pbkdf2$1$x$y"}}`,
		"service PIN, any case": `{"content": {"Service_PIN": "pbkdf2$1$x$y"}}`,
		"service PIN null":      `{"content": {"service_pin": null}}`,
		"content null":          `{"content": null}`,
		"endless sessions":      `{"content": {"session_timeout_seconds": 86400}}`,
	} {
		for _, scope := range []string{"global", "quarter:Johannstadt", "terminal:jst-1"} {
			base := "0"
			if l, _ := h.con.currentLayer(ctx, scope); l != nil {
				base = fmt.Sprint(l.Version)
			}
			p := mod.post("/console/config/edit", url.Values{"scope": {scope}, "document": {doc}, "op": {"save"}, "version": {base}})
			if p.status != http.StatusUnprocessableEntity {
				t.Errorf("%s on %s: %d, want 422", name, scope, p.status)
			}
		}
	}
	var d api.ConfigDocument
	if st, _ := term.call(http.MethodGet, api.PathConfig, nil, &d); st != http.StatusOK || !strings.Contains(string(d.Document), `"sync_interval":"20s"`) {
		t.Fatalf("the terminal's configuration lost its settings: %d %s", st, d.Document)
	}
	if ls, _ := h.st.ConfigLayers(ctx); len(ls) != 1 {
		t.Fatalf("%d layers stored, want only the global one", len(ls))
	}
}

// FuzzFieldsNotOwned: whatever two layer documents a moderator swaps,
// when fieldsNotOwned lets the change pass, the terminals' effective
// configuration keeps every field the moderator does not own — merged
// over a lower layer that sets them all, as fleet.Effective merges.
func FuzzFieldsNotOwned(f *testing.F) {
	for _, s := range [][2]string{
		{`{"settings": {"sync_interval": "20s"}}`, `{"settings": null}`},
		{`{}`, `{"content": {"service_pin": "x"}}`},
		{`{"content": {"announcements": []}}`, `{"content": null}`},
		{`{"content": {"Service_PIN": "x"}}`, `{"content": {}}`},
		{`{"content": {"pages": [1]}}`, `{"content": {"pages": [2]}, "settings": {}}`},
		{`{"content": 5}`, `{"content": {"announcements": null}}`},
		{``, `{"content": {"help_desk": {"hours": null}}}`},
	} {
		f.Add(s[0], s[1])
	}
	lower := `{"settings": {"sync_interval": "10s", "heartbeat_interval": "30s", "devices": {"printer": {"kind": "escpos"}}},
		"content": {"service_pin": "pin", "service_cards": ["c"], "session_timeout_seconds": 120, "warning_seconds": 30, "Service_PIN": "p2",
		"announcements": [], "help_desk": {"hours": {"de": "9-17"}}}}`
	f.Fuzz(func(t *testing.T, old, new string) {
		if len(old) > 4096 || len(new) > 4096 || api.TerminalJSON.Check([]byte(old)) != nil || api.TerminalJSON.Check([]byte(new)) != nil {
			return
		}
		for _, d := range []string{old, new} {
			if d == "" {
				continue
			}
			if _, err := api.ValidateConfigLayer([]byte(d)); err != nil {
				return
			}
		}
		denied, err := fieldsNotOwned(store.RoleModerator, []byte(old), []byte(new))
		if err != nil || len(denied) > 0 {
			return
		}
		effective := func(layer string) map[string]any {
			docs := [][]byte{[]byte(lower)}
			if layer != "" {
				docs = append(docs, []byte(layer))
			}
			eff, _, err := fleet.Effective(docs...)
			if err != nil {
				t.Fatalf("effective: %v", err)
			}
			v, _ := fleet.Decode(eff)
			m, _ := v.(map[string]any)
			return m
		}
		// adminPart is what the moderator must not change.
		adminPart := func(m map[string]any) string {
			part := map[string]any{"settings": m["settings"]}
			if ct, ok := m["content"].(map[string]any); ok {
				for k, v := range ct {
					if !Can(store.RoleModerator, fieldOwner("content."+k)) {
						part["content."+k] = v
					}
				}
			} else {
				part["content"] = m["content"]
			}
			b, _, _ := fleet.Canonical(part)
			return string(b)
		}
		if a, b := adminPart(effective(old)), adminPart(effective(new)); a != b {
			t.Fatalf("a moderator's change %q → %q passed but changed the admins' part:\n%s\n%s", old, new, a, b)
		}
	})
}
