package storetest

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

var consoleTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Users", testUsers},
	{"UserChangeEndsSessions", testUserChangeEndsSessions},
	{"Sessions", testSessions},
	{"LoginFailures", testLoginFailures},
	{"AuditEntriesFilter", testAuditEntries},
	{"RotationToken", testRotationToken},
	{"ReportsAndStatus", testReports},
	{"RecordsFilter", testRecords},
}

func user(name, role string) store.User {
	return store.User{ID: "U-" + name, Name: name, Role: role, PasswordHash: "$argon2id$x-" + name, CreatedAt: t0}
}

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, user("anna", store.RoleAdmin), who("user.create", "user:anna", t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, user("bert", store.RoleViewer), who("user.create", "user:bert", t0)); err != nil {
		t.Fatal(err)
	}
	dup := user("anna", store.RoleViewer)
	dup.ID = "U-other"
	if err := s.CreateUser(ctx, dup, who("user.create", "user:anna", t0)); !errors.Is(err, store.ErrUserExists) {
		t.Fatalf("duplicate name: %v, want ErrUserExists", err)
	}
	u, err := s.UserByName(ctx, "anna")
	if err != nil || u.ID != "U-anna" || u.Role != store.RoleAdmin || u.PasswordHash != "$argon2id$x-anna" || !u.CreatedAt.Equal(t0) || u.Disabled() {
		t.Fatalf("UserByName = %+v, %v", u, err)
	}
	if u2, err := s.UserByID(ctx, "U-bert"); err != nil || u2.Name != "bert" {
		t.Fatalf("UserByID = %+v, %v", u2, err)
	}
	if _, err := s.UserByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := s.SetUserLogin(ctx, "U-anna", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	u.Role, u.DisabledAt = store.RoleModerator, t0.Add(2*time.Hour)
	if err := s.UpdateUser(ctx, u, who("user.update", "user:anna", t0.Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateUser(ctx, user("ghost", store.RoleAdmin), who("user.update", "user:ghost", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	us, err := s.Users(ctx)
	if err != nil || len(us) != 2 || us[0].Name != "anna" || us[1].Name != "bert" {
		t.Fatalf("Users = %+v, %v", us, err)
	}
	if a := us[0]; a.Role != store.RoleModerator || !a.DisabledAt.Equal(t0.Add(2*time.Hour)) || !a.LastLoginAt.Equal(t0.Add(time.Hour)) ||
		!a.UpdatedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("updated user = %+v", a)
	}
	log, err := s.AuditEntries(ctx, store.AuditFilter{Action: "user."})
	if err != nil || len(log) != 3 {
		t.Fatalf("user audit = %+v, %v; want 3 entries", log, err)
	}
}

func testUserChangeEndsSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := user("carla", store.RoleAdmin)
	if err := s.CreateUser(ctx, u, who("user.create", "user:carla", t0)); err != nil {
		t.Fatal(err)
	}
	mk := func(h string) {
		if err := s.CreateSession(ctx, store.Session{IDHash: h, UserID: u.ID, CSRF: "c", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	alive := func(h string) bool {
		_, err := s.Session(ctx, h, t0)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	mk("s1")
	// Each update names the version it read (UpdateUser compares).
	reread := func() {
		t.Helper()
		got, err := s.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		u.Version = got.Version
	}
	reread()
	// A change that touches neither role, password nor disabled keeps sessions.
	if err := s.UpdateUser(ctx, u, who("user.update", "user:carla", t0)); err != nil {
		t.Fatal(err)
	}
	reread()
	if !alive("s1") {
		t.Fatal("session ended by an update that changed nothing")
	}
	u.PasswordHash = "$argon2id$new"
	if err := s.UpdateUser(ctx, u, who("user.password", "user:carla", t0)); err != nil {
		t.Fatal(err)
	}
	if alive("s1") {
		t.Fatal("session survived a password change")
	}
	reread()
	mk("s2")
	u.Role = store.RoleViewer
	if err := s.UpdateUser(ctx, u, who("user.update", "user:carla", t0)); err != nil {
		t.Fatal(err)
	}
	if alive("s2") {
		t.Fatal("session survived a role change")
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	se := store.Session{IDHash: "h1", UserID: "U-1", CSRF: "tok", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, "h1", t0.Add(time.Minute))
	if err != nil || got.UserID != "U-1" || got.CSRF != "tok" || !got.ExpiresAt.Equal(se.ExpiresAt) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("Session = %+v, %v", got, err)
	}
	if _, err := s.Session(ctx, "h1", t0.Add(30*time.Minute)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session: %v, want ErrNotFound", err)
	}
	if err := s.TouchSession(ctx, "h1", t0.Add(29*time.Minute), t0.Add(59*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, "h1", t0.Add(45*time.Minute)); err != nil || !got.LastSeenAt.Equal(t0.Add(29*time.Minute)) {
		t.Fatalf("touched session = %+v, %v", got, err)
	}
	if err := s.TouchSession(ctx, "nope", t0, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("touch unknown: %v", err)
	}
	se2 := store.Session{IDHash: "h2", UserID: "U-1", CSRF: "x", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	if err := s.CreateSession(ctx, se2); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, t0.Add(10*time.Minute)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if _, err := s.Session(ctx, "h1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
}

func testLoginFailures(t *testing.T, s store.Store) {
	ctx := context.Background()
	const window = 15 * time.Minute
	for i := 1; i <= 3; i++ {
		n, err := s.AddLoginFailure(ctx, "k", t0.Add(time.Duration(i)*time.Minute), window)
		if err != nil || n != int64(i) {
			t.Fatalf("failure %d: count %d, %v", i, n, err)
		}
	}
	if n, last, err := s.LoginFailures(ctx, "k"); err != nil || n != 3 || !last.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("LoginFailures = %d %v %v", n, last, err)
	}
	if n, _, err := s.LoginFailures(ctx, "other"); err != nil || n != 0 {
		t.Fatalf("other key = %d, %v", n, err)
	}
	// After a quiet window the count starts again.
	if n, err := s.AddLoginFailure(ctx, "k", t0.Add(3*time.Minute+window+time.Second), window); err != nil || n != 1 {
		t.Fatalf("after window: %d, %v; want 1", n, err)
	}
	if err := s.ClearLoginFailures(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := s.LoginFailures(ctx, "k"); n != 0 {
		t.Fatalf("after clear: %d", n)
	}
	s.AddLoginFailure(ctx, "old", t0, window)
	s.AddLoginFailure(ctx, "new", t0.Add(time.Hour), window)
	if n, err := s.PruneLoginFailures(ctx, t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("prune = %d, %v", n, err)
	}
}

func testAuditEntries(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, a := range []store.Audit{
		{Actor: "anna", Action: "report.status", Subject: "report:AAAA-BBBB"},
		{Actor: "bert", Action: "command.send", Subject: "terminal:jst-1"},
		{Actor: "anna", Action: "terminal.revoke", Subject: "terminal:jst-1"},
		{Actor: "anna", Action: "reports.export", Subject: ""},
	} {
		a.At = t0.Add(time.Duration(i) * time.Second)
		if err := s.AppendAudit(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	check := func(f store.AuditFilter, want ...string) {
		t.Helper()
		got, err := s.AuditEntries(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, a := range got {
			acts = append(acts, a.Action)
		}
		if fmt.Sprint(acts) != fmt.Sprint(want) {
			t.Errorf("AuditEntries(%+v) = %v, want %v", f, acts, want)
		}
	}
	check(store.AuditFilter{Subject: "terminal:jst-1"}, "terminal.revoke", "command.send")
	check(store.AuditFilter{Actor: "anna", Limit: 2}, "reports.export", "terminal.revoke")
	check(store.AuditFilter{Action: "report."}, "report.status")
	check(store.AuditFilter{Action: "command.send"}, "command.send")
}

func testRotationToken(t *testing.T, s store.Store) {
	ctx := context.Background()
	term := enrol(t, s, "jst-rot", 1)
	if err := s.SetTerminalTags(ctx, term.ID, []string{"pilot"}, who("terminal.tag", "jst-rot", t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeTerminal(ctx, term.ID, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	tok := store.EnrolToken{Hash: hash("rot-1"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateRotationToken(ctx, tok, "T-none", who("terminal.rotate", "x", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotation token for unknown terminal: %v", err)
	}
	if err := s.CreateRotationToken(ctx, tok, term.ID, who("terminal.rotate", "terminal:jst-rot", t0)); err != nil {
		t.Fatal(err)
	}
	newKey := key(9).Public().(ed25519.PublicKey)
	got, err := s.Enroll(ctx, store.Enrolment{TokenHash: hash("rot-1"), TerminalID: "T-fresh", PublicKey: newKey, SoftwareVersion: "2.0.0", Now: t0.Add(3 * time.Minute)})
	if err != nil {
		t.Fatalf("Enroll with rotation token: %v", err)
	}
	if got.ID != term.ID || got.Name != "jst-rot" || !got.PublicKey.Equal(newKey) {
		t.Fatalf("rotated = %+v", got)
	}
	after, err := s.Terminal(ctx, term.ID)
	if err != nil || after.Revoked() || !after.PublicKey.Equal(newKey) || after.SoftwareVersion != "2.0.0" || len(after.Tags) != 1 || !after.EnrolledAt.Equal(term.EnrolledAt) {
		t.Fatalf("terminal after rotation = %+v, %v", after, err)
	}
	if _, err := s.Terminal(ctx, "T-fresh"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rotation created a terminal: %v", err)
	}
	if _, err := s.Enroll(ctx, store.Enrolment{TokenHash: hash("rot-1"), TerminalID: "T-x", PublicKey: newKey, Now: t0.Add(4 * time.Minute)}); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("reused rotation token: %v", err)
	}
}

func report(n int, cat, text string) api.Record {
	p, _ := json.Marshal(api.ProblemReport{Category: cat, Text: text, Place: "here"})
	return api.Record{ID: ulid(n), Type: store.ReportType, Class: api.ClassResident, CreatedAt: t0.Add(time.Duration(n) * time.Second), Payload: p}
}

func testReports(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "jst-a", 1)
	b := enrol(t, s, "jst-b", 2)
	ingest(t, s, a.ID, append(records(1, 3), report(100, "litter", "Müll am Spielplatz"), report(101, "light", "")))
	ingest(t, s, b.ID, []api.Record{report(100, "bench", "Bank kaputt")}) // same record ID, other terminal
	all, err := s.Reports(ctx, store.ReportFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("Reports = %d, %v; want 3", len(all), err)
	}
	for _, r := range all {
		if r.Status != store.ReportNew || r.Ref != api.ReportReference(r.RecordID) || r.Quarter != "Johannstadt" {
			t.Errorf("report %+v: want status new and its reference", r)
		}
	}
	ref := api.ReportReference(ulid(100))
	byRef, err := s.Reports(ctx, store.ReportFilter{Ref: ref})
	if err != nil || len(byRef) != 2 {
		t.Fatalf("by ref %s: %d, %v; want 2 (one per terminal)", ref, len(byRef), err)
	}
	st := store.ReportStatus{TerminalID: a.ID, RecordID: ulid(100), Status: store.ReportInProgress, PublicNote: "Stadtreinigung informiert",
		PublishText: true, UpdatedAt: t0.Add(time.Hour), UpdatedBy: "mod"}
	if err := s.SetReportStatus(ctx, st, who("report.status", "report:"+ref, t0)); err != nil {
		t.Fatal(err)
	}
	bad := st
	bad.RecordID = ulid(1) // a sensor record, not a report
	if err := s.SetReportStatus(ctx, bad, who("report.status", "x", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("status of a sensor record: %v", err)
	}
	got, err := s.Reports(ctx, store.ReportFilter{TerminalID: a.ID, RecordID: ulid(100)})
	if err != nil || len(got) != 1 {
		t.Fatalf("one report: %d, %v", len(got), err)
	}
	if g := got[0]; g.Status != store.ReportInProgress || g.PublicNote != st.PublicNote || !g.PublishText || g.UpdatedBy != "mod" ||
		!g.UpdatedAt.Equal(st.UpdatedAt) || g.TerminalName != "jst-a" {
		t.Fatalf("report after status = %+v", g)
	}
	var p api.ProblemReport
	if err := json.Unmarshal(got[0].Payload, &p); err != nil || p.Text != "Müll am Spielplatz" {
		t.Fatalf("payload %s: %v", got[0].Payload, err)
	}
	if n, err := s.Reports(ctx, store.ReportFilter{Status: store.ReportNew}); err != nil || len(n) != 2 {
		t.Fatalf("status new: %d, %v; want 2", len(n), err)
	}
	if n, err := s.Reports(ctx, store.ReportFilter{Status: store.ReportInProgress, Quarter: "Johannstadt"}); err != nil || len(n) != 1 {
		t.Fatalf("in progress: %d, %v; want 1", len(n), err)
	}
	if n, err := s.Reports(ctx, store.ReportFilter{Limit: 1}); err != nil || len(n) != 1 {
		t.Fatalf("limit: %d, %v", len(n), err)
	}
}

func testRecords(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "jst-r", 1)
	sv := api.Record{ID: ulid(200), Type: store.SurveyType, Class: api.ClassResident, CreatedAt: t0, Payload: json.RawMessage(`{"survey":"s1"}`)}
	ingest(t, s, a.ID, append(records(1, 4), sv, report(201, "x", "")))
	var got []string
	err := s.Records(ctx, store.RecordFilter{Class: api.ClassResident, Type: store.SurveyType}, func(r *store.RecordRow) error {
		got = append(got, r.ID+" "+r.TerminalName+" "+string(r.Payload))
		return nil
	})
	if err != nil || len(got) != 1 || got[0] != ulid(200)+` jst-r {"survey":"s1"}` {
		t.Fatalf("Records = %q, %v", got, err)
	}
	n := 0
	stop := errors.New("stop")
	err = s.Records(ctx, store.RecordFilter{TerminalID: a.ID}, func(*store.RecordRow) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("Records stops at fn's error: %v after %d", err, n)
	}
}
