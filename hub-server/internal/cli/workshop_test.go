package cli_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/hub"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
)

// TestWorkshopCommands: create from a spec file, list, phases by kind,
// next and index, the end, and what is refused, on both stores; the
// events are the hub's, authored as the OS user and audited.
func TestWorkshopCommands(t *testing.T) {
	teststores.EachKind(t, func(t *testing.T, kind string) {
		loc := teststores.Location(t, kind)
		ctx := context.Background()
		l := hub.Location{}
		if kind == teststores.Postgres {
			l.DB = loc[1]
		} else {
			l.DataDir = loc[1]
		}
		st, err := l.OpenOrCreate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()

		dir := t.TempDir()
		// The example is a plan create takes.
		example, exErrs, exCode := runIn(t, "", "workshop", "example")
		if exCode != 0 || !strings.Contains(example, `"phases"`) {
			t.Fatalf("example: %d %s %s", exCode, example, exErrs)
		}
		exampleFile := filepath.Join(dir, "example.json")
		if err := os.WriteFile(exampleFile, []byte(example), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, errs, code := runIn(t, "", with(loc, "workshop", "create", "--file", exampleFile)...); code != 0 {
			t.Fatalf("create from the example: %d %s %s", code, out, errs)
		}
		specFile := filepath.Join(dir, "spec.json")
		spec := `{"title": "Spielplatz Johannstadt", "question": "Was fehlt?", "method": "1-2-4-all", "phones": true}`
		if err := os.WriteFile(specFile, []byte(spec), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errs, code := runIn(t, "", with(loc, "workshop", "create", "--file", specFile)...)
		m := regexp.MustCompile(`^workshop (\w+) created \(draft\), join code ([A-Z0-9]{6})\n$`).FindStringSubmatch(out)
		if code != 0 || m == nil {
			t.Fatalf("create: %d %q %s", code, out, errs)
		}
		id, joinCode := m[1], m[2]

		bad := filepath.Join(dir, "bad.json")
		os.WriteFile(bad, []byte(`{"title": "x", "question": "y", "colour": "red"}`), 0o600)
		if _, errs, code := runIn(t, "", with(loc, "workshop", "create", "--file", bad)...); code != 1 || !strings.Contains(errs, "colour") {
			t.Errorf("unknown field: %d %s", code, errs)
		}
		// Terminals by name as terminal list shows them, or by ID; an
		// unknown one is refused by name.
		tok := sha256.Sum256([]byte("tok"))
		now := time.Now()
		if err := st.CreateEnrolToken(ctx, store.EnrolToken{Hash: tok, TerminalName: "jst-1", Quarter: "Johannstadt", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		pub, _, _ := ed25519.GenerateKey(nil)
		if _, err := st.Enroll(ctx, store.Enrolment{TokenHash: tok, TerminalID: "T1", PublicKey: pub, Now: now}); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(bad, []byte(`{"title": "x", "question": "y", "terminals": ["jst-1"]}`), 0o600)
		out, errs, code = runIn(t, "", with(loc, "workshop", "create", "--file", bad)...)
		if m := regexp.MustCompile(`^workshop (\w+) created`).FindStringSubmatch(out); code != 0 || m == nil {
			t.Errorf("terminals by name: %d %s %s", code, out, errs)
		} else if w, err := st.Workshop(ctx, m[1]); err != nil || !strings.Contains(string(w.Spec), `"terminals":["T1"]`) {
			t.Errorf("terminals by name stored as %s (%v), want the ID", w.Spec, err)
		}
		os.WriteFile(bad, []byte(`{"title": "x", "question": "y", "terminals": ["jst-9"]}`), 0o600)
		if _, errs, code := runIn(t, "", with(loc, "workshop", "create", "--file", bad)...); code != 1 || !strings.Contains(errs, `no terminal named "jst-9"`) {
			t.Errorf("unknown terminal: %d %s", code, errs)
		}
		os.WriteFile(bad, []byte(`{"title": "x", "question": "y", "lang": "fr"}`), 0o600)
		if _, errs, code := runIn(t, "", with(loc, "workshop", "create", "--file", bad)...); code != 1 || !strings.Contains(errs, "lang") {
			t.Errorf("invalid spec: %d %s", code, errs)
		}
		if out, errs, code := runIn(t, spec, with(loc, "workshop", "create", "--file", "-")...); code != 0 || !strings.Contains(out, "created") {
			t.Errorf("create from standard input: %d %s %s", code, out, errs)
		}

		out, _, code = runIn(t, "", with(loc, "workshop", "list")...)
		if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, joinCode) || !strings.Contains(out, "draft") {
			t.Errorf("list: %d %s", code, out)
		}

		phase := func(to string) (string, string, int) {
			return runIn(t, "", with(loc, "workshop", "phase", "--id", id, "--to", to)...)
		}
		// 1-2-4-all: ideas 1, 2, 4, cluster All, vote, results.
		if _, errs, code := phase("ideas"); code != 1 || !strings.Contains(errs, "more than one phase") {
			t.Errorf("an ambiguous kind: %d %s", code, errs)
		}
		if out, errs, code := phase("0"); code != 0 || !strings.Contains(out, "phase 0 (ideas)") {
			t.Fatalf("phase 0: %d %s %s", code, out, errs)
		}
		if out, errs, code := phase("next"); code != 0 || !strings.Contains(out, "phase 1 (ideas)") {
			t.Errorf("next: %d %s %s", code, out, errs)
		}
		if out, errs, code := phase("cluster"); code != 0 || !strings.Contains(out, "phase 3 (cluster)") {
			t.Errorf("cluster: %d %s %s", code, out, errs)
		}
		if _, errs, code := phase("9"); code != 1 || !strings.Contains(errs, "no phase 9") {
			t.Errorf("phase 9: %d %s", code, errs)
		}
		if _, errs, code := runIn(t, "", with(loc, "workshop", "phase", "--id", "NOSUCH", "--to", "0")...); code != 1 || !strings.Contains(errs, "no workshop") {
			t.Errorf("unknown workshop: %d %s", code, errs)
		}
		if _, _, code := runIn(t, "", with(loc, "workshop", "phase", "--id", id)...); code != 2 {
			t.Errorf("phase without --to: %d", code)
		}
		if out, errs, code := phase("end"); code != 0 || !strings.Contains(out, "ended") {
			t.Errorf("end: %d %s %s", code, out, errs)
		}
		if _, errs, code := phase("0"); code != 1 || !strings.Contains(errs, "not_open") {
			t.Errorf("a phase after the end: %d %s", code, errs)
		}

		out, errs, code = runIn(t, "", with(loc, "workshop", "export", "--id", id, "--format", "json")...)
		if sum := sha256.Sum256([]byte(out)); code != 0 || errs != "sha256 "+hex.EncodeToString(sum[:])+"\n" || !strings.Contains(out, "Was fehlt?") {
			t.Errorf("export json: %d %s %s", code, out, errs)
		}
		archive := filepath.Join(dir, "log.jsonl.gz")
		out, errs, code = runIn(t, "", with(loc, "workshop", "export", "--id", id, "--format", "log", "--out", archive)...)
		b, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); code != 0 || out != "wrote "+archive+" (sha256 "+hex.EncodeToString(sum[:])+")\n" {
			t.Errorf("export log: %d %q %s", code, out, errs)
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		lines, _ := io.ReadAll(zr)
		if n := strings.Count(string(lines), "\n"); n != 4 {
			t.Errorf("the log archive has %d lines, want 4:\n%s", n, lines)
		}
		if _, _, code := runIn(t, "", with(loc, "workshop", "export", "--id", id, "--format", "xml")...); code != 2 {
			t.Errorf("export as xml: %d", code)
		}

		w, err := st.Workshop(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if w.Status != store.WorkshopEnded || w.LastSeq != 4 || w.CreatedBy != "root" {
			t.Errorf("stored: status %s, %d events, by %s", w.Status, w.LastSeq, w.CreatedBy)
		}
		evs, err := st.WorkshopEvents(ctx, id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Device != "hub" || !strings.Contains(string(e.Body), `"actor":"`+workshops.CLIActor("root")+`"`) {
				t.Errorf("event %d: %s", e.HubSeq, e.Body)
			}
		}
		as, err := st.AuditEntries(ctx, store.AuditFilter{Subject: "workshop:" + id})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range as {
			got = append(got, a.Actor+" "+a.Action)
		}
		for _, want := range []string{"root workshop.create", "cli.root workshop.event", "system workshop.open", "system workshop.end"} {
			if !strings.Contains(strings.Join(got, "\n"), want) {
				t.Errorf("audit lacks %q: %q", want, got)
			}
		}
	})
}

// TestGroupWithoutSubcommand: a group alone names its subcommands.
func TestGroupWithoutSubcommand(t *testing.T) {
	for _, group := range []string{"workshop", "release", "card"} {
		_, errs, code := runIn(t, "", group)
		if code != 2 || !strings.Contains(errs, group+": want a subcommand: ") {
			t.Errorf("%s alone: %d %s", group, code, errs)
		}
	}
	if _, errs, code := runIn(t, "", "workshop", "open"); code != 2 || !strings.Contains(errs, "example, create, list, phase, export") {
		t.Errorf("workshop open: %d %s", code, errs)
	}
}
