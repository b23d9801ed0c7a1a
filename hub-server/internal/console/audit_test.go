package console

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/quartierhub/quartierhub/hub-server/internal/rollout"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
)

// openWithDB opens a store of kind and a second, plain connection to its
// database, for a test to break it from outside.
func openWithDB(t *testing.T, kind string) (store.Store, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	var st store.Store
	var db *sql.DB
	var err error
	switch kind {
	case teststores.SQLite:
		path := filepath.Join(t.TempDir(), "hub.db")
		if st, err = sqlitestore.Open(ctx, path, sqlitestore.Opts{}); err == nil {
			db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		}
	case teststores.Postgres:
		url := teststores.PostgresURL(t)
		if st, err = pgstore.Open(ctx, url, pgstore.Opts{}); err == nil {
			db, err = sql.Open("pgx", url)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(); st.Close() })
	return st, db
}

// refuseAudit makes the audit log refuse every new entry, as a full disk
// or a damaged table would; the returned func lets it write again.
func refuseAudit(t *testing.T, kind string, db *sql.DB) func() {
	t.Helper()
	stmts, undo := []string{`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log refuses'); END`},
		[]string{`DROP TRIGGER refuse_audit`}
	if kind == teststores.Postgres {
		stmts = []string{`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit log refuses'; END $$`,
			`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()`}
		undo = []string{`DROP TRIGGER refuse_audit ON audit_log`, `DROP FUNCTION refuse_audit()`}
	}
	run := func(qs []string) {
		for _, q := range qs {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	run(stmts)
	return func() { run(undo) }
}

// storeState is everything a console action could change, as text.
func storeState(t *testing.T, st store.Store) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	ts, err := st.Terminals(ctx)
	must(t, err)
	for _, x := range ts {
		fmt.Fprintf(&b, "terminal %s revoked=%v tags=%v\n", x.Name, x.Revoked(), x.Tags)
	}
	cmds, err := st.Commands(ctx, store.CommandFilter{})
	must(t, err)
	fmt.Fprintf(&b, "commands %d\n", len(cmds))
	ls, err := st.ConfigLayers(ctx)
	must(t, err)
	for _, l := range ls {
		fmt.Fprintf(&b, "layer %s v%d\n", l.Scope, l.Version)
	}
	rs, err := st.Reports(ctx, store.ReportFilter{})
	must(t, err)
	for _, r := range rs {
		fmt.Fprintf(&b, "report %s %s v%d %q\n", r.RecordID, r.Status, r.Version, r.PublicNote)
	}
	us, err := st.Users(ctx)
	must(t, err)
	for _, u := range us {
		fmt.Fprintf(&b, "user %s %s v%d disabled=%v login=%v hash=%s\n", u.Name, u.Role, u.Version, u.Disabled(), u.LastLoginAt, u.PasswordHash)
	}
	rels, err := st.Releases(ctx)
	must(t, err)
	for _, r := range rels {
		fmt.Fprintf(&b, "release %s %s\n", r.Version, r.Target)
	}
	tufTargets, err := st.TUFMetadata(ctx, "targets", 0)
	must(t, err)
	fmt.Fprintf(&b, "tuf targets v%d\n", tufTargets.Version)
	ws, err := st.MaintenanceWindows(ctx)
	must(t, err)
	for _, w := range ws {
		fmt.Fprintf(&b, "window %q %v %s\n", w.Quarter, w.Days, w.Start)
	}
	ros, err := st.Rollouts(ctx, 0)
	must(t, err)
	for _, r := range ros {
		fmt.Fprintf(&b, "rollout %s %s %s seq %d\n", r.ID, r.Version, r.State, r.Seq)
	}
	langs, err := st.UserLangsByID(ctx)
	must(t, err)
	fmt.Fprintf(&b, "langs %v\n", langs)
	als, err := st.AlertEntries(ctx, store.AlertFilter{}, time.Now())
	must(t, err)
	for _, a := range als {
		fmt.Fprintf(&b, "alert %s acked=%v\n", a.ID, a.Acked())
	}
	ms, err := st.AlertMutes(ctx, store.MuteFilter{})
	must(t, err)
	for _, m := range ms {
		fmt.Fprintf(&b, "mute %s lifted=%v\n", m.ID, !m.LiftedAt.IsZero())
	}
	return b.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestUnauditedActionsFail: when the audit log cannot be written, every
// console action that audits — each state-changing form, the exports,
// the diagnostics download, login and logout — fails with an error page
// and takes no effect.
func TestUnauditedActionsFail(t *testing.T) { teststores.EachKind(t, testUnauditedActionsFail) }

func testUnauditedActionsFail(t *testing.T, kind string) {
	st, db := openWithDB(t, kind)
	repo, signer := newRepo(t, st, time.Now(), false)
	h := newHubWith(t, st, func(o *Opts) {
		o.Releases = repo
		o.Rollouts = rollout.New(st, rollout.Opts{})
		o.Workshops = workshops.New(st, workshops.Opts{})
	})
	f := setupFixture(t, h)
	admin := h.browser()
	admin.mustLogin("admin")
	leaving := h.browser()
	leaving.mustLogin("admin")
	before := storeState(t, st)
	allow := refuseAudit(t, kind, db)

	// The fixture's rollout is running: starting another, or resuming
	// it, is refused before any audit (TestRolloutActionsUnaudited tries
	// them).
	notHere := map[string]bool{"POST /console/rollouts": true, "POST /console/rollouts/{id}/resume": true}
	audited := map[string]bool{"GET /console/reports.csv": true, "GET /console/surveys.csv": true,
		"GET /console/terminals/{name}/diagnostics/{bundle}/raw": true, "GET /console/workshops/{id}/export/{format}": true}
	tried := 0
	for _, rt := range guarded {
		if !strings.HasPrefix(rt.pattern, "POST ") && !audited[rt.pattern] {
			continue
		}
		if notHere[rt.pattern] {
			continue
		}
		method, path, form := requestFor(rt, f)
		b := admin
		switch path {
		case "/console/config/edit":
			form.Set("op", "save")
			form.Set("scope", "quarter:Elsewhere") // no terminal there to need complete content
		case "/console/account":
			form.Set("current", testPassword)
			form.Set("password", "another long password")
			form.Set("again", "another long password")
		case "/console/logout":
			b = leaving
		}
		var p page
		switch {
		case method == http.MethodGet:
			p = b.get(path)
		case uploads[rt.pattern] > 0:
			art := []byte("kiosk 9.0.0")
			p = b.upload(path, releaseParts("9.0.0", signer.sign("9.0.0", art), art)...)
		default:
			p = b.post(path, form)
		}
		tried++
		if p.status != http.StatusInternalServerError {
			t.Errorf("%s %s with the audit log refusing: %d, want 500", method, path, p.status)
		}
		if strings.Contains(p.body, "reference,terminal") || strings.Contains(p.body, "record_id,terminal") || strings.Contains(p.body, `"version":"1.2.3"`) || tokenRe.MatchString(p.body) {
			t.Errorf("%s %s gave its data away unaudited:\n%.300s", method, path, p.body)
		}
	}
	if tried < 15 {
		t.Fatalf("tried only %d routes", tried)
	}
	// The language (a second form on the account page) and a login.
	if p := admin.post("/console/account", map[string][]string{"op": {"lang"}, "lang": {"de"}}); p.status != http.StatusInternalServerError {
		t.Errorf("language change: %d, want 500", p.status)
	}
	fresh := h.browser()
	if p := fresh.login("moderator", testPassword); p.status != http.StatusInternalServerError {
		t.Errorf("login with the audit log refusing: %d, want 500", p.status)
	}
	if p := fresh.get("/console/"); p.status != http.StatusSeeOther {
		t.Errorf("the unaudited login left a session: %d", p.status)
	}
	if p := leaving.get("/console/"); p.status != http.StatusOK {
		t.Errorf("the unaudited logout ended the session: %d", p.status)
	}
	if after := storeState(t, st); after != before {
		t.Errorf("refused actions changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// Once the log writes again, so does the console.
	allow()
	if p := h.browser().login("moderator", testPassword); p.status != http.StatusSeeOther {
		t.Fatalf("login after the audit log recovered: %d", p.status)
	}
}
