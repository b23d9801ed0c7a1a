package harness

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Signer is the release signer's offline side of the hub's TUF
// repository, made as an IT person makes it with hub-server's command
// line: the key ceremony's directory, and the targets.json published last.
type Signer struct {
	Bin      string // hub-server
	Keys     string // the ceremony's directory (root.json, targets.key, …)
	previous string
}

// RootFile is the trusted root a terminal pins.
func (s *Signer) RootFile() string { return filepath.Join(s.Keys, "root.json") }

// InitReleases runs the key ceremony into keys (which must not exist)
// and release init on the hub's data directory.
func (h *Hub) InitReleases(ctx context.Context, keys string) (*Signer, error) {
	s := &Signer{Bin: h.Bin, Keys: keys, previous: filepath.Join(keys, "targets.json")}
	k := func(f string) string { return filepath.Join(keys, f) }
	if _, err := h.cli(ctx, "release", "keys", "--out", keys); err != nil {
		return nil, err
	}
	if _, err := h.cli(ctx, "release", "init", "--data", h.Dir, "--root", k("root.json"), "--targets", k("targets.json"),
		"--snapshot-key", k("snapshot.key"), "--timestamp-key", k("timestamp.key")); err != nil {
		return nil, err
	}
	return s, nil
}

// Publish signs artifact as release v offline (release sign) and
// publishes it on the hub (release add).
func (s *Signer) Publish(ctx context.Context, h *Hub, v, artifact string) error {
	signed := filepath.Join(filepath.Dir(artifact), "targets-"+v+".json")
	if _, err := h.cli(ctx, "release", "sign", "--root", s.RootFile(), "--targets-key", filepath.Join(s.Keys, "targets.key"),
		"--previous", s.previous, "--file", artifact, "--version", v, "--out", signed); err != nil {
		return err
	}
	if _, err := h.cli(ctx, "release", "add", "--data", h.Dir, "--file", artifact, "--targets", signed, "--version", v); err != nil {
		return err
	}
	s.previous = signed
	return nil
}

// Console is IT staff's browser on the hub's console: a session cookie
// and the last CSRF token a page carried.
type Console struct {
	Base string
	c    *http.Client
	csrf string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// NewConsole adds an admin with the hub's command line and logs in.
func (h *Hub) NewConsole(ctx context.Context, name string) (*Console, error) {
	const pw = "a long enough passphrase"
	cmd := exec.CommandContext(ctx, h.Bin, "user", "add", "--data", h.Dir, "--name", name, "--role", "admin", "--password-stdin")
	cmd.Stdin = strings.NewReader(pw + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("harness: user add: %w: %s", err, out)
	}
	jar, _ := cookiejar.New(nil)
	c := &Console{Base: h.URL(), c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if _, _, err := c.Get(ctx, "/console/login"); err != nil {
		return nil, err
	}
	code, _, _, err := c.Post(ctx, "/console/login", url.Values{"name": {name}, "password": {pw}})
	if err != nil {
		return nil, err
	}
	if code != http.StatusSeeOther {
		return nil, fmt.Errorf("harness: console login: %d", code)
	}
	if _, _, err := c.Get(ctx, "/console/account"); err != nil { // the session's CSRF token
		return nil, err
	}
	return c, nil
}

func (c *Console) do(req *http.Request) (int, string, string, error) {
	req.Header.Set("Accept-Language", "en")
	res, err := c.c.Do(req)
	if err != nil {
		return 0, "", "", fmt.Errorf("harness: console: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return 0, "", "", fmt.Errorf("harness: console: %w", err)
	}
	if m := csrfField.FindSubmatch(b); m != nil {
		c.csrf = html.UnescapeString(string(m[1]))
	}
	return res.StatusCode, string(b), res.Header.Get("Location"), nil
}

// Get fetches a console page.
func (c *Console) Get(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return 0, "", err
	}
	code, body, _, err := c.do(req)
	return code, body, err
}

// Post submits a form with the CSRF token; it returns the status, the
// page and the redirect's Location.
func (c *Console) Post(ctx context.Context, path string, form url.Values) (int, string, string, error) {
	form.Set("csrf", c.csrf)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}
