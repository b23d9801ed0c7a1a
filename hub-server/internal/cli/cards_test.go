package cli_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/drivers/pn532"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/cli"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// storedCardKey reads the deployment's card key from the hub in data;
// absent, it is reported as nil (and the probe is stored, which a test
// reading it last does not mind).
func storedCardKey(t *testing.T, data string) []byte {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), cli.DBPath(data), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	probe := []byte("absent")
	k, err := st.Secret(context.Background(), store.SecretCardKey, probe)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(k, probe) {
		return nil
	}
	return k
}

// TestCardHashMatchesTerminal hashes cards on a hub that has no card key
// yet: the command makes it, and each printed hash is what a terminal
// holding that key (sent in a heartbeat) computes for the UID its reader
// reports, whichever way the admin wrote the UID.
func TestCardHashMatchesTerminal(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	// As an admin may copy them from a phone app, and as the readers
	// report them (pn532.FormatUID; rdm6300's 10 hex digits).
	written := []string{"04:a1:b2:c3:d4:e5:f6", " 01004ca53b ", "DE-AD-BE-EF"}
	read := []string{pn532.FormatUID([]byte{0x04, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6}), "01004CA53B", pn532.FormatUID([]byte{0xde, 0xad, 0xbe, 0xef})}

	out, errs, code := runIn(t, "", append([]string{"card", "hash", "--data", data}, written...)...)
	if code != 0 {
		t.Fatalf("card hash: %d %s", code, errs)
	}
	key := storedCardKey(t, data)
	if len(key) != api.CardKeyLen {
		t.Fatalf("stored card key has %d bytes, want %d", len(key), api.CardKeyLen)
	}
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != len(read) {
		t.Fatalf("%d lines for %d UIDs:\n%s", len(got), len(read), out)
	}
	// The terminal gets the key as hex in a heartbeat answer.
	termKey, err := api.ParseCardKey(hex.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	for i, uid := range read {
		if want := session.HashCard(termKey, uid); got[i] != want {
			t.Errorf("UID %d: printed %s, the terminal hashes %s", i+1, got[i], want)
		}
	}
	if !strings.Contains(errs, api.CardKeyID(key)) {
		t.Errorf("stderr does not name the key's ID %s: %q", api.CardKeyID(key), errs)
	}
	for _, secret := range append([]string{hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key))}, read...) {
		if strings.Contains(out+errs, secret) {
			t.Errorf("the key or a UID was printed: %q %q", out, errs)
		}
	}

	// The same cards on standard input, blank lines and CRLF among them:
	// the same hashes, with the key made above.
	stdin := "04:a1:b2:c3:d4:e5:f6\r\n\n 01004ca53b \r\n\nDE-AD-BE-EF"
	out2, errs, code := runIn(t, stdin, "card", "hash", "--data", data, "--stdin")
	if code != 0 || out2 != out {
		t.Fatalf("card hash --stdin: %d %s\n%s\nwant\n%s", code, errs, out2, out)
	}
	// The terminal API hands out that same key.
	apiKey, err := terminalapi.DeploymentCardKey(context.Background(), openSQLite(t, data), bytes.NewReader(bytes.Repeat([]byte{7}, api.CardKeyLen)))
	if err != nil || !bytes.Equal(apiKey, key) {
		t.Fatalf("terminal API's key differs from the one card hash used (%v)", err)
	}
}

func openSQLite(t *testing.T, data string) store.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), cli.DBPath(data), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestCardHashRefuses checks that a bad UID, as argument or on standard
// input, is refused by its position (never echoed), prints no hash and
// makes no key; and that the command's usage is enforced.
func TestCardHashRefuses(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"", []string{"04A1B2"}, 1, "UID 1: not a card UID"},                               // 3 bytes
		{"", []string{"DEADBEEF", "04A1B2C3D4E5F6A7B8C9D0E1"}, 1, "UID 2: not a card UID"}, // 12 bytes
		{"", []string{"04A1B2C3D"}, 1, "UID 1: not a card UID"},                            // odd
		{"", []string{"0xDEADBEEF"}, 1, "UID 1: not a card UID"},
		{"", []string{"Karte Anna"}, 1, "UID 1: not a card UID"},
		{"DEADBEEF\n\nQQQQQQQQ\n", []string{"--stdin"}, 1, "UID 2: not a card UID"},
		{strings.Repeat("A", 300) + "\n", []string{"--stdin"}, 1, "line 1: longer than"},
		{strings.Repeat("DEADBEEF\n", cli.MaxCardUIDs+1), []string{"--stdin"}, 1, "more than"},
		{"\n  \n", []string{"--stdin"}, 1, "no UIDs"},
		{"", nil, 2, "give card UIDs as arguments, or --stdin"},
		{"DEADBEEF\n", []string{"--stdin", "DEADBEEF"}, 2, "not both"},
	} {
		out, errs, code := runIn(t, c.stdin, append([]string{"card", "hash", "--data", data}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%q %q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, c.stdin, code, out, errs, c.code, c.want)
		}
		for _, bad := range []string{"04A1B2", "QQQQQQQQ", "Karte Anna", "0xDEADBEEF"} {
			if strings.Contains(strings.ToUpper(errs), strings.ToUpper(bad)) {
				t.Errorf("%q: the UID is echoed: %q", c.args, errs)
			}
		}
	}
	if _, errs, code := runIn(t, "", "card", "hash", "--data", filepath.Join(t.TempDir(), "none"), "DEADBEEF"); code != 1 || !strings.Contains(errs, "no hub database") {
		t.Errorf("missing hub: exit %d %q", code, errs)
	}
	if k := storedCardKey(t, data); k != nil {
		t.Errorf("refused commands made a card key")
	}
}

// TestPinHash checks that pin hash prints a hash api.CheckPIN accepts for
// the PIN and no other, salted afresh each time, that a layer carrying it
// and a card hash is taken by config set, and that a PIN the keypad
// cannot type is refused.
func TestPinHash(t *testing.T) {
	out, errs, code := runIn(t, "0815\n", "pin", "hash")
	if code != 0 {
		t.Fatalf("pin hash: %d %s", code, errs)
	}
	h := strings.TrimSpace(out)
	if !api.CheckPIN(h, "0815") || api.CheckPIN(h, "0816") || strings.Contains(h, "0815") {
		t.Fatalf("pin hash printed %q, which does not check as the PIN 0815 alone", h)
	}
	if !regexp.MustCompile(`^pbkdf2-sha256\$200000\$`).MatchString(h) {
		t.Errorf("hash %q: want the default work factor", h)
	}
	if again, _, _ := runIn(t, "0815", "pin", "hash"); strings.TrimSpace(again) == h || !api.CheckPIN(strings.TrimSpace(again), "0815") {
		t.Errorf("a second hash of the same PIN (no newline) is %q, first %q: want another salt, same PIN", again, h)
	}

	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	card, errs, code := runIn(t, "", "card", "hash", "--data", data, "DEADBEEF")
	if code != 0 {
		t.Fatalf("card hash: %d %s", code, errs)
	}
	layer := `{"content": {"moderator_cards": ["` + strings.TrimSpace(card) + `"], "moderator_pin": "` + h + `"}}`
	var c api.Content
	if _, err := api.ValidateConfigLayer([]byte(layer)); err != nil {
		t.Fatalf("layer %s: %v", layer, err)
	}
	c.ModeratorCards, c.ModeratorPIN = []string{strings.TrimSpace(card)}, h
	if err := c.Validate(); err != nil && (strings.Contains(err.Error(), "moderator card") || strings.Contains(err.Error(), "moderator_pin")) {
		t.Errorf("content refuses the printed hashes: %v", err)
	}
	file := filepath.Join(t.TempDir(), "layer.json")
	writeFile(t, file, []byte(layer))
	if out, errs, code := runIn(t, "", "config", "set", "--data", data, "--scope", "quarter:Johannstadt", "--file", file); code != 0 {
		t.Fatalf("config set: %d %s %s", code, out, errs)
	}

	for _, c := range []struct{ stdin, want string }{
		{"", "no PIN"},
		{"\n", "no PIN"},
		{"123\n", "4 to 12 digits"},
		{"1234567890123\n", "4 to 12 digits"},
		{"12a4\n", "4 to 12 digits"},
		{"12 34\n", "4 to 12 digits"},
		{"１２３４\n", "4 to 12 digits"}, // full-width digits: not on the keypad
		{strings.Repeat(" ", 300) + "1234\n", "longer than"},
	} {
		out, errs, code := runIn(t, c.stdin, "pin", "hash")
		if code != 1 || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("stdin %q: exit %d, stdout %q, stderr %q; want %q", c.stdin, code, out, errs, c.want)
		}
	}
	if out, errs, code := runIn(t, "", "pin", "hash", "1234"); code != 2 || out != "" || !strings.Contains(errs, "never taken as an argument") {
		t.Errorf("PIN as argument: exit %d %q %q", code, out, errs)
	}
}

// FuzzParseCardUID holds for any input that a UID taken is the readers'
// form (upper-case hex, 4 to 10 bytes) and stays itself when parsed
// again, and that the hub's hasher is the terminal's.
func FuzzParseCardUID(f *testing.F) {
	for _, s := range []string{"DEADBEEF", "04:a1:b2:c3:d4:e5:f6", " 01004ca53b ", "de-ad be\tef", "", "0xDEADBEEF", "ＤＥＡＤＢＥＥＦ", "04A1B2C3D4E5F6A7B8C9", "\u00a0DEADBEEF"} {
		f.Add(s)
	}
	key := bytes.Repeat([]byte{0x5a}, api.CardKeyLen)
	form := regexp.MustCompile(`^(?:[0-9A-F]{2}){4,10}$`)
	_, refused := cli.ParseCardUID("?")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := cli.HashCardUID(key, s), session.HashCard(key, s); got != want {
			t.Fatalf("HashCardUID(%q) = %s, the terminal's HashCard %s", s, got, want)
		}
		u, err := cli.ParseCardUID(s)
		if err != nil {
			if err.Error() != refused.Error() {
				t.Fatalf("error %q for %q differs from %q: it must not depend on (repeat) the input", err, s, refused)
			}
			return
		}
		if !form.MatchString(u) {
			t.Fatalf("ParseCardUID(%q) = %q, not the readers' form", s, u)
		}
		if again, err := cli.ParseCardUID(u); err != nil || again != u {
			t.Fatalf("ParseCardUID(%q) = %q, %v; want itself", u, again, err)
		}
	})
}
