package terminalapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
	"github.com/quartierhub/quartierhub/internal/testutil"
)

// shot uploads body as the picture for command as terminal tm.
func (e *env) shot(tm term, command string, body []byte) resp {
	e.t.Helper()
	req := e.signed(tm, "POST", api.ScreenshotPath(command), body, false)
	req.Header.Set("Content-Type", "image/png")
	return e.do(req)
}

func (e *env) commands(cmds ...store.Command) {
	e.t.Helper()
	if err := e.st.CreateCommands(context.Background(), cmds, store.Audit{At: e.clock(), Actor: "test", Action: "command.send"}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) command(id string, tm term, kind string) store.Command {
	return store.Command{ID: id, GroupID: "G", TerminalID: tm.id, Kind: kind, Target: "terminal:x", CreatedAt: e.clock(), CreatedBy: "test",
		ExpiresAt: e.clock().Add(time.Hour)}
}

// A screenshot is stored for the terminal's own open screenshot command
// only, as the PNG it sent, with its size read from the header; the
// result names it.
func TestScreenshotStoredForItsCommand(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a, b := e.enrolled("a"), e.enrolled("b")
	e.commands(e.command("S1", a, api.CommandScreenshot), e.command("M1", a, api.CommandMaintenanceOn), e.command("SB", b, api.CommandScreenshot))
	pic := testutil.PNG(t, 64, 48)
	for _, tc := range []struct {
		name    string
		tm      term
		command string
	}{
		{"no such command", a, "NOPE"},
		{"another kind of command", a, "M1"},
		{"another terminal's command", a, "SB"},
	} {
		if r := e.shot(tc.tm, tc.command, pic); r.status != 409 || r.errCode(t) != api.CodeNotRequested {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	ack := decode[api.ScreenshotAck](t, e.shot(a, "S1", pic))
	got, err := e.st.Screenshot(context.Background(), ack.ID)
	if err != nil || !bytes.Equal(got.PNG, pic) || got.Width != 64 || got.Height != 48 || got.TerminalID != a.id || got.CommandID != "S1" {
		t.Fatalf("stored %+v, %v", got.ScreenshotInfo, err)
	}
	e.advance(time.Second)
	if again := decode[api.ScreenshotAck](t, e.shot(a, "S1", testutil.PNG(t, 8, 8))); again.ID != ack.ID {
		t.Errorf("a repeat stored %s beside %s", again.ID, ack.ID)
	}
	if r := e.jsonReq(a, "POST", api.CommandResultPath("S1"), api.CommandResult{OK: true, Detail: "64 × 48", ScreenshotID: ack.ID}); r.status != 200 {
		t.Fatalf("result: %d %s", r.status, r.body)
	}
	cs, err := e.st.Commands(context.Background(), store.CommandFilter{TerminalID: a.id})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == "S1" && (c.State != api.CommandDone || !strings.Contains(c.Result, ack.ID)) {
			t.Errorf("command S1 = %s %q; want done naming %s", c.State, c.Result, ack.ID)
		}
	}
	// Finished, the command takes no other picture.
	if r := e.shot(a, "S1", pic); r.status != 409 {
		t.Errorf("after the result: %d %s", r.status, r.body)
	}
}

// What is not a PNG within the limits is refused and nothing is stored.
func TestScreenshotRefusesWhatIsNotAPicture(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	e.commands(e.command("S1", a, api.CommandScreenshot))
	good := testutil.PNG(t, 16, 16)
	huge := append(bytes.Clone(good[:len(good)-12]), append(make([]byte, api.MaxScreenshotBytes), good[len(good)-12:]...)...)
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"not a PNG", []byte("GIF89a\x01\x00\x01\x00"), 400},
		{"cut off", good[:len(good)-30], 400},
		{"too many pixels", testutil.PNGClaiming(good, 5000, 5000), 400},
		{"too wide", testutil.PNGClaiming(good, api.MaxScreenshotSide+1, 1), 400},
		{"too large", huge, 413},
	} {
		if r := e.shot(a, "S1", tc.body); r.status != tc.status {
			t.Errorf("%s: %d %s; want %d", tc.name, r.status, r.body, tc.status)
		}
	}
	// The wrong media type and no Content-Digest are refused from the headers.
	req := e.signed(a, "POST", api.ScreenshotPath("S1"), good, false)
	if r := e.do(req); r.status != 415 {
		t.Errorf("as application/json: %d %s", r.status, r.body)
	}
	req = e.signed(a, "POST", api.ScreenshotPath("S1"), good, false)
	req.Header.Set("Content-Type", "image/png")
	req.Header.Del(api.DigestHeader)
	if r := e.do(req); r.status != 400 {
		t.Errorf("without Content-Digest: %d %s", r.status, r.body)
	}
	if l, err := e.st.Screenshots(context.Background(), a.id, 0); err != nil || len(l) != 0 {
		t.Errorf("stored: %+v, %v", l, err)
	}
}

// Without an open screenshot command, and for a stranger's signature,
// the hub answers from the headers while the body is unsent.
func TestScreenshotRefusedBeforeTheBody(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a, b := e.enrolled("a"), e.enrolled("b")
	e.commands(e.command("SA", a, api.CommandScreenshot))
	body := testutil.PNG(t, 200, 100)
	for _, tc := range []struct {
		name    string
		signer  term
		command string
		status  int
	}{
		{"no open command", a, "NOPE", 409},
		{"another terminal's command", b, "SA", 409},
		{"signed with another key", term{a.id, b.priv}, "SA", 401},
	} {
		req := e.signed(tc.signer, "POST", api.ScreenshotPath(tc.command), body, false)
		conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: hub\r\nContent-Type: image/png\r\nContent-Length: %d\r\nAuthorization: %s\r\n%s: %s\r\n\r\n",
			api.ScreenshotPath(tc.command), len(body), req.Header.Get("Authorization"), api.DigestHeader, req.Header.Get(api.DigestHeader))
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if res, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || res.StatusCode != tc.status {
			t.Errorf("%s, body unsent: %v %v; want %d", tc.name, res, err, tc.status)
		}
		conn.Close()
	}
}

// A failed result with a known reason is stored as the reason's text
// (which the console translates), whatever detail came with it.
func TestCommandResultReason(t *testing.T) {
	e := newEnv(t, nil, terminalapi.Opts{})
	a := e.enrolled("a")
	e.commands(e.command("S1", a, api.CommandScreenshot), e.command("S2", a, api.CommandScreenshot))
	if r := e.jsonReq(a, "POST", api.CommandResultPath("S1"), api.CommandResult{OK: false, Detail: "screen report-describe", Reason: api.ReasonResidentSession}); r.status != 200 {
		t.Fatalf("result: %d %s", r.status, r.body)
	}
	if r := e.jsonReq(a, "POST", api.CommandResultPath("S2"), api.CommandResult{OK: false, Detail: "window crashed", Reason: "sparkle"}); r.status != 200 {
		t.Fatalf("result: %d %s", r.status, r.body)
	}
	cs, err := e.st.Commands(context.Background(), store.CommandFilter{TerminalID: a.id})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"S1": api.ReasonText(api.ReasonResidentSession), "S2": "window crashed"}
	for _, c := range cs {
		if c.State != api.CommandFailed || c.Result != want[c.ID] {
			t.Errorf("%s = %s %q; want failed %q", c.ID, c.State, c.Result, want[c.ID])
		}
	}
}
