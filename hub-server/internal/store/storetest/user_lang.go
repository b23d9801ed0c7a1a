package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Registered here rather than in consoleTests' literal so this file
// stands alone (package variables are set before init runs).
func init() {
	consoleTests = append(consoleTests, struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{"UserLang", testUserLang})
}

func testUserLang(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, n := range []string{"anna", "bert"} {
		if err := s.CreateUser(ctx, user(n, store.RoleModerator), who("user.create", "user:"+n, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if l, err := s.UserLang(ctx, "U-anna"); err != nil || l != "" {
		t.Fatalf("new user's language: %q, %v; want \"\"", l, err)
	}
	se := store.Session{IDHash: "h-anna", UserID: "U-anna", CSRF: "c", CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserLang(ctx, "U-anna", "de", who("user.lang", "user:anna", t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	if l, err := s.UserLang(ctx, "U-anna"); err != nil || l != "de" {
		t.Fatalf("language after SetUserLang: %q, %v", l, err)
	}
	if _, err := s.Session(ctx, "h-anna", t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("changing the language ended the session: %v", err)
	}
	// Other user changes keep the language.
	u, _ := s.UserByID(ctx, "U-anna")
	u.Role = store.RoleAdmin
	if err := s.UpdateUser(ctx, u, who("user.update", "user:anna", t0.Add(3*time.Minute))); err != nil {
		t.Fatal(err)
	}
	all, err := s.UserLangsByID(ctx)
	if err != nil || len(all) != 1 || all["U-anna"] != "de" {
		t.Fatalf("UserLangsByID: %v, %v; want only U-anna=de", all, err)
	}
	if err := s.SetUserLang(ctx, "U-nobody", "en", who("user.lang", "user:nobody", t0)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}
	if _, err := s.UserLang(ctx, "U-nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user's language: %v, want ErrNotFound", err)
	}
	if err := s.SetUserLang(ctx, "U-anna", "", who("user.lang", "user:anna", t0.Add(4*time.Minute))); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.UserLang(ctx, "U-anna"); l != "" {
		t.Fatalf("language after clearing: %q", l)
	}
	if log, _ := s.AuditEntries(ctx, store.AuditFilter{Action: "user.lang"}); len(log) != 2 {
		t.Fatalf("audit entries for user.lang: %d, want 2 (the failed one is not written)", len(log))
	}
}
