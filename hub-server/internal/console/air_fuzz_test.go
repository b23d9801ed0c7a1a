package console

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

// FuzzAirChartQuery: a chart's query string is anyone's; parsing never
// panics, and what it accepts is a positive datastream ID, a known
// window, size and language.
func FuzzAirChartQuery(f *testing.F) {
	for _, s := range []string{"ds=1&w=day&s=w&lang=de", "ds=42&w=month&s=n", "ds=0&w=day", "ds=-1&w=day", "ds=99999999999999999999&w=day",
		"ds=1&w=year", "ds=1&ds=2&w=day&w=month", "ds=%31&w=d%61y", "lang=xx&ds=3&w=day", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		a, ok := parseAirChartQuery(q, "de")
		if !ok {
			return
		}
		if a.ds <= 0 || a.ds != mustInt(q.Get("ds")) || a.w != airDay && a.w != airMonth || a.sz != "w" && a.sz != "n" || !knownLang(a.lang) {
			t.Fatalf("accepted %q as %+v", raw, a)
		}
	})
}

func mustInt(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// TestAirCacheBounded: the cache never holds more than its size, and an
// entry lives a minute.
func TestAirCacheBounded(t *testing.T) {
	c := newAirCache(time.Minute, 8)
	now := time.Unix(1_800_000_000, 0)
	for i := range 100 {
		c.put(strconv.Itoa(i), i, now)
		if len(c.m) > 8 {
			t.Fatalf("%d entries, at most 8", len(c.m))
		}
	}
	c.put("x", 1, now)
	if v, ok := c.get("x", now.Add(59*time.Second)); !ok || v != 1 {
		t.Errorf("entry gone before its minute")
	}
	if _, ok := c.get("x", now.Add(time.Minute)); ok {
		t.Errorf("entry outlived its minute")
	}
}
