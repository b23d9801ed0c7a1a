package api_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
)

var fuzzKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func FuzzParseAuth(f *testing.F) {
	ts := time.Unix(1748772000, 0)
	f.Add(api.Sign(fuzzKey, "01JX0000000000000000000001", "POST", api.PathRecords, ts, []byte(`{"records":[]}`)))
	f.Add(api.Sign(fuzzKey, "x", "GET", api.PathPing, ts, nil))
	for _, s := range []string{"", api.AuthScheme, api.AuthScheme + " ", "Bearer abc", api.AuthScheme + " terminal=a,ts=1,sig=",
		api.AuthScheme + " terminal=a,ts=-1,sig=" + strings.Repeat("A", 86) + "==", api.AuthScheme + " terminal=a=b, ts=1 ,sig=x,extra=1",
		api.AuthScheme + " terminal=" + strings.Repeat("A", 65) + ",ts=1,sig=" + strings.Repeat("A", 86) + "==",
		api.AuthScheme + " ts=99999999999999999999,terminal=a,sig=" + strings.Repeat("A", 86) + "=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		a, err := api.ParseAuth(header)
		if err != nil {
			if !errors.Is(err, api.ErrMalformedAuth) {
				t.Fatalf("error %v is not ErrMalformedAuth", err)
			}
			return
		}
		if a.TerminalID == "" || len(a.TerminalID) > 64 || len(a.Signature) != ed25519.SignatureSize {
			t.Fatalf("accepted %+v", a)
		}
		// What was read writes back to a header that reads the same.
		again := api.AuthScheme + " terminal=" + a.TerminalID + ",ts=" + strconv.FormatInt(a.Timestamp.Unix(), 10) +
			",sig=" + base64.StdEncoding.EncodeToString(a.Signature)
		b, err := api.ParseAuth(again)
		if err != nil || b.TerminalID != a.TerminalID || !b.Timestamp.Equal(a.Timestamp) || !bytes.Equal(b.Signature, a.Signature) {
			t.Fatalf("%q read as %+v; written back %q read as %+v, %v", header, a, again, b, err)
		}
	})
}

func FuzzContentDigest(f *testing.F) {
	for _, s := range []string{api.ContentDigest([]byte(`{"records":[]}`)), api.ContentDigest(nil),
		"sha-512=:abc:, " + api.ContentDigest([]byte("x")), "sha-256=:abc:", "sha-256=abc", "sha-256", "md5=:x:", "",
		api.ContentDigest([]byte("x")) + ";p=1", "sha-256=::", strings.Repeat("a=:b:,", 300)} {
		f.Add(s, []byte("x"))
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		sum, err := api.ParseContentDigest(header)
		if err != nil && !errors.Is(err, api.ErrMalformedDigest) && !errors.Is(err, api.ErrNoSHA256Digest) {
			t.Fatalf("unexpected error %v", err)
		}
		if err == nil && !strings.Contains(header, "sha-256=") {
			t.Fatalf("%q read as a sha-256 digest", header)
		}
		// What ContentDigest writes reads back as the body's hash.
		got, err := api.ParseContentDigest(api.ContentDigest(body))
		if err != nil || got != sha256.Sum256(body) {
			t.Fatalf("round trip: %x, %v", got, err)
		}
		if err == nil {
			// The member it read is the sha-256 one, written back the same.
			if got, err := api.ParseContentDigest("sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"); err != nil || got != sum {
				t.Fatalf("%q: %x does not read back: %v", header, sum, err)
			}
		}
	})
}

func TestContentDigestSignature(t *testing.T) {
	pub := fuzzKey.Public().(ed25519.PublicKey)
	body := []byte(`{"records":[]}`)
	req, _ := http.NewRequest("POST", "http://hub"+api.PathRecords, bytes.NewReader(body))
	now := time.Unix(1748772000, 0)
	api.SignRequest(req, fuzzKey, "T1", now, body)
	a, err := api.ParseAuth(req.Header.Get("Authorization"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := api.ParseContentDigest(req.Header.Get(api.DigestHeader))
	if err != nil || sum != sha256.Sum256(body) {
		t.Fatalf("digest %q: %v", req.Header.Get(api.DigestHeader), err)
	}
	if !api.VerifySignatureDigest(pub, a, "POST", api.PathRecords, sum) {
		t.Error("signature does not verify against the body's digest")
	}
	if api.VerifySignatureDigest(pub, a, "POST", api.PathRecords, sha256.Sum256([]byte(`{}`))) {
		t.Error("signature verifies against another digest")
	}
	get, _ := http.NewRequest("GET", "http://hub"+api.PathPing, nil)
	api.SignRequest(get, fuzzKey, "T1", now, nil)
	if get.Header.Get(api.DigestHeader) != "" {
		t.Error("a request without a body carries a digest")
	}
	if _, err := api.ParseContentDigest("sha-512=:" + base64.StdEncoding.EncodeToString(make([]byte, 64)) + ":"); !errors.Is(err, api.ErrNoSHA256Digest) {
		t.Errorf("sha-512 only: %v", err)
	}
	// A byte sequence is framed by colons on both sides (RFC 8941).
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	for _, v := range []string{"sha-256=" + b64 + ":", "sha-256=:" + b64, "sha-256=" + b64} {
		if _, err := api.ParseContentDigest(v); !errors.Is(err, api.ErrMalformedDigest) {
			t.Errorf("%q: %v, want ErrMalformedDigest", v, err)
		}
	}
}

func FuzzParseEnrolmentURI(f *testing.F) {
	f.Add(api.EnrolmentURI("https://hub.example:8480", "qht_abcdefghijklmnopqrstuvwxyz1"), "https://hub", "qht_x")
	for _, s := range []string{"", "quartierhub-enrol:", "quartierhub-enrol:?hub=&token=x", "https://hub/?hub=a&token=b",
		"quartierhub-enrol:?hub=a%zz&token=b", "quartierhub-enrol://x?hub=a&token=b&token=c", "QUARTIERHUB-ENROL:?hub=a&token=b"} {
		f.Add(s, "a", "b")
	}
	f.Fuzz(func(t *testing.T, s, hub, token string) {
		h, tok, err := api.ParseEnrolmentURI(s)
		if err == nil && (h == "" || tok == "") {
			t.Fatalf("%q read as hub %q token %q", s, h, tok)
		}
		if err == nil {
			// What it read writes back to a URI that reads the same.
			if h2, tok2, err := api.ParseEnrolmentURI(api.EnrolmentURI(h, tok)); err != nil || h2 != h || tok2 != tok {
				t.Fatalf("%q: rewritten reads %q %q %v", s, h2, tok2, err)
			}
		}
		if hub == "" || token == "" {
			return
		}
		h, tok, err = api.ParseEnrolmentURI(api.EnrolmentURI(hub, token))
		if err != nil || h != hub || tok != token {
			t.Fatalf("EnrolmentURI(%q, %q) reads back %q %q %v", hub, token, h, tok, err)
		}
	})
}

func TestValidateConfigRefusesDeepOrWide(t *testing.T) {
	deep := `{"settings":{"devices":{"x":` + strings.Repeat("[", api.MaxJSONDepth) + strings.Repeat("]", api.MaxJSONDepth) + `}}}`
	if _, err := api.ValidateConfigLayer([]byte(deep)); !errors.Is(err, api.ErrJSONTooDeep) {
		t.Errorf("deep layer: %v", err)
	}
	wide := `{"settings":{"devices":{"x":[0` + strings.Repeat(",0", api.MaxJSONElements) + `]}}}`
	if _, err := api.ValidateConfig([]byte(wide)); !errors.Is(err, api.ErrJSONTooLong) {
		t.Errorf("wide config: %v", err)
	}
	// The example a new hub starts from is well within the limits.
	ex, err := assets.ExampleLayer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.ValidateConfig(ex); err != nil {
		t.Errorf("example layer: %v", err)
	}
}

func FuzzValidateConfig(f *testing.F) {
	ex, err := assets.ExampleLayer()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ex)
	for _, s := range []string{`{}`, `null`, `[]`, `{"settings":{"heartbeat_interval":"30s","sync_interval":"1m"}}`,
		`{"settings":{"heartbeat_interval":"1s"}}`, `{"settings":{"devices":[]}}`, `{"content":{"services":[]}}`,
		`{"content":null,"settings":null}`, `{"other":1}`, `{"settings":{"devices":{"printer":{"port":"/dev/ttyUSB0"}}}}`,
		`{"content":` + strings.Repeat("[", 40) + `}`, `{"settings":{"unknown":1}}`,
		`{"settings":{"display":{"rotation":90,"night_from":"22:30","night_to":"06:00"}}}`,
		`{"settings":{"display":{"rotation":45}}}`, `{"settings":{"display":{"night_from":"+1:00","night_to":"24:00"}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		full, ferr := api.ValidateConfig(doc)
		layer, lerr := api.ValidateConfigLayer(doc)
		if ferr == nil && lerr != nil {
			t.Fatalf("complete config accepted but refused as a layer: %v", lerr)
		}
		if lerr != nil {
			return
		}
		if err := api.TerminalJSON.Check(doc); err != nil || !json.Valid(doc) {
			t.Fatalf("accepted a document beyond the limits: %v", err)
		}
		if layer.Content != nil && !bytes.HasPrefix(bytes.TrimSpace(layer.Content), []byte("{")) {
			t.Fatalf("content %q is not an object", layer.Content)
		}
		if layer.Settings != nil {
			if _, _, err := layer.Settings.Durations(); err != nil {
				t.Fatalf("accepted settings with bad durations: %v", err)
			}
			if err := layer.Settings.Display.Validate(); err != nil {
				t.Fatalf("accepted a bad display section: %v", err)
			}
		}
		// What was accepted, written again, is accepted again.
		again, err := json.Marshal(layer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.ValidateConfigLayer(again); err != nil {
			t.Fatalf("%s accepted, re-encoded %s refused: %v", doc, again, err)
		}
		if ferr == nil {
			if again, err = json.Marshal(full); err != nil {
				t.Fatal(err)
			}
			if _, err := api.ValidateConfig(again); err != nil {
				t.Fatalf("%s accepted, re-encoded %s refused: %v", doc, again, err)
			}
		}
	})
}

func FuzzContentValidate(f *testing.F) {
	c, err := assets.DemoContent()
	if err != nil {
		f.Fatal(err)
	}
	demo, _ := json.Marshal(c)
	f.Add(demo)
	f.Add([]byte(`{"version":"1","quarter":{"de":"Q"},"services":[{"id":"a","kind":"report","title":{"de":"Melden"}}]}`))
	f.Add([]byte(`{"services":[{"id":"a","kind":"info","target":"missing"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if api.TerminalJSON.Check(doc) != nil {
			return // the hub and the terminal never decode it
		}
		var c api.Content
		if json.Unmarshal(doc, &c) != nil || c.Validate() != nil {
			return
		}
		// Valid content stays valid written again and read back.
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var c2 api.Content
		if err := json.Unmarshal(again, &c2); err != nil {
			t.Fatal(err)
		}
		if err := c2.Validate(); err != nil {
			t.Fatalf("valid content %s re-encoded as %s is invalid: %v", doc, again, err)
		}
	})
}

// Outbox class names reach alert details and webhook notices: bounded.
func TestHeartbeatOutboxClassBounded(t *testing.T) {
	hb := api.Heartbeat{Outbox: map[string]api.Backlog{"resident": {Count: 1}}}
	if err := hb.Validate(); err != nil {
		t.Fatal(err)
	}
	hb.Outbox[strings.Repeat("x", 33)] = api.Backlog{Count: 1}
	if err := hb.Validate(); err == nil {
		t.Error("a 33-byte class name passes")
	}
}

// The hub's card key comes from the network: only a key of the right
// length in lower-case hex passes, and it names itself as the hub does.
func FuzzParseCardKey(f *testing.F) {
	f.Add(strings.Repeat("ab", api.CardKeyLen))
	f.Add(strings.Repeat("AB", api.CardKeyLen))
	f.Add("")
	f.Add(strings.Repeat("0", 2*api.CardKeyLen+1))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := api.ParseCardKey(s)
		if err != nil {
			if k != nil {
				t.Fatalf("refused %q but returned a key", s)
			}
			return
		}
		if len(k) != api.CardKeyLen || hex.EncodeToString(k) != s {
			t.Fatalf("%q parsed as %x", s, k)
		}
		if id := api.CardKeyID(k); (&api.Heartbeat{CardKeyID: id}).Validate() != nil {
			t.Fatalf("the key's ID %q does not pass a heartbeat's check", id)
		}
	})
}

// A heartbeat's card key ID is 16 lower-case hex digits or absent.
func TestHeartbeatCardKeyID(t *testing.T) {
	for id, ok := range map[string]bool{"": true, "0123456789abcdef": true, "0123456789ABCDEF": false,
		"0123456789abcde": false, "0123456789abcdef0": false, "0123456789abcdeg": false} {
		if err := (&api.Heartbeat{CardKeyID: id}).Validate(); (err == nil) != ok {
			t.Errorf("card_key_id %q: %v", id, err)
		}
	}
	if id := api.CardKeyID([]byte("k")); len(id) != api.CardKeyIDLen || id == api.CardKeyID([]byte("l")) {
		t.Errorf("CardKeyID: %q", id)
	}
}
