package console

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

// siteForm is a complete site form as a person fills it in.
func siteForm(version, lat, lon, place string, indoor bool, publish map[string]string) url.Values {
	f := url.Values{"version": {version}, "latitude": {lat}, "longitude": {lon}, "place": {place}}
	if indoor {
		f.Set("indoor", "yes")
	}
	for _, q := range []string{"pm25", "pm10", "co2"} {
		f.Set("publish_"+q, "default")
	}
	for q, r := range publish {
		f.Set("publish_"+q, r)
	}
	return f
}

func mustSite(t *testing.T, h *hub, terminalID string) store.Site {
	t.Helper()
	s, err := h.st.Site(context.Background(), terminalID)
	if err != nil {
		t.Fatalf("Site: %v", err)
	}
	return s
}

// TestSiteForm: an admin publishes a terminal by pasting a map's
// coordinates, gets the defaults (outdoors everything per minute; indoors
// CO2 hourly), is stopped before publishing indoor CO2 per minute
// unconfirmed, and stops publishing; every change is audited, bad input
// stores nothing.
func TestSiteForm(t *testing.T) { teststores.EachKind(t, testSiteForm) }

func testSiteForm(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	h.addUser("anna", store.RoleAdmin)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	b := h.browser()
	b.mustLogin("anna")
	if p := b.get("/console/terminals/jst-1"); !strings.Contains(p.body, `href="/console/terminals/jst-1/site"`) {
		t.Fatalf("the terminal page does not link its site page (%d)", p.status)
	}
	p := b.get("/console/terminals/jst-1/site")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="site-none"`) || formVersionIn(t, p) != "0" {
		t.Fatalf("site page of an unpublished terminal: %d\n%s", p.status, p.body)
	}

	p = b.post("/console/terminals/jst-1/site", siteForm("0", " 51.0504, 13.7373 ", "", "Bönischplatz, an der Bibliothek", false, nil))
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/terminals/jst-1/site?site=saved" {
		t.Fatalf("publish: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	s := mustSite(t, h, term.id)
	if s.Latitude != 51.0504 || s.Longitude != 13.7373 || s.Place != "Bönischplatz, an der Bibliothek" || s.Indoor || len(s.Publish) != 0 || s.Version != 1 {
		t.Fatalf("stored %+v", s)
	}
	p = b.get("/console/terminals/jst-1/site?site=saved")
	stored := between(p.body, `id="site-stored"`, "</section>")
	if !strings.Contains(p.body, `id="site-done"`) || !strings.Contains(stored, "51.0504, 13.7373") || strings.Count(stored, "per minute") != 3 {
		t.Errorf("the saved site is not shown with every quantity per minute:\n%s", stored)
	}

	// Indoors the default hides CO2 per minute; asking for it needs the tick.
	p = b.post("/console/terminals/jst-1/site", siteForm("1", "51.0504", "13.7373", "Bibliothek Johannstadt, Lesesaal", true, map[string]string{"co2": "minute"}))
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="site-error"`) || !strings.Contains(p.body, "Tick the confirmation") {
		t.Fatalf("indoor CO2 per minute unconfirmed: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(html.UnescapeString(p.body), `value="Bibliothek Johannstadt, Lesesaal"`) {
		t.Error("the refused form lost the person's place")
	}
	if mustSite(t, h, term.id).Version != 1 {
		t.Fatal("a refused form changed the site")
	}
	p = b.post("/console/terminals/jst-1/site", siteForm("1", "51.0504", "13.7373", "Bibliothek Johannstadt, Lesesaal", true, nil))
	if p.status != http.StatusSeeOther {
		t.Fatalf("indoor with defaults: %d\n%s", p.status, p.body)
	}
	if s := mustSite(t, h, term.id); !s.Indoor || s.Resolution("co2") != store.ResolutionHour || s.Resolution("pm25") != store.ResolutionMinute || s.Version != 2 {
		t.Fatalf("indoor defaults: %+v", s)
	}
	f := siteForm("2", "51.0504", "13.7373", "Bibliothek Johannstadt, Lesesaal", true, map[string]string{"co2": "minute", "pm10": "off"})
	f.Set("confirm_co2_minute", "yes")
	if p := b.post("/console/terminals/jst-1/site", f); p.status != http.StatusSeeOther {
		t.Fatalf("confirmed indoor CO2 per minute: %d\n%s", p.status, p.body)
	}
	if s := mustSite(t, h, term.id); s.Resolution("co2") != store.ResolutionMinute || s.Resolution("pm10") != store.ResolutionOff {
		t.Fatalf("overrides: %+v", s)
	}

	// Bad input: a clear message, nothing stored.
	for name, f := range map[string]url.Values{
		"latitude 91":       siteForm("3", "91", "13.7", "Platz", false, nil),
		"longitude -181":    siteForm("3", "51", "-181", "Platz", false, nil),
		"NaN":               siteForm("3", "NaN", "13.7", "Platz", false, nil),
		"hex float":         siteForm("3", "0x1p-2", "13.7", "Platz", false, nil),
		"exponent":          siteForm("3", "5.1e1", "13.7", "Platz", false, nil),
		"one number only":   siteForm("3", "51.05", "", "Platz", false, nil),
		"no place":          siteForm("3", "51.05", "13.7", "  ", false, nil),
		"long place":        siteForm("3", "51.05", "13.7", strings.Repeat("ä", 201), false, nil),
		"line break":        siteForm("3", "51.05", "13.7", "Platz\nzwei", false, nil),
		"unknown choice":    siteForm("3", "51.05", "13.7", "Platz", false, map[string]string{"pm25": "second"}),
		"long coordinate":   siteForm("3", strings.Repeat("1", 65), "13.7", "Platz", false, nil),
		"sign and hemisph.": siteForm("3", "-51N", "13.7", "Platz", false, nil),
	} {
		if p := b.post("/console/terminals/jst-1/site", f); p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `id="site-error"`) {
			t.Errorf("%s: %d, want 422 with a message", name, p.status)
		}
	}
	if s := mustSite(t, h, term.id); s.Version != 3 || s.Place != "Bibliothek Johannstadt, Lesesaal" {
		t.Fatalf("bad input changed the site: %+v", s)
	}

	// Stopping on an old version is a conflict; on the current one it unpublishes.
	if p := b.post("/console/terminals/jst-1/site/stop", url.Values{"version": {"2"}}); p.status != http.StatusConflict || !strings.Contains(p.body, `id="site-conflict"`) {
		t.Fatalf("stop on an old version: %d", p.status)
	}
	if p := b.post("/console/terminals/jst-1/site/stop", url.Values{"version": {"3"}}); p.status != http.StatusSeeOther {
		t.Fatalf("stop: %d\n%s", p.status, p.body)
	}
	if _, err := h.st.Site(context.Background(), term.id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after stop: %v, want no site", err)
	}
	for action, n := range map[string]int{"site.set": 3, "site.delete": 1, "site.conflict": 1} {
		es, err := h.st.AuditEntries(context.Background(), store.AuditFilter{Action: action})
		if err != nil || len(es) != n {
			t.Errorf("audit %s: %d entries (%v), want %d", action, len(es), err, n)
			continue
		}
		if es[0].Actor != "anna" || es[0].Subject != "terminal:jst-1" {
			t.Errorf("audit %s: %+v", action, es[0])
		}
	}
	auditHas(t, h, "site.set", "anna", `51.050400,13.737300 "Bibliothek Johannstadt, Lesesaal" indoor=true pm25=minute pm10=off co2=minute`)
}

// TestSiteConflict: two admins edit one site; the second save is refused
// with the conflict page in the person's language, which keeps their
// entries and shows what is stored; saving from it replaces the site.
func TestSiteConflict(t *testing.T) { teststores.EachKind(t, testSiteConflict) }

func testSiteConflict(t *testing.T, kind string) {
	h := newHubOn(t, kind, nil)
	ctx := context.Background()
	h.addUser("anna", store.RoleAdmin)
	h.addUser("bernd", store.RoleAdmin)
	if err := h.st.SetUserLang(ctx, mustUser(t, h, "bernd").ID, "de", store.Audit{At: h.clock.Now(), Actor: "test", Action: "user.lang"}); err != nil {
		t.Fatal(err)
	}
	term := h.enrolTerminal("jst-1", "Johannstadt")
	if _, err := h.st.PutSite(ctx, store.Site{TerminalID: term.id, Latitude: 51.05, Longitude: 13.76, Place: "Bönischplatz"},
		store.Audit{At: h.clock.Now(), Actor: "test", Action: "site.set"}); err != nil {
		t.Fatal(err)
	}
	a, b := h.browser(), h.browser()
	a.mustLogin("anna")
	b.mustLogin("bernd")
	va := formVersionIn(t, a.get("/console/terminals/jst-1/site"))
	vb := formVersionIn(t, b.get("/console/terminals/jst-1/site"))
	if va != "1" || vb != "1" {
		t.Fatalf("loaded versions %s and %s, want 1", va, vb)
	}
	if p := a.post("/console/terminals/jst-1/site", siteForm(va, "51.0521", "13.7640", "Pfotenhauerstraße, Haltestelle", false, nil)); p.status != http.StatusSeeOther {
		t.Fatalf("first save: %d", p.status)
	}
	p := b.post("/console/terminals/jst-1/site", siteForm(vb, "51.0490, 13.7700", "", "Johannstädter Ufer <Elbwiesen>", false, nil))
	if p.status != http.StatusConflict {
		t.Fatalf("second save on the old version: %d, want 409\n%s", p.status, p.body)
	}
	body := html.UnescapeString(p.body)
	stored := html.UnescapeString(between(p.body, `id="site-stored"`, "</section>"))
	switch {
	case !strings.Contains(body, "Jemand anderes hat diesen Standort geändert"):
		t.Errorf("no German conflict message:\n%s", p.body)
	case !strings.Contains(body, `value="Johannstädter Ufer <Elbwiesen>"`) || !strings.Contains(body, `value="51.0490, 13.7700"`):
		t.Errorf("the person's entries are not kept:\n%s", p.body)
	case !strings.Contains(stored, "Pfotenhauerstraße, Haltestelle") || !strings.Contains(stored, "51.0521, 13.764"):
		t.Errorf("the stored site is not shown: %q", stored)
	case formVersionIn(t, p) != "2":
		t.Errorf("the conflict page saves on version %s, want 2", formVersionIn(t, p))
	}
	if s := mustSite(t, h, term.id); s.Place != "Pfotenhauerstraße, Haltestelle" || s.Version != 2 {
		t.Fatalf("stored %+v, want the first save", s)
	}
	if es, _ := h.st.AuditEntries(ctx, store.AuditFilter{Action: "site.conflict"}); len(es) != 1 || es[0].Actor != "bernd" {
		t.Fatalf("conflict audit: %+v", es)
	}
	// From the conflict page, saving again replaces the stored site.
	if p := b.post("/console/terminals/jst-1/site", siteForm(formVersionIn(t, p), "51.0490, 13.7700", "", "Johannstädter Ufer <Elbwiesen>", false, nil)); p.status != http.StatusSeeOther {
		t.Fatalf("save from the conflict page: %d", p.status)
	}
	if s := mustSite(t, h, term.id); s.Place != "Johannstädter Ufer <Elbwiesen>" || s.Latitude != 51.049 || s.Longitude != 13.77 || s.Version != 3 {
		t.Fatalf("stored %+v", s)
	}
}

// The viewer sees the site but no form; only admins may change it.
func TestSiteViewerReadOnly(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("vera", store.RoleViewer)
	term := h.enrolTerminal("jst-1", "Johannstadt")
	if _, err := h.st.PutSite(context.Background(), store.Site{TerminalID: term.id, Latitude: 51.05, Longitude: 13.76, Place: "Bönischplatz"},
		store.Audit{At: h.clock.Now(), Actor: "test", Action: "site.set"}); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	b.mustLogin("vera")
	p := b.get("/console/terminals/jst-1/site")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Bönischplatz") || strings.Contains(p.body, `id="site-form"`) || strings.Contains(p.body, `id="site-stop"`) {
		t.Fatalf("viewer's site page: %d\n%s", p.status, p.body)
	}
	if p := b.post("/console/terminals/jst-1/site/stop", url.Values{"version": {"1"}}); p.status != http.StatusForbidden {
		t.Fatalf("viewer stops publishing: %d, want 403", p.status)
	}
}

func TestParseCoordinates(t *testing.T) {
	for _, c := range []struct {
		lat, lon       string
		wantLat, wantL float64
	}{
		{"51.0504", "13.7373", 51.0504, 13.7373},
		{"51.0504, 13.7373", "", 51.0504, 13.7373},
		{"51.0504,13.7373", "", 51.0504, 13.7373},
		{"51.0504;13.7373", "", 51.0504, 13.7373},
		{"51.0504 13.7373", "", 51.0504, 13.7373},
		{"51,0504", "13,7373", 51.0504, 13.7373},
		{"51,0504 13,7373", "", 51.0504, 13.7373},
		{"51.0504° N, 13.7373° E", "", 51.0504, 13.7373},
		{"13.7373E 51.0504N", "", 51.0504, 13.7373},
		{"51.0504N", "13.7373O", 51.0504, 13.7373},
		{"S33.86", "151.21E", -33.86, 151.21},
		{"-33.86", "-70.65", -33.86, -70.65},
		{"+90", "180", 90, 180},
	} {
		lat, lon, m := parseCoordinates(c.lat, c.lon)
		if m != nil || lat != c.wantLat || lon != c.wantL {
			t.Errorf("parseCoordinates(%q, %q) = %v, %v, %v; want %v, %v", c.lat, c.lon, lat, lon, m, c.wantLat, c.wantL)
		}
	}
	for _, c := range [][2]string{{"", ""}, {"51.05", ""}, {"51,05", ""}, {"inf", "1"}, {"1", "-Inf"}, {"1e2", "1"}, {"1", "0x10"},
		{"51.05, 13.74, 7", ""}, {"90.0001", "0"}, {"0", "180.5"}, {"5-1", "1"}, {".", "1"}, {"1", "N"}, {"51 N N", "1"}} {
		if lat, lon, m := parseCoordinates(c[0], c[1]); m == nil {
			t.Errorf("parseCoordinates(%q, %q) = %v, %v; want an error", c[0], c[1], lat, lon)
		}
	}
}
