package harness

// Workshops (issue 11) through the real binaries: the hub's workshop
// commands, the console's staff live socket and participants' phones as
// a browser without JavaScript drives the phone page (forms, a cookie)
// plus the live socket phone.js would hold.

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/coder/websocket"

	"github.com/quartierhub/quartierhub/kiosk/identity"
)

// TerminalID is the ID the hub gave the terminal enrolled in dir.
func TerminalID(dir string) (string, error) {
	id, err := identity.Load(dir)
	if err != nil {
		return "", fmt.Errorf("harness: terminal identity: %w", err)
	}
	return id.TerminalID, nil
}

var workshopCreated = regexp.MustCompile(`workshop (\S+) created \(draft\), join code (\S+)`)

// CreateWorkshop runs `hub-server workshop create --file` with spec (a
// workshop.Spec as JSON) and returns the workshop's ID and join code.
func (h *Hub) CreateWorkshop(ctx context.Context, spec []byte) (id, code string, err error) {
	f := filepath.Join(h.Dir, fmt.Sprintf("workshop-spec-%d.json", os.Getpid()))
	if err := os.WriteFile(f, spec, 0o600); err != nil {
		return "", "", err
	}
	defer os.Remove(f)
	out, err := h.CLI(ctx, "workshop", "create", "--file", f)
	if err != nil {
		return "", "", err
	}
	m := workshopCreated.FindSubmatch(out)
	if m == nil {
		return "", "", fmt.Errorf("harness: workshop create said %q", out)
	}
	return string(m[1]), string(m[2]), nil
}

// WorkshopPhase runs `hub-server workshop phase --id id --to to`.
func (h *Hub) WorkshopPhase(ctx context.Context, id, to string) error {
	_, err := h.CLI(ctx, "workshop", "phase", "--id", id, "--to", to)
	return err
}

// WorkshopExport runs `hub-server workshop export --id id --format
// format` and returns what it wrote on standard output.
func (h *Hub) WorkshopExport(ctx context.Context, id, format string) ([]byte, error) {
	return h.CLI(ctx, "workshop", "export", "--id", id, "--format", format)
}

// liveReadLimit bounds one live message read by the tests: the
// console's carries its page's fragments as HTML.
const liveReadLimit = 8 << 20

// WorkshopLive opens the console's staff live socket of workshop id for
// page (run, cluster or projector) with the console's session.
func (c *Console) WorkshopLive(ctx context.Context, id, page string) (*websocket.Conn, error) {
	return dialLive(ctx, c.c, c.Base, "/console/workshops/"+url.PathEscape(id)+"/live?page="+url.QueryEscape(page))
}

// Act posts a staff action of workshop id (field "op" and the action's
// fields, as the run and cluster pages' forms do) and returns the status
// and the redirect (303 to the page: done).
func (c *Console) Act(ctx context.Context, id string, form url.Values) (int, string, error) {
	if _, _, err := c.Get(ctx, "/console/workshops/"+url.PathEscape(id)); err != nil { // a fresh CSRF token
		return 0, "", err
	}
	code, _, loc, err := c.Post(ctx, "/console/workshops/"+url.PathEscape(id)+"/act", form)
	return code, loc, err
}

func dialLive(ctx context.Context, hc *http.Client, base, path string) (*websocket.Conn, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + path
	// The socket library wants a client without a timeout; the jar and
	// the transport (a phone's source address) are kept.
	dc := &http.Client{Jar: hc.Jar, Transport: hc.Transport}
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: dc,
		HTTPHeader: http.Header{"Origin": {base}}, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, fmt.Errorf("harness: live %s: %w", path, err)
	}
	conn.SetReadLimit(liveReadLimit)
	return conn, nil
}

// Phone is a participant's phone on a workshop's page: its own cookie
// jar (the guest cookie) and, optionally, its own source address (the
// hub limits joins and sockets per client network, as it would a room's
// phones behind their own addresses).
type Phone struct {
	Base string
	Code string
	c    *http.Client
	csrf string
}

// NewPhone returns a phone for the workshop with join code code on the
// hub at base; source, if not "", is the loopback address it connects
// from (127.0.0.0/8 needs no set-up on Linux).
func NewPhone(base, code, source string) *Phone {
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if source != "" {
		tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}).DialContext
	}
	tr.MaxIdleConnsPerHost = 1
	return &Phone{Base: base, Code: code, c: &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Page fetches the workshop's phone page (the guest cookie with the
// first one) and returns its status and HTML; the forms' CSRF token is
// kept.
func (p *Phone) Page(ctx context.Context) (int, string, error) {
	return p.get(ctx, "/w/"+p.Code)
}

func (p *Phone) get(ctx context.Context, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Base+path, nil)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Accept-Language", "en")
	res, err := p.c.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("harness: phone: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return 0, "", fmt.Errorf("harness: phone: %w", err)
	}
	if m := csrfField.FindSubmatch(b); m != nil {
		p.csrf = html.UnescapeString(string(m[1]))
	}
	return res.StatusCode, string(b), nil
}

// Post submits one of the page's forms (action under /w/CODE/, e.g.
// "join", "ideas", "dots") and follows the redirect back to the page,
// as a browser does. It returns the redirect's Location (where the page
// says ok=… or e=…) and the page then shown.
func (p *Phone) Post(ctx context.Context, action string, form url.Values) (string, string, error) {
	if p.csrf == "" {
		if _, _, err := p.Page(ctx); err != nil {
			return "", "", err
		}
	}
	form.Set("csrf", p.csrf)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Base+"/w/"+p.Code+"/"+action, strings.NewReader(form.Encode()))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("Origin", p.Base)
	res, err := p.c.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("harness: phone %s: %w", action, err)
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return "", string(b), fmt.Errorf("harness: phone %s: %s", action, res.Status)
	}
	loc := res.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil {
		return loc, "", err
	}
	_, page, err := p.get(ctx, u.RequestURI())
	return loc, page, err
}

// Live opens the phone's live socket (the page's phone.js would).
func (p *Phone) Live(ctx context.Context) (*websocket.Conn, error) {
	return dialLive(ctx, p.c, p.Base, "/w/"+p.Code+"/live")
}

// Close drops the phone's idle connections.
func (p *Phone) Close() { p.c.CloseIdleConnections() }

// ReadLive reads one JSON message from a live socket into v.
func ReadLive(ctx context.Context, conn *websocket.Conn, v any) error {
	_, b, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("harness: live message: %w: %.200s", err, b)
	}
	return nil
}
