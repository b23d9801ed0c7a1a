package hub_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/opendata"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// TestHubServesOpenData: the running hub serves the open data files under
// /open-data/ with the configured licence and public URL.
func TestHubServesOpenData(t *testing.T) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	h := start(t, hub.Config{PublicURL: "https://hub.example.org/", Now: func() time.Time { return day.Add(30 * time.Hour) },
		OpenData: opendata.Catalog{Licence: "cc-by-4.0", Publisher: "Landeshauptstadt Dresden"}})
	ctx := context.Background()
	tok := sha256.Sum256([]byte("tok"))
	if err := h.Store.CreateEnrolToken(ctx, store.EnrolToken{Hash: tok, TerminalName: "jst-1", Quarter: "Johannstadt", CreatedAt: day, ExpiresAt: day.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	term, err := h.Store.Enroll(ctx, store.Enrolment{TokenHash: tok, TerminalID: "T1", PublicKey: pub, Now: day})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Store.PutSite(ctx, store.Site{TerminalID: term.ID, Latitude: 51.05, Longitude: 13.76, Place: "Bibliothek"},
		store.Audit{At: day, Actor: "test", Action: "site.set", Subject: "jst-1"}); err != nil {
		t.Fatal(err)
	}
	payload := fmt.Sprintf(`{"sensor":"sds011-0","quantity":"pm10","unit":"ug/m3","minute":%q,"count":60,"mean":12.5,"min":10,"max":15,"model":"sds011","expected":60}`,
		day.Add(8*time.Hour).Format(time.RFC3339))
	if _, err := h.Store.IngestBatch(ctx, term.ID, []api.Record{{ID: "01JX0000000000000000000001", Type: "sensor_minute", Class: api.ClassSensor,
		CreatedAt: day.Add(8 * time.Hour), Payload: json.RawMessage(payload)}}, day.Add(9*time.Hour)); err != nil {
		t.Fatal(err)
	}

	code, body := get(t, h.base+"/open-data/air/2026-03-10.csv.gz")
	if code != 200 || len(body) < 100 {
		t.Errorf("day file: %d, %d bytes", code, len(body))
	}
	code, body = get(t, h.base+"/open-data/catalog.jsonld")
	if code != 200 || !strings.Contains(body, "http://dcat-ap.de/def/licenses/cc-by/4.0") ||
		!strings.Contains(body, `"https://hub.example.org/open-data/air/2026-03-10.csv.gz"`) || !strings.Contains(body, "Landeshauptstadt Dresden") {
		t.Errorf("catalogue: %d %s", code, body)
	}
	code, body = get(t, h.base+"/open-data/stations.geojson")
	if code != 200 || !strings.Contains(body, `"thing_url": "https://hub.example.org/sta/v1.1/Things(`) {
		t.Errorf("stations: %d %s", code, body)
	}
}
