package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

// windowUpdatedRe finds the version field of the first window form on
// the windows page after marker.
var windowUpdatedRe = regexp.MustCompile(`name="updated" value="([0-9]+)"`)

func windowUpdated(t *testing.T, p page, marker string) string {
	t.Helper()
	_, rest, ok := strings.Cut(p.body, marker)
	m := windowUpdatedRe.FindStringSubmatch(rest)
	if !ok || m == nil {
		t.Fatalf("no window form after %q on the page (%d)", marker, p.status)
	}
	return m[1]
}

func windowPost(quarter, updated string, days []string, start, duration, zone string) url.Values {
	return url.Values{"quarter": {quarter}, "updated": {updated}, "days": days, "start": {start}, "duration": {duration},
		"time_zone": {zone}, "op": {"save"}}
}

// TestMaintenanceWindows: an admin sets the default window and a
// quarter's own, sees a mistake named in place with the entries kept,
// cannot overwrite another admin's change unknowingly, and removes a
// window; each change is audited, and a viewer sees the windows only.
func TestMaintenanceWindows(t *testing.T) { teststores.EachKind(t, testMaintenanceWindows) }

func testMaintenanceWindows(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("anna", store.RoleAdmin)
	h.addUser("bert", store.RoleAdmin)
	h.addUser("vera", store.RoleViewer)
	h.enrolTerminal("jst-1", "Johannstadt")
	ctx := context.Background()
	a := h.browser()
	a.mustLogin("anna")
	p := a.get("/console/windows")
	if p.status != 200 || !strings.Contains(p.body, "No default window is set") || !strings.Contains(p.body, `<option value="Johannstadt">`) {
		t.Fatalf("windows page: %d\n%s", p.status, p.body)
	}
	// The default: weeknights from 01:30 for 3 hours.
	days := []string{"fri", "mon", "tue", "wed", "thu"}
	if p := a.post("/console/windows", windowPost("", "0", days, "01:30", "180", "Europe/Berlin")); p.status != http.StatusSeeOther {
		t.Fatalf("save default: %d\n%s", p.status, p.body)
	}
	ws, err := h.st.MaintenanceWindows(ctx)
	if err != nil || len(ws) != 1 || ws[0].Quarter != "" || strings.Join(ws[0].Days, ",") != "mon,tue,wed,thu,fri" ||
		ws[0].Start != "01:30" || ws[0].DurationMinutes != 180 || ws[0].UpdatedBy != "anna" {
		t.Fatalf("windows after saving the default: %+v, %v", ws, err)
	}
	// A quarter's own window, with a mistake first: shown in place, the
	// entries kept, nothing stored.
	add := windowPost("Johannstadt", "0", []string{"sat"}, "25:00", "60", "Europe/Berlin")
	add.Set("add", "yes")
	p = a.post("/console/windows", add)
	if p.status != http.StatusBadRequest || !strings.Contains(between(p.body, `id="window-add"`, "</section>"), "The start must be a time of day") ||
		!strings.Contains(between(p.body, `id="window-add"`, "</section>"), `value="25:00"`) {
		t.Fatalf("bad start: %d\n%s", p.status, p.body)
	}
	for field, tc := range map[string]struct{ value, want string }{
		"time_zone": {"Mars/Olympus", "is not a time zone the hub knows"},
		"duration":  {"0", "between 1 and 1440 minutes"},
		"days":      {"", "Choose at least one day"},
	} {
		f := windowPost("Johannstadt", "0", []string{"sat"}, "03:00", "60", "Europe/Berlin")
		f.Set("add", "yes")
		if tc.value == "" {
			f.Del(field)
		} else {
			f.Set(field, tc.value)
		}
		if p := a.post("/console/windows", f); p.status != http.StatusBadRequest || !strings.Contains(p.body, tc.want) {
			t.Errorf("%s %q: %d, want 400 with %q", field, tc.value, p.status, tc.want)
		}
	}
	if ws, _ := h.st.MaintenanceWindows(ctx); len(ws) != 1 {
		t.Fatalf("refused forms stored windows: %+v", ws)
	}
	add.Set("start", "03:00")
	if p := a.post("/console/windows", add); p.status != http.StatusSeeOther {
		t.Fatalf("add quarter window: %d\n%s", p.status, p.body)
	}
	if w := store.WindowFor(mustWindows(t, h), "Johannstadt"); w == nil || w.Start != "03:00" || strings.Join(w.Days, ",") != "sat" {
		t.Fatalf("Johannstadt's window: %+v", w)
	}
	if w := store.WindowFor(mustWindows(t, h), "Pieschen"); w == nil || w.Start != "01:30" {
		t.Fatalf("a quarter without its own gets the default: %+v", w)
	}
	// Two admins load the page; bert saves first, anna's older form is
	// refused with her entries kept, then saved knowingly.
	pa := a.get("/console/windows")
	b := h.browser()
	b.mustLogin("bert")
	pb := b.get("/console/windows")
	bertForm := windowPost("Johannstadt", windowUpdated(t, pb, "<h3>Johannstadt</h3>"), []string{"sun"}, "04:00", "30", "Europe/Berlin")
	h.clock.Advance(1e6) // a later update time, as a real clock would give
	if p := b.post("/console/windows", bertForm); p.status != http.StatusSeeOther {
		t.Fatalf("bert saves: %d\n%s", p.status, p.body)
	}
	annaForm := windowPost("Johannstadt", windowUpdated(t, pa, "<h3>Johannstadt</h3>"), []string{"sat", "sun"}, "05:00", "45", "Europe/Berlin")
	p = a.post("/console/windows", annaForm)
	if p.status != http.StatusConflict || !strings.Contains(p.body, "changed by someone else meanwhile") || !strings.Contains(p.body, `value="05:00"`) {
		t.Fatalf("anna's stale save: %d\n%s", p.status, p.body)
	}
	if w := store.WindowFor(mustWindows(t, h), "Johannstadt"); w.Start != "04:00" {
		t.Fatalf("the stale form overwrote bert's window: %+v", w)
	}
	annaForm.Set("updated", windowUpdated(t, p, "<h3>Johannstadt</h3>"))
	if p := a.post("/console/windows", annaForm); p.status != http.StatusSeeOther {
		t.Fatalf("anna saves again: %d\n%s", p.status, p.body)
	}
	// Remove the quarter's window: the default applies again.
	p = a.get("/console/windows")
	del := url.Values{"quarter": {"Johannstadt"}, "updated": {windowUpdated(t, p, "<h3>Johannstadt</h3>")}, "op": {"delete"}}
	if p := a.post("/console/windows", del); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", p.status, p.body)
	}
	if w := store.WindowFor(mustWindows(t, h), "Johannstadt"); w == nil || w.Start != "01:30" {
		t.Fatalf("after removing Johannstadt's window: %+v", w)
	}
	entries, err := h.st.AuditEntries(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "window.") {
			got = append(got, e.Actor+" "+e.Action+" "+e.Subject)
		}
	}
	want := []string{"anna window.delete window:Johannstadt", "anna window.set window:Johannstadt", "bert window.set window:Johannstadt",
		"anna window.set window:Johannstadt", "anna window.set window:default"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A viewer reads the windows but has no form, and cannot save.
	v := h.browser()
	v.mustLogin("vera")
	if p := v.get("/console/windows"); p.status != 200 || strings.Contains(p.body, `action="/console/windows"`) || !strings.Contains(p.body, "Monday, Tuesday") {
		t.Errorf("viewer's page: %d\n%s", p.status, p.body)
	}
	if p := v.post("/console/windows", windowPost("", windowUpdated(t, a.get("/console/windows"), `id="window-default"`), []string{"sun"}, "01:00", "60", "UTC")); p.status != http.StatusForbidden {
		t.Errorf("viewer saves: %d, want 403", p.status)
	}
}

func mustWindows(t *testing.T, h *hub) []store.MaintenanceWindow {
	t.Helper()
	ws, err := h.st.MaintenanceWindows(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ws
}
