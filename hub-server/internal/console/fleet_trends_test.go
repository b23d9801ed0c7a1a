package console

import (
	"context"
	"encoding/csv"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var trendImgRe = regexp.MustCompile(`<img src="(/console/fleet/trends/[^"]+)" alt="([^"]*)"`)

// TestFleetTrends: the fleet page shows the fleet's health over the last
// 24 hours and 30 days as three SVG pictures, each with its figures in
// words and in a table, and the samples as CSV; the pictures come from
// the console itself under their own strict policy.
func TestFleetTrends(t *testing.T) {
	h := newHub(t, nil)
	h.addUser("vera", store.RoleViewer)
	ctx := context.Background()
	b := h.browser()
	b.mustLogin("vera")

	// Before the first sample: the charts say so.
	p := b.get("/console/")
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="fleet-trends"`) {
		t.Fatalf("fleet page: %d, no trends section", p.status)
	}
	if imgs := trendImgRe.FindAllStringSubmatch(p.body, -1); len(imgs) != 3 || !strings.Contains(imgs[0][2], "no samples yet") {
		t.Fatalf("charts without samples: %q", imgs)
	}

	// A day of samples every 5 minutes with an hour missing, and older
	// ones that only the 30-day window shows.
	now := h.clock.Now()
	last := now.UTC().Truncate(5 * time.Minute)
	n24 := 0
	for i := 0; i < 40*24*12; i++ {
		at := last.Add(-time.Duration(i) * 5 * time.Minute)
		if i >= 60 && i < 72 || i > 24*12 && i%12 != 0 {
			continue // the hub was down; older samples hourly only, to keep the test quick
		}
		s := store.FleetTrend{SampledAt: at, Terminals: 12, Online: 10 - i%3, Offline: 1 + i%3, Never: 1, Unsent: int64(i % 50), OpenAlerts: 2, UnackedAlerts: 1}
		if i == 0 {
			s.Online, s.Offline, s.Unsent = 7, 4, 4321
		}
		if i == 100 {
			s.OpenAlerts = 9
		}
		if err := h.st.AddFleetTrend(ctx, s); err != nil {
			t.Fatal(err)
		}
		if !at.Before(last.Add(5*time.Minute - 24*time.Hour)) {
			n24++
		}
	}
	p = b.get("/console/")
	imgs := trendImgRe.FindAllStringSubmatch(p.body, -1)
	if len(imgs) != 3 {
		t.Fatalf("%d charts on the fleet page, want 3", len(imgs))
	}
	online, unsent, alerts := html.UnescapeString(imgs[0][2]), html.UnescapeString(imgs[1][2]), html.UnescapeString(imgs[2][2])
	if !strings.Contains(online, "online now 7, lowest 7") || !strings.Contains(online, "highest 10") || !strings.Contains(online, "offline now 4") {
		t.Errorf("online chart's text: %q", online)
	}
	if !strings.Contains(unsent, "unsent records now 4321") {
		t.Errorf("unsent chart's text: %q", unsent)
	}
	if !strings.Contains(alerts, "open now 2, lowest 2") || !strings.Contains(alerts, "highest 9") {
		t.Errorf("alerts chart's text: %q", alerts)
	}
	section := between(p.body, `id="fleet-trends"`, "</section>")
	if !strings.Contains(section, "<td class=\"num\">4321</td>") || !strings.Contains(section, "Last 24 hours") {
		t.Errorf("the figures' table is missing:\n%s", section)
	}

	for _, img := range imgs {
		svg := b.get(html.UnescapeString(img[1]))
		switch {
		case svg.status != http.StatusOK || svg.header.Get("Content-Type") != "image/svg+xml":
			t.Errorf("%s: %d %s", img[1], svg.status, svg.header.Get("Content-Type"))
		case !strings.Contains(svg.body, "<svg") || !strings.Contains(svg.header.Get("Content-Security-Policy"), "default-src 'none'"):
			t.Errorf("%s: not an SVG under its own policy (%q)", img[1], svg.header.Get("Content-Security-Policy"))
		}
	}
	if svg := b.get("/console/fleet/trends/24h/online.svg?lang=de"); !strings.Contains(svg.body, "Terminals online und offline") {
		t.Error("the chart is not in the reader's language")
	}
	if !strings.Contains(p.header.Get("Content-Security-Policy"), "img-src 'self'") || strings.Contains(p.header.Get("Content-Security-Policy"), "script-src") {
		t.Errorf("fleet page policy: %q", p.header.Get("Content-Security-Policy"))
	}

	c := b.get("/console/fleet/trends/24h/samples.csv")
	rows, err := csv.NewReader(strings.NewReader(c.body)).ReadAll()
	if err != nil || c.status != http.StatusOK {
		t.Fatalf("CSV: %d %v", c.status, err)
	}
	if len(rows) != 1+n24 || rows[0][0] != "sampled_at" || rows[len(rows)-1][2] != "7" || rows[len(rows)-1][6] != "4321" {
		t.Errorf("CSV: %d rows (want %d samples), header %v, last %v", len(rows), n24, rows[0], rows[len(rows)-1])
	}
	if !strings.Contains(p.body, "("+itoa(n24)+" rows)") {
		t.Errorf("the CSV link does not say how many rows")
	}

	// 30 days: hourly means, more samples, the same three pictures.
	p = b.get("/console/?trends=30d")
	imgs = trendImgRe.FindAllStringSubmatch(p.body, -1)
	if len(imgs) != 3 || !strings.Contains(imgs[0][1], "/30d/") || !strings.Contains(html.UnescapeString(imgs[0][2]), "Last 30 days") {
		t.Fatalf("30-day charts: %q", imgs)
	}
	if svg := b.get(html.UnescapeString(imgs[1][1])); svg.status != http.StatusOK || !strings.Contains(svg.body, "<svg") {
		t.Errorf("30-day chart: %d", svg.status)
	}
	c = b.get("/console/fleet/trends/30d/samples.csv")
	if rows, _ := csv.NewReader(strings.NewReader(c.body)).ReadAll(); len(rows) < 1+n24+(30-1)*24-1 || len(rows) > 1+n24+(30-1)*24+1 {
		t.Errorf("30-day CSV: %d rows", len(rows))
	}
	for _, bad := range []string{"/console/fleet/trends/7d/online.svg", "/console/fleet/trends/24h/other.svg", "/console/fleet/trends/24h/online.png"} {
		if p := b.get(bad); p.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", bad, p.status)
		}
	}
}
