package hub_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// TestWorkshopUploadReachesSubscribers: the hub wires its workshop
// service to the store's hook, so a terminal's ordinary upload of a
// workshop event (POST /api/v1/records) reaches the workshop's
// subscribers and its state, and the service's metrics are served.
func TestWorkshopUploadReachesSubscribers(t *testing.T) {
	h := start(t, hub.Config{})
	ctx := context.Background()
	tok := "qht_workshop-test-token"
	now := time.Now()
	if err := h.Store.CreateEnrolToken(ctx, store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: "johannstadt-1", Quarter: "Johannstadt",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	body, _ := json.Marshal(api.EnrollRequest{Token: tok, PublicKey: api.EncodePublicKey(pub), SoftwareVersion: "0.1.0"})
	req, _ := http.NewRequest("POST", h.base+api.PathEnroll, bytes.NewReader(body))
	code, rb := do(t, req)
	var er api.EnrollResponse
	if code != 200 || json.Unmarshal([]byte(rb), &er) != nil {
		t.Fatalf("enroll: %d %s", code, rb)
	}

	w, err := h.Workshops.Create(ctx, workshop.Spec{Title: "Spielplatz", Question: "Was fehlt?", Terminals: []string{er.TerminalID}}, "anna")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Workshops.GoToPhase(ctx, w.ID, "m:anna", 0); err != nil {
		t.Fatal(err)
	}
	if ws, err := h.Workshops.ForTerminal(ctx, er.TerminalID); err != nil || len(ws) != 1 || ws[0].ID != w.ID {
		t.Fatalf("the terminal's workshops: %+v %v", ws, err)
	}
	cursors, cancel := h.Workshops.Subscribe(w.ID)
	defer cancel()
	if c := <-cursors; c != 1 {
		t.Fatalf("cursor at subscription: %d", c)
	}

	data, _ := workshop.Encode(workshop.CheckIn{Via: workshop.ViaCard, Label: "Karte 1"})
	ev, _ := json.Marshal(workshop.Event{ID: ulid.Make().String(), Workshop: w.ID, Device: "t:" + er.TerminalID, Seq: 1,
		HLC: workshop.HLC{Wall: time.Now().UnixMilli()}, Actor: "v:0123456789abcdef0123", Type: workshop.TypeCheckIn, Data: data})
	body, _ = json.Marshal(api.Batch{Records: []api.Record{{ID: ulid.Make().String(), Type: api.RecordWorkshopEvent, Class: api.ClassResident,
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond), Payload: ev}}})
	req, _ = http.NewRequest("POST", h.base+api.PathRecords, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	api.SignRequest(req, priv, er.TerminalID, time.Now(), body)
	if code, rb := do(t, req); code != 200 {
		t.Fatalf("upload: %d %s", code, rb)
	}
	select {
	case c := <-cursors:
		if c != 2 {
			t.Errorf("cursor after the upload: %d", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after the upload")
	}
	v, err := h.Workshops.Get(ctx, w.ID)
	if err != nil || len(v.State.Voters) != 1 || v.State.Voters[0].Label != "Karte 1" {
		t.Errorf("state after the upload: %+v %v", v.State.Voters, err)
	}
	if code, metrics := get(t, h.base+"/metrics"); code != 200 || !strings.Contains(metrics, `quartierhub_workshop_events_appended_total{source="hub"} 1`) ||
		!strings.Contains(metrics, "quartierhub_workshop_subscribers 1") {
		t.Errorf("metrics: %d\n%s", code, metrics)
	}
}
