package agent_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/internal/fakehub"
	"github.com/quartierhub/quartierhub/internal/userr"
	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// unenrolled runs an agent without an identity, media mounted below
// media, and a hub that knows token "tok-1" for terminal kiosk-7.
func unenrolled(t *testing.T, media string) (*localapi.Client, *fakehub.Hub, string) {
	t.Helper()
	h := fakehub.Start(t, fakehub.Opts{})
	h.AddToken("tok-1", "kiosk-7", "Johannstadt")
	dir := t.TempDir()
	return runAgent(t, dir, agent.Opts{EnrolMedia: []string{media}}), h, dir
}

func reason(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		t.Fatal("the enrolment succeeded")
	}
	if userr.Message(err, "") == "" {
		t.Errorf("%v carries no message for a person", err)
	}
	return localapi.EnrolReason(err)
}

// A terminal without identity enrols through its agent with the QR code
// text a scanner types (Enter included), and only once: afterwards the
// endpoint refuses and the identity stays the one it got.
func TestEnrolThroughTheAgent(t *testing.T) {
	c, h, dir := unenrolled(t, t.TempDir())
	ctx := context.Background()
	resp, err := c.Enrol(ctx, localapi.EnrolRequest{URI: api.EnrolmentURI(h.URL(), "tok-1") + "\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Name != "kiosk-7" || resp.Quarter != "Johannstadt" || resp.TerminalID == "" || resp.Source != "typed" {
		t.Fatalf("answer %+v", resp)
	}
	st, err := c.Status(ctx)
	if err != nil || !st.Terminal.Enrolled || st.Terminal.TerminalID != resp.TerminalID {
		t.Fatalf("status %+v, %v", st.Terminal, err)
	}
	if h.Count(api.PathRecords) == 0 && h.Count(api.PathPing) == 0 {
		t.Errorf("no sync round after the enrolment: %v", h.Requests())
	}
	h.AddToken("tok-2", "kiosk-8", "Johannstadt")
	_, err = c.Enrol(ctx, localapi.EnrolRequest{Hub: h.URL(), Token: "tok-2"})
	if got := reason(t, err); got != localapi.EnrolAlreadyDone {
		t.Fatalf("a second enrolment: %s (%v)", got, err)
	}
	if id, err := identity.Load(dir); err != nil || id.TerminalID != resp.TerminalID {
		t.Fatalf("identity after the refused second enrolment: %v %v", id.TerminalID, err)
	}
}

// Each failure has its reason, and none leaves an identity behind.
func TestEnrolFailuresSayWhy(t *testing.T) {
	c, h, dir := unenrolled(t, t.TempDir())
	ctx := context.Background()
	h.AddToken("tok-spent", "kiosk-9", "Johannstadt")
	if _, err := hubsync.Enroll(ctx, h.URL(), "tok-spent", hubsync.EnrollOpts{}); err != nil {
		t.Fatal(err)
	}
	for _, c2 := range []struct {
		req  localapi.EnrolRequest
		want string
	}{
		{localapi.EnrolRequest{Hub: h.URL(), Token: "nope"}, localapi.EnrolTokenUnknown},
		{localapi.EnrolRequest{Hub: h.URL(), Token: "tok-spent"}, localapi.EnrolTokenUsed},
		{localapi.EnrolRequest{Hub: "http://127.0.0.1:1", Token: "tok-1"}, localapi.EnrolUnreachable},
		{localapi.EnrolRequest{Hub: "hub.example.org", Token: "tok-1"}, localapi.EnrolInvalid},
		{localapi.EnrolRequest{Hub: h.URL()}, localapi.EnrolInvalid},
		{localapi.EnrolRequest{URI: "tok-1"}, localapi.EnrolInvalid},
		{localapi.EnrolRequest{URI: "x", Token: "y"}, localapi.EnrolInvalid},
		{localapi.EnrolRequest{URI: strings.Repeat("x", 3000)}, localapi.EnrolInvalid},
		{localapi.EnrolRequest{FromMedia: true}, localapi.EnrolNoMedia},
	} {
		_, err := c.Enrol(ctx, c2.req)
		if got := reason(t, err); got != c2.want {
			t.Errorf("%+v: %s, want %s (%v)", c2.req, got, c2.want, err)
		}
	}
	if _, err := identity.Load(dir); !errors.Is(err, identity.ErrNotEnrolled) {
		t.Fatalf("a failed enrolment left %v", err)
	}
	if _, err := c.Enrol(ctx, localapi.EnrolRequest{Hub: h.URL() + "/", Token: " tok-1 "}); err != nil {
		t.Fatalf("after the failures: %v", err)
	}
}

// The USB stick: exactly one quartierhub-enrol.txt on a medium below the
// media directory; a symbolic link is not followed, two files are
// refused, a large one is refused, and a Windows editor's file (byte
// order mark, CRLF) enrols.
func TestEnrolFromUSBStick(t *testing.T) {
	media := t.TempDir()
	c, h, dir := unenrolled(t, media)
	ctx := context.Background()
	stick := filepath.Join(media, "kiosk", "STICK")
	other := filepath.Join(media, "OTHER")
	for _, d := range []string{stick, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	uri := api.EnrolmentURI(h.URL(), "tok-1")
	secret := filepath.Join(t.TempDir(), "elsewhere.txt")
	if err := os.WriteFile(secret, []byte(uri), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(stick, agent.EnrolFile)); err != nil {
		t.Fatal(err)
	}
	try := func(want string) {
		t.Helper()
		_, err := c.Enrol(ctx, localapi.EnrolRequest{FromMedia: true})
		if got := reason(t, err); got != want {
			t.Fatalf("%s, want %s (%v)", got, want, err)
		}
	}
	try(localapi.EnrolNoMedia)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Remove(filepath.Join(stick, agent.EnrolFile)))
	must(os.WriteFile(filepath.Join(stick, agent.EnrolFile), []byte(uri), 0o644))
	must(os.WriteFile(filepath.Join(other, agent.EnrolFile), []byte(uri), 0o644))
	try(localapi.EnrolSeveralOnMedia)
	must(os.Remove(filepath.Join(other, agent.EnrolFile)))
	must(os.WriteFile(filepath.Join(stick, agent.EnrolFile), []byte(uri+strings.Repeat("\n", agent.MaxEnrolFile)), 0o644))
	try(localapi.EnrolInvalid)
	must(os.WriteFile(filepath.Join(stick, agent.EnrolFile), []byte("\xef\xbb\xbf\r\n"+uri+"\r\n"), 0o644))
	resp, err := c.Enrol(ctx, localapi.EnrolRequest{FromMedia: true})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Source != "media" || resp.MediaFile != filepath.Join(stick, agent.EnrolFile) || resp.Name != "kiosk-7" {
		t.Fatalf("answer %+v", resp)
	}
	id, err := identity.Load(dir)
	if err != nil || id.TerminalID != resp.TerminalID || len(id.Key) != ed25519.PrivateKeySize {
		t.Fatalf("identity %v %v", id, err)
	}
}
