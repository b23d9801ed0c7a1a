package api_test

import (
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

func TestSignParseVerify(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	ts := time.Unix(1748772000, 999_000_000)
	body := []byte(`{"records":[]}`)
	h := api.Sign(priv, "01JX0000000000000000000001", "POST", "/api/v1/records", ts, body)
	if !strings.HasPrefix(h, "QH-Ed25519 terminal=01JX0000000000000000000001,ts=1748772000,sig=") {
		t.Fatalf("header %q", h)
	}
	a, err := api.ParseAuth(h)
	if err != nil {
		t.Fatal(err)
	}
	if a.TerminalID != "01JX0000000000000000000001" || a.Timestamp.Unix() != 1748772000 {
		t.Errorf("parsed %+v", a)
	}
	if !api.VerifySignature(pub, a, "POST", "/api/v1/records", body) {
		t.Error("own signature does not verify")
	}
	for name, v := range map[string]func() bool{
		"other method": func() bool { return api.VerifySignature(pub, a, "PUT", "/api/v1/records", body) },
		"other path":   func() bool { return api.VerifySignature(pub, a, "POST", "/api/v1/ping", body) },
		"other body":   func() bool { return api.VerifySignature(pub, a, "POST", "/api/v1/records", []byte(`{}`)) },
		"other ts": func() bool {
			b := a
			b.Timestamp = b.Timestamp.Add(time.Second)
			return api.VerifySignature(pub, b, "POST", "/api/v1/records", body)
		},
		"other key": func() bool {
			other := ed25519.NewKeyFromSeed(append([]byte{1}, seed[1:]...)).Public().(ed25519.PublicKey)
			return api.VerifySignature(other, a, "POST", "/api/v1/records", body)
		},
		"short key": func() bool { return api.VerifySignature(pub[:31], a, "POST", "/api/v1/records", body) },
	} {
		if v() {
			t.Errorf("%s: signature verifies", name)
		}
	}
}

// The signed message is part of the protocol: pin it.
func TestSignedMessageFormat(t *testing.T) {
	got := string(api.SignedMessage("GET", "/api/v1/ping", 42, nil))
	want := "GET\n/api/v1/ping\n42\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if got != want {
		t.Errorf("SignedMessage = %q, want %q", got, want)
	}
}

func TestSignRequestUsesRequestURI(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	req, _ := http.NewRequest("GET", "http://hub:8480/api/v1/ping?x=1", nil)
	now := time.Unix(1000, 0)
	api.SignRequest(req, priv, "T1", now, nil)
	a, err := api.ParseAuth(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	if !api.VerifySignature(priv.Public().(ed25519.PublicKey), a, "GET", "/api/v1/ping?x=1", nil) {
		t.Error("signature does not cover path and query")
	}
}

func TestParseAuthMalformed(t *testing.T) {
	sig := strings.Repeat("A", 86) + "=="
	for _, h := range []string{
		"",
		"Bearer abc",
		"QH-Ed25519",
		"QH-Ed25519 terminal=T,ts=1",
		"QH-Ed25519 terminal=T,sig=" + sig,
		"QH-Ed25519 ts=1,sig=" + sig,
		"QH-Ed25519 terminal=T,ts=x,sig=" + sig,
		"QH-Ed25519 terminal=T,ts=1,sig=AAAA",
		"QH-Ed25519 terminal=T,ts=1,sig=!!!",
		"QH-Ed25519 terminal=T,ts=1,sig=" + sig + ",extra=1",
		"QH-Ed25519 terminal=T,ts=1,novalue,sig=" + sig,
	} {
		if _, err := api.ParseAuth(h); err == nil {
			t.Errorf("ParseAuth(%q) accepted", h)
		}
	}
	if _, err := api.ParseAuth("QH-Ed25519 terminal=T, ts=1, sig=" + sig); err != nil {
		t.Errorf("spaces after commas: %v", err)
	}
}

func TestFreshTimestamp(t *testing.T) {
	now := time.Unix(10_000, 0)
	for d, want := range map[time.Duration]bool{
		0: true, api.MaxClockSkew: true, -api.MaxClockSkew: true,
		api.MaxClockSkew + time.Second: false, -api.MaxClockSkew - time.Second: false,
	} {
		if got := api.FreshTimestamp(now.Add(d), now); got != want {
			t.Errorf("FreshTimestamp(now%+v) = %v", d, got)
		}
	}
}

func TestValidate(t *testing.T) {
	good := api.Record{ID: "01JX5Z7D3Q8W2V4N6M0P9R1S2T", Type: "sensor.sds011", Class: api.ClassSensor,
		CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Payload: json.RawMessage(` {"a":1}`)}
	if err := good.Validate(); err != nil {
		t.Fatalf("good record: %v", err)
	}
	for name, spoil := range map[string]func(*api.Record){
		"id too long":     func(r *api.Record) { r.ID += "0" },
		"id first char 8": func(r *api.Record) { r.ID = "8" + r.ID[1:] },
		"id with I":       func(r *api.Record) { r.ID = "01JXI" + r.ID[5:] },
		"type upper":      func(r *api.Record) { r.Type = "Sensor" },
		"type digit 1st":  func(r *api.Record) { r.Type = "1sensor" },
		"type too long":   func(r *api.Record) { r.Type = strings.Repeat("a", api.MaxTypeLen+1) },
		"class empty":     func(r *api.Record) { r.Class = "" },
		"year 1999":       func(r *api.Record) { r.CreatedAt = time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC) },
		"year 2100":       func(r *api.Record) { r.CreatedAt = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC) },
		"payload string":  func(r *api.Record) { r.Payload = json.RawMessage(`"x"`) },
		"payload null":    func(r *api.Record) { r.Payload = json.RawMessage(`null`) },
	} {
		r := good
		spoil(&r)
		if r.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, typ := range []string{"a", "report", "survey.answer_v2", "x-y.z_0"} {
		if !api.ValidType(typ) {
			t.Errorf("ValidType(%q) = false", typ)
		}
	}
}

func TestPublicKeyEncoding(t *testing.T) {
	pub := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	got, err := api.DecodePublicKey(api.EncodePublicKey(pub))
	if err != nil || !got.Equal(pub) {
		t.Errorf("round trip: %v %v", got, err)
	}
	if _, err := api.DecodePublicKey(api.EncodePublicKey(pub[:16])); err == nil {
		t.Error("16-byte key accepted")
	}
}
