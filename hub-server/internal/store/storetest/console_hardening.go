package storetest

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Compare-and-swap writes, actions audited in their own transaction, and
// one report per public reference. Registered here so the file stands
// alone (package variables are set before init runs).
func init() {
	consoleTests = append(consoleTests, []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"ConfigLayerCompareAndSwap", testConfigLayerCAS},
		{"ConfigLayerConcurrentEditors", testConfigLayerConcurrent},
		{"UserVersion", testUserVersion},
		{"ReportStatusVersion", testReportStatusVersion},
		{"AuditedActions", testAuditedActions},
		{"ReportByRef", testReportByRef},
	}...)
}

func auditCount(t *testing.T, s store.Store, f store.AuditFilter) int {
	t.Helper()
	es, err := s.AuditEntries(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func layerOf(t *testing.T, s store.Store, scope string) store.ConfigLayer {
	t.Helper()
	ls, err := s.ConfigLayers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Scope == scope {
			return l
		}
	}
	return store.ConfigLayer{}
}

func testConfigLayerCAS(t *testing.T, s store.Store) {
	ctx := context.Background()
	put := func(doc string, base int64) (int64, error) {
		return s.PutConfigLayerIf(ctx, "quarter:J", []byte(doc), base, who("config.set", "quarter:J", t0))
	}
	if v, err := put(`{"content": {}}`, 0); err != nil || v != 1 {
		t.Fatalf("first version on base 0: %d, %v", v, err)
	}
	for _, base := range []int64{0, 2, 7} {
		if _, err := put(`{"content": {"x": 1}}`, base); !errors.Is(err, store.ErrVersionConflict) {
			t.Fatalf("base %d while version 1 is stored: %v, want ErrVersionConflict", base, err)
		}
	}
	if v, err := put(`{"content": {"y": 2}}`, 1); err != nil || v != 2 {
		t.Fatalf("on base 1: %d, %v", v, err)
	}
	if _, err := put(`{"content": {"stale": true}}`, 1); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("stale base 1: %v", err)
	}
	if l := layerOf(t, s, "quarter:J"); l.Version != 2 || string(l.Document) != `{"content": {"y": 2}}` {
		t.Fatalf("stored %d %s, want version 2 of the second save", l.Version, l.Document)
	}
	if n := auditCount(t, s, store.AuditFilter{Action: "config.set"}); n != 2 {
		t.Fatalf("%d audit entries, want 2 (refused writes are not audited)", n)
	}
	if _, err := s.PutConfigLayerIf(ctx, "quarter:J", []byte(`{}`), -1, who("config.set", "x", t0)); err == nil {
		t.Fatal("a negative base was taken")
	}
	// The unconditional put still works on top.
	if v, err := s.PutConfigLayer(ctx, "quarter:J", []byte(`{}`), who("config.set", "quarter:J", t0)); err != nil || v != 3 {
		t.Fatalf("PutConfigLayer after: %d, %v", v, err)
	}
}

// testConfigLayerConcurrent: editors who loaded the same version save at
// the same moment; exactly one wins each round, its document is stored
// and audited once, and the others learn of the conflict.
func testConfigLayerConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	const editors, rounds = 6, 5
	var base int64
	for round := range rounds {
		var wg sync.WaitGroup
		start := make(chan struct{})
		type result struct {
			doc string
			v   int64
			err error
		}
		results := make([]result, editors)
		for i := range editors {
			wg.Add(1)
			go func() {
				defer wg.Done()
				doc := fmt.Sprintf(`{"content": {"editor": %d, "round": %d}}`, i, round)
				<-start
				v, err := s.PutConfigLayerIf(ctx, "global", []byte(doc), base, who("config.set", "global", t0))
				results[i] = result{doc, v, err}
			}()
		}
		close(start)
		wg.Wait()
		var won []result
		for _, r := range results {
			switch {
			case r.err == nil:
				won = append(won, r)
			case !errors.Is(r.err, store.ErrVersionConflict):
				t.Fatalf("round %d: %v, want success or ErrVersionConflict", round, r.err)
			}
		}
		if len(won) != 1 || won[0].v != base+1 {
			t.Fatalf("round %d: %d editors saved (%+v), want exactly one, as version %d", round, len(won), won, base+1)
		}
		if l := layerOf(t, s, "global"); l.Version != base+1 || string(l.Document) != won[0].doc {
			t.Fatalf("round %d: stored version %d %s, want the winner's %s", round, l.Version, l.Document, won[0].doc)
		}
		base++
	}
	if n := auditCount(t, s, store.AuditFilter{Action: "config.set"}); n != rounds {
		t.Fatalf("%d audit entries, want %d (one per winner)", n, rounds)
	}
}

func testUserVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, user("dora", store.RoleModerator), who("user.create", "user:dora", t0)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, store.Session{IDHash: "s-dora", UserID: "U-dora", CSRF: "c", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.UserByName(ctx, "dora")
	b := a // a second admin's copy, read at the same time
	if a.Version != 1 {
		t.Fatalf("new user at version %d, want 1", a.Version)
	}
	a.DisabledAt = t0.Add(time.Minute)
	if err := s.UpdateUser(ctx, a, who("user.update", "user:dora", t0)); err != nil {
		t.Fatal(err)
	}
	// b resets the password on what it read: that would enable dora again.
	b.PasswordHash = "$argon2id$other"
	if err := s.UpdateUser(ctx, b, who("user.update", "user:dora", t0)); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("update on a stale version: %v, want ErrVersionConflict", err)
	}
	got, _ := s.UserByName(ctx, "dora")
	if !got.Disabled() || got.PasswordHash != "$argon2id$x-dora" || got.Version != 2 {
		t.Fatalf("after the refused update: %+v, want disabled, the old hash, version 2", got)
	}
	if n := auditCount(t, s, store.AuditFilter{Action: "user.update"}); n != 1 {
		t.Fatalf("%d user.update entries, want 1", n)
	}
	// Two updates from the same version at once: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := got
			u.Role = []string{store.RoleAdmin, store.RoleViewer}[i%2]
			errs[i] = s.UpdateUser(ctx, u, who("user.update", "user:dora", t0))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, store.ErrVersionConflict) {
			t.Fatal(err)
		}
	}
	if final, _ := s.UserByName(ctx, "dora"); ok != 1 || final.Version != 3 {
		t.Fatalf("%d of 4 concurrent updates saved, version %d; want 1 and 3", ok, final.Version)
	}
}

func testReportStatusVersion(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := enrol(t, s, "jst-v", 1)
	ingest(t, s, a.ID, []api.Record{report(300, "litter", "Müll")})
	read := func() store.Report {
		t.Helper()
		rs, err := s.Reports(ctx, store.ReportFilter{TerminalID: a.ID, RecordID: ulid(300)})
		if err != nil || len(rs) != 1 {
			t.Fatalf("report: %d, %v", len(rs), err)
		}
		return rs[0]
	}
	if r := read(); r.Version != 0 {
		t.Fatalf("untouched report at version %d, want 0", r.Version)
	}
	set := func(status, note string, version int64) error {
		return s.SetReportStatus(ctx, store.ReportStatus{TerminalID: a.ID, RecordID: ulid(300), Status: status, PublicNote: note,
			UpdatedAt: t0, UpdatedBy: "mod", Version: version}, who("report.status", "report:x", t0))
	}
	if err := set(store.ReportInProgress, "first", 0); err != nil {
		t.Fatal(err)
	}
	if err := set(store.ReportRejected, "second on a stale page", 0); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("second first state: %v, want ErrVersionConflict", err)
	}
	if err := set(store.ReportResolved, "from the future", 5); !errors.Is(err, store.ErrVersionConflict) {
		t.Fatalf("unknown version: %v, want ErrVersionConflict", err)
	}
	if r := read(); r.Version != 1 || r.PublicNote != "first" || r.Status != store.ReportInProgress {
		t.Fatalf("after the conflicts: %+v", r.ReportStatus)
	}
	// Concurrent moderators on version 1: one wins.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = set(store.ReportResolved, fmt.Sprintf("moderator %d", i), 1)
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("moderators %d and %d both saved", winner, i)
			}
			winner = i
		} else if !errors.Is(err, store.ErrVersionConflict) {
			t.Fatal(err)
		}
	}
	if r := read(); winner < 0 || r.Version != 2 || r.PublicNote != fmt.Sprintf("moderator %d", winner) {
		t.Fatalf("after concurrent saves: winner %d, %+v", winner, r.ReportStatus)
	}
	if n := auditCount(t, s, store.AuditFilter{Action: "report.status"}); n != 2 {
		t.Fatalf("%d report.status entries, want 2", n)
	}
	// A record that is no report stays ErrNotFound.
	if err := s.SetReportStatus(ctx, store.ReportStatus{TerminalID: a.ID, RecordID: ulid(1), Status: store.ReportNew}, who("report.status", "x", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no report: %v", err)
	}
}

func testAuditedActions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateUser(ctx, user("emil", store.RoleAdmin), who("user.create", "user:emil", t0)); err != nil {
		t.Fatal(err)
	}
	se := store.Session{IDHash: "s-emil", UserID: "U-emil", CSRF: "c", CreatedAt: t0.Add(time.Hour), LastSeenAt: t0.Add(time.Hour), ExpiresAt: t0.Add(2 * time.Hour)}
	if err := s.StartSession(ctx, se, who("user.login", "user:emil", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "s-emil", t0.Add(time.Hour)); err != nil {
		t.Fatalf("session after StartSession: %v", err)
	}
	if u, _ := s.UserByName(ctx, "emil"); !u.LastLoginAt.Equal(t0.Add(time.Hour)) || u.Version != 1 {
		t.Fatalf("user after login: %+v, want the login time and version 1", u)
	}
	ghost := se
	ghost.IDHash, ghost.UserID = "s-ghost", "U-ghost"
	if err := s.StartSession(ctx, ghost, who("user.login", "user:ghost", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("login of an unknown user: %v, want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, "s-ghost", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a refused login left a session")
	}
	if err := s.EndSession(ctx, "s-emil", who("user.logout", "user:emil", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "s-emil", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the session outlived EndSession")
	}

	term := enrol(t, s, "jst-au", 1)
	tok := store.EnrolToken{Hash: hash("au-1"), TerminalName: "jst-new", Quarter: "J", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateEnrolTokenAudited(ctx, tok, who("terminal.token", "terminal:jst-new", t0)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enroll(ctx, store.Enrolment{TokenHash: tok.Hash, TerminalID: "T-new", PublicKey: key(9).Public().(ed25519.PublicKey), Now: t0.Add(time.Minute)}); err != nil {
		t.Fatalf("enrol with the audited token: %v", err)
	}
	taken := store.EnrolToken{Hash: hash("au-2"), TerminalName: "jst-au", Quarter: "J", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateEnrolTokenAudited(ctx, taken, who("terminal.token", "terminal:jst-au", t0)); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("token for a taken name: %v", err)
	}
	if err := s.RevokeTerminalAudited(ctx, term.ID, t0.Add(time.Hour), who("terminal.revoke", "terminal:jst-au", t0)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Terminal(ctx, term.ID); !got.Revoked() {
		t.Fatal("not revoked")
	}
	if err := s.RevokeTerminalAudited(ctx, "T-none", t0, who("terminal.revoke", "terminal:none", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke unknown: %v", err)
	}
	want := map[string]int{"user.login": 1, "user.logout": 1, "terminal.token": 1, "terminal.revoke": 1}
	for action, n := range want {
		if got := auditCount(t, s, store.AuditFilter{Action: action}); got != n {
			t.Errorf("%s: %d audit entries, want %d (failed actions write none)", action, got, n)
		}
	}
}

// testReportByRef: terminals that upload record IDs ending alike (the
// same ID, or another ID with the same last 8 characters) do not take
// over a reference: it stays with the report received first.
func testReportByRef(t *testing.T, s store.Store) {
	ctx := context.Background()
	late := enrol(t, s, "jst-late", 1) // enrolled first, uploads last
	first := enrol(t, s, "jst-first", 2)
	other := enrol(t, s, "jst-other", 3)
	ref := api.ReportReference(ulid(400))
	up := func(term store.Terminal, rec api.Record, at time.Time) {
		t.Helper()
		if _, err := s.IngestBatch(ctx, term.ID, []api.Record{rec}, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.ReportByRef(ctx, ref); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown reference: %v", err)
	}
	up(first, report(400, "litter", "first terminal's words"), t0.Add(time.Hour))
	if r, shared, err := s.ReportByRef(ctx, ref); err != nil || r.TerminalID != first.ID || shared {
		t.Fatalf("one report: %s, shared %t, %v", r.TerminalName, shared, err)
	}
	up(late, report(400, "bench", "late terminal's words"), t0.Add(2*time.Hour))
	same := report(400, "light", "other terminal's words")
	same.ID = same.ID[:10] + "Z" + same.ID[11:] // another ID, the same last 8 characters
	if same.ID == ulid(400) || api.ReportReference(same.ID) != ref {
		t.Fatalf("fixture: %s", same.ID)
	}
	up(other, same, t0.Add(90*time.Minute))
	r, shared, err := s.ReportByRef(ctx, ref)
	if err != nil || r.TerminalID != first.ID || r.RecordID != ulid(400) || !shared || r.Ref != ref {
		t.Fatalf("shared reference: %s/%s, shared %t, %v; want jst-first's, shared", r.TerminalName, r.RecordID, shared, err)
	}
	if err := s.SetReportStatus(ctx, store.ReportStatus{TerminalID: first.ID, RecordID: ulid(400), Status: store.ReportResolved, PublicNote: "done",
		UpdatedAt: t0, UpdatedBy: "mod"}, who("report.status", "x", t0)); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := s.ReportByRef(ctx, ref); r.Status != store.ReportResolved || r.PublicNote != "done" || r.Version != 1 {
		t.Fatalf("owner's state: %+v", r.ReportStatus)
	}
}
