package cli_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/cli"
	"github.com/quartierhub/quartierhub/hub-server/internal/console"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
)

func runIn(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, cli.Opts{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Actor: "root"})
	return out.String(), errb.String(), code
}

func TestUserAdd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	if out, errs, code := runIn(t, "a long enough secret\n", "user", "add", "--data", data, "--name", "anna", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %d %s %s", code, out, errs)
	}
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"short\n", []string{"--name", "bert", "--role", "viewer"}, "at least 12"},
		{"a long enough secret\n", []string{"--name", "bert", "--role", "root"}, "role must be one of"},
		{"a long enough secret\n", []string{"--name", "anna", "--role", "viewer"}, "exists already"},
	} {
		args := append([]string{"user", "add", "--data", data, "--password-stdin"}, c.args...)
		if _, errs, code := runIn(t, c.stdin, args...); code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: %d %q, want %q", c.args, code, errs, c.want)
		}
	}
	st, err := sqlitestore.Open(context.Background(), cli.DBPath(data), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByName(context.Background(), "anna")
	if err != nil || u.Role != "admin" || !console.CheckPassword(u.PasswordHash, "a long enough secret") || strings.Contains(u.PasswordHash, "secret") {
		t.Fatalf("stored user %+v: %v", u, err)
	}
	if out, _, code := runIn(t, "", "user", "list", "--data", data); code != 0 || !strings.Contains(out, "anna") {
		t.Fatalf("user list: %d %s", code, out)
	}
	if _, _, code := runIn(t, "another long secret\n", "user", "password", "--data", data, "--name", "anna", "--password-stdin"); code != 0 {
		t.Fatal("user password")
	}
	u, _ = st.UserByName(context.Background(), "anna")
	if !console.CheckPassword(u.PasswordHash, "another long secret") {
		t.Fatal("password not changed")
	}
}

// mkHub creates the hub database in data as serve does.
// hubWithTerminal makes a hub directory and opens its store with one
// terminal, jst-1 in Johannstadt, enrolled at now; the caller closes it.
func hubWithTerminal(t *testing.T, now time.Time) (string, *sqlitestore.Store, store.Terminal) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "hub")
	if err := mkHub(data); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, cli.DBPath(data), sqlitestore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	tok := sha256.Sum256([]byte("tok"))
	if err := st.CreateEnrolToken(ctx, store.EnrolToken{Hash: tok, TerminalName: "jst-1", Quarter: "Johannstadt", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		st.Close()
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(nil)
	term, err := st.Enroll(ctx, store.Enrolment{TokenHash: tok, TerminalID: "T1", PublicKey: pub, Now: now})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return data, st, term
}

func mkHub(data string) error {
	if err := os.MkdirAll(data, 0o750); err != nil {
		return err
	}
	st, err := sqlitestore.Open(context.Background(), cli.DBPath(data), sqlitestore.Opts{})
	if err != nil {
		return err
	}
	return st.Close()
}

func TestTerminalRevokeByName(t *testing.T) {
	now := time.Now()
	ctx := context.Background()
	data, st, term := hubWithTerminal(t, now)
	defer st.Close()
	if _, errs, code := runIn(t, "", "terminal", "revoke", "--data", data, "--terminal", "nope"); code != 1 || !strings.Contains(errs, "no terminal named") {
		t.Fatalf("unknown name: %d %s", code, errs)
	}
	if out, errs, code := runIn(t, "", "terminal", "revoke", "--data", data, "--terminal", "jst-1"); code != 0 || !strings.Contains(out, "revoked jst-1") {
		t.Fatalf("revoke --terminal: %d %s %s", code, out, errs)
	}
	if got, _ := st.Terminal(ctx, term.ID); !got.Revoked() {
		t.Fatal("not revoked")
	}
	if log, _ := st.AuditEntries(ctx, store.AuditFilter{Subject: "terminal:jst-1"}); len(log) != 1 || log[0].Actor != "root" || log[0].Action != "terminal.revoke" {
		t.Fatalf("audit: %+v", log)
	}
}
