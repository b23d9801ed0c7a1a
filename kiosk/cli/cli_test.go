package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestSubmitWithoutAgentStoresDurably(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := runCLI(t, "submit", "--data", dir, "--type", "problem_report", "--payload", `{"category":"litter"}`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	id := strings.TrimSpace(out)
	if len(id) != 26 {
		t.Fatalf("printed %q, want a ULID", out)
	}
	ob, err := outbox.Open(filepath.Join(dir, agent.OutboxFile), outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	recs, err := ob.Peek(context.Background(), 10, 1<<20)
	if err != nil || len(recs) != 1 || recs[0].ID != id || recs[0].Class != outbox.ClassResident {
		t.Fatalf("outbox holds %v (%v)", recs, err)
	}
}

func TestErrorsAreOneLineWithNonZeroExit(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"submit", "--data", dir, "--type", "x", "--payload", "[1,2]"}, "must be a JSON object"},
		{[]string{"submit", "--data", dir, "--payload", "{}"}, "--type is required"},
		{[]string{"submit", "--data", dir, "--type", "x", "--class", "urgent", "--payload", "{}"}, "unknown class"},
		{[]string{"status", "--data", dir}, "no agent running"},
		{[]string{"sync-now", "--data", dir}, "no agent running"},
		{[]string{"status"}, "--data DIR is required"},
		{[]string{"enroll", "--data", dir, "--hub", "ftp://x", "--token", "t"}, "must look like"},
		{[]string{"enroll", "--data", dir, "--hub", "http://127.0.0.1:1", "--token", "t"}, "cannot reach the hub"},
		{[]string{"enroll", "--data", dir, "--uri", "quartierhub-enrol:?hub=http%3A%2F%2F127.0.0.1%3A1&token=t"}, "cannot reach the hub"},
		{[]string{"enroll", "--data", dir, "--uri", "https://example.org/?token=t"}, "not an enrolment QR code"},
		{[]string{"enroll", "--data", dir}, "needs --hub and --token"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		code, _, errs := runCLI(t, c.args...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errs, c.want)
		}
		if c.args[0] != "frobnicate" && strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: error is not one line: %q", c.args, errs)
		}
	}
}

// TestSubmitRefusesWhatTheHubRefuses: kiosk submit without an agent
// (opening the outbox itself) refuses, with the reason on one line and
// nothing stored, the records the hub would refuse on upload.
func TestSubmitRefusesWhatTheHubRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		typ, payload, want string
	}{
		{"Bad Type!", `{"text":"x"}`, "type must be"},
		{"problem_report", `{"category":"litter","text":"` + strings.Repeat("x", 70<<10) + `"}`, "payload larger than 65536 bytes"},
		{"problem_report", `{"where":"park","severity":3}`, `unknown field "severity"`},
		{"problem_report", `{"place":"terminal"}`, `"category" is required`},
		{"problem_report", `{"category":"litter","text":"a\u0000b"}`, "control character"},
		{"survey_response", `{"survey":"s"}`, `"respondent" is required`},
		{"help_ticket", `{"number":-1,"day":"2025-06-01"}`, "positive integer"},
	} {
		code, out, errs := runCLI(t, "submit", "--data", dir, "--type", c.typ, "--payload", c.payload)
		if code == 0 || out != "" {
			t.Errorf("%s %.60s: exit %d, printed %q: confirmed a record the hub refuses", c.typ, c.payload, code, out)
		}
		if !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%s %.60s: stderr %q, want one line with %q", c.typ, c.payload, errs, c.want)
		}
	}
	ob, err := outbox.Open(filepath.Join(dir, agent.OutboxFile), outbox.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	if recs, err := ob.Peek(context.Background(), 10, 1<<20); err != nil || len(recs) != 0 {
		t.Fatalf("outbox holds %d records (%v), want none", len(recs), err)
	}
}
