package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// axeScript is axe-core (the accessibility rules), installed by
// provisioning/dev/deps.sh test into the user's cache, or where
// AXE_CORE_JS says. Missing, the tests fail under CI and skip elsewhere.
func axeScript(t *testing.T) string {
	t.Helper()
	path := os.Getenv("AXE_CORE_JS")
	if path == "" {
		dir, err := os.UserCacheDir()
		if err == nil {
			path = filepath.Join(dir, "quartierhub", "npm", "node_modules", "axe-core", "axe.min.js")
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the accessibility checks need axe-core at %q (make deps-test installs it; or set AXE_CORE_JS): %v", path, err)
		}
		t.Skipf("no axe-core at %q (make deps-test installs it, or set AXE_CORE_JS); skipping the accessibility checks", path)
	}
	return string(b)
}

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		HTML   string `json:"html"`
		Target []any  `json:"target"`
	} `json:"nodes"`
}

// checkAxe runs axe-core on the page (within the CSS selector include,
// or the whole document) for WCAG 2.1 A and AA and fails on any violation.
func checkAxe(t *testing.T, ctx context.Context, axe, what, include string) {
	t.Helper()
	// Runtime.evaluate is not subject to the page's policy: axe runs in
	// the page although the page allows no script.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axe+";true")); err != nil {
		t.Fatalf("%s: inject axe: %v", what, err)
	}
	ctxArg := "document"
	if include != "" {
		ctxArg = fmt.Sprintf("{include: [%q]}", include)
	}
	expr := fmt.Sprintf(`axe.run(%s, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}, resultTypes: ['violations']}).then(r => JSON.stringify({v: r.violations, p: r.passes.length}))`, ctxArg)
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: axe: %v", what, err)
	}
	var res struct {
		V []axeViolation `json:"v"`
		P int            `json:"p"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%s: axe result: %v", what, err)
	}
	for _, v := range res.V {
		var nodes []string
		for _, n := range v.Nodes {
			nodes = append(nodes, n.HTML)
		}
		t.Errorf("%s: axe %s (%s): %s\n  %s", what, v.ID, v.Impact, v.Help, strings.Join(nodes, "\n  "))
	}
	if res.P == 0 {
		t.Errorf("%s: axe checked nothing", what)
	}
}

// tileServer serves map tiles drawn here (a pale grid with the tile's
// coordinates' parity), as a tile server would, so the map can be
// looked at without the network.
func tileServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var z, x, y int
		if _, err := fmt.Sscanf(r.URL.Path, "/%d/%d/%d.png", &z, &x, &y); err != nil {
			http.NotFound(w, r)
			return
		}
		img := image.NewRGBA(image.Rect(0, 0, 256, 256))
		bg := color.RGBA{0xf2, 0xef, 0xe9, 0xff}
		if (x+y)%2 == 0 {
			bg = color.RGBA{0xee, 0xeb, 0xe4, 0xff}
		}
		for py := range 256 {
			for px := range 256 {
				c := bg
				if px%64 == 0 || py%64 == 0 {
					c = color.RGBA{0xff, 0xff, 0xff, 0xff} // streets
				}
				if (px+py/3)%97 < 3 {
					c = color.RGBA{0xaa, 0xd3, 0xdf, 0xff} // a river
				}
				img.Set(px, py, c)
			}
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		w.Header().Set("Content-Type", "image/png")
		w.Write(b.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// airShot writes a full-page screenshot to CONSOLE_SCREENSHOTS, if set.
func airShot(name string) chromedp.Action[chromedp.Void] {
	dir := os.Getenv("CONSOLE_SCREENSHOTS")
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if dir == "" {
			return nil
		}
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// chartsLoaded reports how many of the page's chart images the browser
// drew (loaded under the policies, an SVG it could read) and how many
// there are.
func chartsLoaded(t *testing.T, ctx context.Context) (drawn, all int) {
	t.Helper()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(() => { const is = [...document.querySelectorAll('figure.air-chart img')];
		return [is.filter(i => i.complete && i.naturalWidth > 0).length, is.length]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	return res[0], res[1]
}

// waitCharts waits until every image finished loading.
func waitCharts() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`[...document.querySelectorAll('img, image')].every(i => i.tagName !== 'IMG' || i.complete) || undefined`)(ctx, t)
		return err
	})
}

// TestAirBrowser: the public air page on a phone and a desktop, in German
// and English, and a terminal's page, in Chromium: charts drawn, nothing
// wider than the phone, axe-core clean; the staff's charts on the
// console's terminal page too. CONSOLE_SCREENSHOTS=docs/screenshots keeps
// the pictures (make screenshots).
func TestAirBrowser(t *testing.T) {
	ctx := newBrowser(t)
	axe := axeScript(t)
	tiles := tileServer(t)
	h := newHub(t, func(o *Opts) {
		o.AirMap = AirMap{Tiles: tiles.URL + "/{z}/{x}/{y}.png", Attribution: "Kacheln: Testkarte"}
	})
	w := newAirWorld(t, h)
	base := h.srv.URL

	for _, vp := range []struct {
		name string
		w, h int64
	}{{"phone", 360, 740}, {"desktop", 1280, 900}} {
		for _, lang := range []string{"de", "en"} {
			what := fmt.Sprintf("/air %s %s", vp.name, lang)
			run(t, ctx, what, chromedp.EmulateViewport(vp.w, vp.h), chromedp.Navigate(base+"/air?lang="+lang),
				chromedp.WaitVisible(chromedp.CSS("h1")), waitCharts())
			if evalBool(t, ctx, what, `document.documentElement.scrollWidth > window.innerWidth`) {
				t.Errorf("%s: wider than the screen", what)
			}
			if !evalBool(t, ctx, what, `document.querySelectorAll('.air-map image').length > 0`) {
				t.Errorf("%s: no map", what)
			}
			checkAxe(t, ctx, axe, what, "")
			run(t, ctx, what+" screenshot", airShot(fmt.Sprintf("public-air-%s-%s", vp.name, lang)))

			what = fmt.Sprintf("/air/t %s %s", vp.name, lang)
			run(t, ctx, what, chromedp.Navigate(fmt.Sprintf("%s/air/t/%d?lang=%s", base, w.outNum, lang)),
				chromedp.WaitVisible(chromedp.CSS("h1")), waitCharts())
			if drawn, all := chartsLoaded(t, ctx); all != 4 || drawn != all {
				t.Errorf("%s: %d of %d charts drawn, want 4", what, drawn, all)
			}
			if evalBool(t, ctx, what, `document.documentElement.scrollWidth > window.innerWidth`) {
				t.Errorf("%s: wider than the screen", what)
			}
			// The phone gets the narrow pictures.
			if narrow := evalBool(t, ctx, what, `document.querySelector('figure.air-chart img').currentSrc.includes('s=n')`); narrow != (vp.name == "phone") {
				t.Errorf("%s: narrow picture %v", what, narrow)
			}
			checkAxe(t, ctx, axe, what, "")
			// A table opened is checked too.
			run(t, ctx, what+" open table", chromedp.Click(chromedp.CSS("figure.air-chart summary")))
			checkAxe(t, ctx, axe, what+" (table open)", "")
			run(t, ctx, what+" screenshot", airShot(fmt.Sprintf("public-air-terminal-%s-%s", vp.name, lang)))
		}
	}

	// Staff: the terminal page's air block (desktop).
	h.addUser("vera", store.RoleViewer)
	run(t, ctx, "console terminal page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/console/login"),
		chromedp.WaitVisible(chromedp.ID("#name")), chromedp.SendKeys(chromedp.ID("#name"), "vera"),
		chromedp.SendKeys(chromedp.ID("#password"), testPassword), chromedp.Submit(chromedp.ID("#password")),
		chromedp.WaitVisible(chromedp.CSS("ul.counts")),
		chromedp.Navigate(base+"/console/terminals/fst-school-1"), chromedp.WaitVisible(chromedp.ID("#h-air")), waitCharts())
	if drawn, all := chartsLoaded(t, ctx); all != 4 || drawn != all {
		t.Errorf("console: %d of %d charts drawn, want 4", drawn, all)
	}
	checkAxe(t, ctx, axe, "console terminal air", "#air")
	run(t, ctx, "console screenshot", chromedp.ScrollIntoView(chromedp.ID("#h-air")), airShot("console-terminal-air"))
}
