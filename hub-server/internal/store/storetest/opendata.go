package storetest

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/userr"
)

var openDataTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"OpenDataSiteCAS", testSiteCAS},
	{"OpenDataSiteBadInput", testSiteBadInput},
	{"OpenDataIngest", testObservationIngest},
	{"OpenDataIngestNotMinutes", testObservationNotMinutes},
	{"OpenDataPM25AbovePM10", testPM25AbovePM10},
	{"OpenDataFlatLine", testFlatLine},
	{"OpenDataHighHumidity", testHighHumidity},
	{"OpenDataResolution", testResolution},
	{"OpenDataPublished", testPublishedObservations},
	{"OpenDataQuery", testQueryOpenData},
}

func mustPutSite(t *testing.T, s store.Store, site store.Site) store.Site {
	t.Helper()
	out, err := s.PutSite(context.Background(), site, store.Audit{At: t0, Actor: "admin", Action: "terminal.site", Subject: site.TerminalID})
	if err != nil {
		t.Fatalf("PutSite(%+v): %v", site, err)
	}
	return out
}

func testSiteCAS(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "site-a", 1)
	enrol(t, s, "aa-site", 2)
	if _, err := s.Site(ctx, term.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Site before PutSite: err = %v, want ErrNotFound", err)
	}
	site := store.Site{TerminalID: term.ID, Latitude: 51.05, Longitude: 13.76, Place: "Pohlandplatz, Haltestelle", Indoor: true,
		Publish: map[string]string{"pm10": store.ResolutionOff}}
	got := mustPutSite(t, s, site)
	if got.Version != 1 || !got.UpdatedAt.Equal(t0) {
		t.Errorf("PutSite = version %d at %v, want 1 at %v", got.Version, got.UpdatedAt, t0)
	}
	read, err := s.Site(ctx, term.ID)
	if err != nil {
		t.Fatal(err)
	}
	if read.Latitude != 51.05 || read.Longitude != 13.76 || read.Place != site.Place || !read.Indoor || read.Version != 1 ||
		len(read.Publish) != 1 || read.Publish["pm10"] != store.ResolutionOff || !read.UpdatedAt.Equal(t0) {
		t.Errorf("Site = %+v, want %+v at version 1", read, site)
	}
	// A second editor still at version 0 loses, and nothing changes.
	stale := site
	stale.Place = "elsewhere"
	if _, err := s.PutSite(ctx, stale, store.Audit{At: t0, Actor: "other", Action: "terminal.site", Subject: term.ID}); !errors.Is(err, store.ErrVersionConflict) {
		t.Errorf("stale PutSite: err = %v, want ErrVersionConflict", err)
	}
	site.Version, site.Place, site.Indoor, site.Publish = 1, "Pohlandplatz", false, nil
	if got := mustPutSite(t, s, site); got.Version != 2 {
		t.Errorf("second PutSite version = %d, want 2", got.Version)
	}
	if err := s.DeleteSite(ctx, term.ID, 1, store.Audit{At: t0, Actor: "admin", Action: "terminal.site.delete", Subject: term.ID}); !errors.Is(err, store.ErrVersionConflict) {
		t.Errorf("stale DeleteSite: err = %v, want ErrVersionConflict", err)
	}
	if _, err := s.PutSite(ctx, store.Site{TerminalID: "nope"}, store.Audit{At: t0, Actor: "admin", Action: "terminal.site"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutSite(unknown terminal): err = %v, want ErrNotFound", err)
	}
	other := mustPutSite(t, s, store.Site{TerminalID: "T-aa-site", Latitude: -90, Longitude: 180})
	sites, err := s.Sites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 2 || sites[0].TerminalID != other.TerminalID || sites[1].TerminalID != term.ID || sites[1].Place != "Pohlandplatz" || sites[1].Indoor {
		t.Errorf("Sites = %+v, want aa-site then site-a (by name)", sites)
	}
	audits, err := s.AuditEntries(ctx, store.AuditFilter{Subject: term.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(audits) != 2 || audits[0].Action != "terminal.site" || audits[0].Actor != "admin" {
		t.Errorf("audit of site-a = %+v, want the two stored edits only", audits)
	}
	if err := s.DeleteSite(ctx, term.ID, 2, store.Audit{At: t0, Actor: "admin", Action: "terminal.site.delete", Subject: term.ID}); err != nil {
		t.Fatalf("DeleteSite: %v", err)
	}
	if _, err := s.Site(ctx, term.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Site after DeleteSite: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSite(ctx, term.ID, 2, store.Audit{At: t0, Actor: "admin", Action: "terminal.site.delete", Subject: term.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteSite twice: err = %v, want ErrNotFound", err)
	}
	if audits, _ := s.AuditEntries(ctx, store.AuditFilter{Subject: term.ID}); len(audits) != 3 {
		t.Errorf("audit of site-a after delete: %d entries, want 3", len(audits))
	}
	// After a delete the next site starts again at version 0.
	site.Version = 0
	if got := mustPutSite(t, s, site); got.Version != 1 {
		t.Errorf("PutSite after delete: version %d, want 1", got.Version)
	}
}

func testSiteBadInput(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "site-bad", 1)
	good := store.Site{TerminalID: term.ID, Latitude: 51, Longitude: 13, Place: "Straßenbahnhaltestelle"}
	for _, tc := range []struct {
		name, field string
		mod         func(*store.Site)
	}{
		{"latitude above 90", "latitude", func(s *store.Site) { s.Latitude = 90.0001 }},
		{"latitude below -90", "latitude", func(s *store.Site) { s.Latitude = -91 }},
		{"latitude NaN", "latitude", func(s *store.Site) { s.Latitude = math.NaN() }},
		{"longitude above 180", "longitude", func(s *store.Site) { s.Longitude = 180.5 }},
		{"longitude NaN", "longitude", func(s *store.Site) { s.Longitude = math.NaN() }},
		{"place too long", "place", func(s *store.Site) { s.Place = strings.Repeat("ä", store.MaxPlaceLen+1) }},
		{"place line break", "place", func(s *store.Site) { s.Place = "a\nb" }},
		{"place invalid UTF-8", "place", func(s *store.Site) { s.Place = "a\xffb" }},
		{"unknown quantity", "publish", func(s *store.Site) { s.Publish = map[string]string{"humidity": store.ResolutionMinute} }},
		{"unknown resolution", "publish", func(s *store.Site) { s.Publish = map[string]string{"co2": "daily"} }},
	} {
		site := good
		tc.mod(&site)
		_, err := s.PutSite(ctx, site, store.Audit{At: t0, Actor: "admin", Action: "terminal.site", Subject: term.ID})
		var ue *userr.Error
		var fe *store.SiteFieldError
		if !errors.As(err, &ue) || ue.Msg == "" || !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: err = %v, want a *userr.Error about %s", tc.name, err, tc.field)
		}
	}
	if _, err := s.Site(ctx, term.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a bad site was stored: err = %v", err)
	}
	if audits, _ := s.AuditEntries(ctx, store.AuditFilter{Subject: term.ID}); len(audits) != 0 {
		t.Errorf("bad sites were audited: %+v", audits)
	}
	// The edges are fine, and so is a place of exactly MaxPlaceLen characters.
	edge := good
	edge.Latitude, edge.Longitude, edge.Place = -90, -180, strings.Repeat("ß", store.MaxPlaceLen)
	mustPutSite(t, s, edge)
}
