package fakehub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// Command is a command the hub holds for a terminal, with what the
// terminal reported.
type Command struct {
	api.Command
	TerminalID string
	// Result is the terminal's detail, with " (diagnostics ID)" or
	// " (screenshot ID)" appended as the real hub does when it names a
	// bundle or a picture, or a known reason's text (api.ReasonText).
	Result string
}

// SetConfig makes doc the effective configuration of every terminal and
// returns its version (also its ETag). The hub does not validate it: a
// test may send what a terminal must refuse.
func (h *Hub) SetConfig(doc string) string {
	sum := sha256.Sum256([]byte(doc))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.config, h.version = []byte(doc), hex.EncodeToString(sum[:8])
	return h.version
}

// SetUpdate makes every heartbeat answer offer o (nil: no offer), as
// the real hub does while a terminal's rollout stage is open.
func (h *Hub) SetUpdate(o *api.UpdateOffer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.update = o
}

// SetCardKey makes key (api.CardKeyLen bytes) the deployment's card key:
// heartbeats naming another key are answered with it. Until it is called
// the hub sends no key, as a hub older than the card key would.
func (h *Hub) SetCardKey(key []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cardKey = append([]byte(nil), key...)
}

// ConfigServed is how many times the hub answered GET /config with
// version (304 answers not counted).
func (h *Hub) ConfigServed(version string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.served[version]
}

// ConfigVersionsServed returns every version served with how often.
func (h *Hub) ConfigVersionsServed() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.served))
	for v, n := range h.served {
		out[v] = n
	}
	return out
}

// SendCommand queues a command of kind for terminalID that expires after
// ttl (already expired for ttl <= 0) and returns its ID.
func (h *Hub) SendCommand(terminalID, kind, message string, ttl time.Duration) string {
	now := h.opts.Now()
	c := &Command{TerminalID: terminalID, Command: api.Command{ID: ulid.Make().String(), Kind: kind, Message: message,
		State: api.CommandQueued, CreatedAt: now.UTC(), ExpiresAt: now.Add(ttl).UTC()}}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.commands = append(h.commands, c)
	return c.ID
}

// Command returns the command id as it stands (ok false if unknown).
func (h *Hub) Command(id string) (Command, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.commands {
		if c.ID == id {
			return *c, true
		}
	}
	return Command{}, false
}

// openCommands returns terminalID's queued or delivered, unexpired
// commands, oldest first. h.mu is held.
func (h *Hub) openCommands(terminalID string) []api.Command {
	now := h.opts.Now()
	out := []api.Command{}
	for _, c := range h.commands {
		if c.TerminalID == terminalID && (c.State == api.CommandQueued || c.State == api.CommandDelivered) && now.Before(c.ExpiresAt) {
			out = append(out, c.Command)
		}
	}
	return out
}

func (h *Hub) heartbeat(w http.ResponseWriter, _ *http.Request, t *terminal, body []byte) {
	var hb api.Heartbeat
	if err := json.Unmarshal(body, &hb); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "malformed heartbeat: "+err.Error())
		return
	}
	if err := hb.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "invalid heartbeat: "+err.Error())
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.heartbeats = append(h.heartbeats, hb)
	resp := api.HeartbeatResponse{HubTime: h.opts.Now().UTC(), ConfigVersion: h.version, Commands: h.openCommands(t.id),
		Update: h.update}
	// As the real hub: only to an agent that names another key.
	if h.cardKey != nil && hb.CardKeyID != "" && hb.CardKeyID != api.CardKeyID(h.cardKey) {
		resp.CardKey = hex.EncodeToString(h.cardKey)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (h *Hub) configGet(w http.ResponseWriter, r *http.Request, _ *terminal, _ []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	etag := `"` + h.version + `"`
	w.Header().Set("ETag", etag)
	for tag := range strings.SplitSeq(r.Header.Get("If-None-Match"), ",") {
		if tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/"); tag == "*" || tag == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	doc := h.config
	if doc == nil {
		doc = []byte("{}") // nothing set: an empty document, version ""
	}
	h.served[h.version]++
	writeJSON(w, http.StatusOK, api.ConfigDocument{Version: h.version, Document: doc})
}

func (h *Hub) commandList(w http.ResponseWriter, _ *http.Request, t *terminal, _ []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	writeJSON(w, http.StatusOK, api.CommandList{Commands: h.openCommands(t.id)})
}

// commandPost takes an ack (queued → delivered) or a result (→ done or
// failed) with the real hub's rules: another terminal's command is not
// found; an expired or finished one is closed; a repeated report is
// accepted.
func (h *Hub) commandPost(w http.ResponseWriter, r *http.Request, t *terminal, body []byte) {
	rest := strings.TrimPrefix(r.URL.Path, api.PathCommands+"/")
	id, action, _ := strings.Cut(rest, "/")
	var res api.CommandResult
	if action == "result" {
		if err := json.Unmarshal(body, &res); err != nil {
			writeError(w, http.StatusBadRequest, api.CodeBadRequest, "malformed command result: "+err.Error())
			return
		}
	} else if action != "ack" {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no such endpoint")
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var c *Command
	for _, x := range h.commands {
		if x.ID == id && x.TerminalID == t.id {
			c = x
		}
	}
	if c == nil {
		writeError(w, http.StatusNotFound, api.CodeNotFound, "no such command for this terminal")
		return
	}
	closed := func() {
		writeError(w, http.StatusConflict, api.CodeCommandClosed, "command expired or already finished")
	}
	if action == "ack" {
		switch {
		case c.State == api.CommandDelivered:
		case c.State != api.CommandQueued:
			closed()
			return
		case !h.opts.Now().Before(c.ExpiresAt):
			c.State = api.CommandExpired
			closed()
			return
		default:
			c.State = api.CommandDelivered
		}
		writeJSON(w, http.StatusOK, api.CommandAck{ID: c.ID, State: c.State})
		return
	}
	want := api.CommandFailed
	if res.OK {
		want = api.CommandDone
	}
	switch c.State {
	case want:
	case api.CommandQueued, api.CommandDelivered:
		c.State, c.Result = want, res.Detail
		if text := api.ReasonText(res.Reason); text != "" && !res.OK {
			c.Result = text
		}
		if res.DiagnosticsID != "" {
			c.Result += " (diagnostics " + res.DiagnosticsID + ")"
		}
		if res.ScreenshotID != "" {
			c.Result += " (screenshot " + res.ScreenshotID + ")"
		}
	default:
		closed()
		return
	}
	writeJSON(w, http.StatusOK, api.CommandAck{ID: c.ID, State: c.State})
}

func (h *Hub) diagnosticsPost(w http.ResponseWriter, _ *http.Request, t *terminal, body []byte) {
	var d api.Diagnostics
	if err := json.Unmarshal(body, &d); err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, "malformed diagnostics: "+err.Error())
		return
	}
	b := Bundle{ID: ulid.Make().String(), TerminalID: t.id, Diagnostics: d}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.diagnostics = append(h.diagnostics, b)
	writeJSON(w, http.StatusOK, api.DiagnosticsAck{ID: b.ID})
}

// Screenshot is a picture the hub received for a screenshot command.
type Screenshot struct {
	ID, TerminalID, CommandID string
	Width, Height             int
	PNG                       []byte
}

// Screenshots returns the pictures received, oldest first.
func (h *Hub) Screenshots() []Screenshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Screenshot(nil), h.screenshots...)
}

// screenshotPost takes a picture for the terminal's open screenshot
// command {id} as the real hub does: a PNG within api.CheckScreenshot's
// limits; the first upload for a command wins.
func (h *Hub) screenshotPost(w http.ResponseWriter, r *http.Request, t *terminal, body []byte) {
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, api.PathCommands+"/"), "/screenshot")
	if r.Header.Get("Content-Type") != "image/png" {
		writeError(w, http.StatusUnsupportedMediaType, api.CodeUnsupported, "Content-Type must be image/png")
		return
	}
	width, height, err := api.CheckScreenshot(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, api.CodeBadRequest, err.Error())
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.screenshots {
		if s.TerminalID == t.id && s.CommandID == id {
			writeJSON(w, http.StatusOK, api.ScreenshotAck{ID: s.ID})
			return
		}
	}
	open := false
	for _, c := range h.openCommands(t.id) {
		open = open || c.ID == id && c.Kind == api.CommandScreenshot
	}
	if !open {
		writeError(w, http.StatusConflict, api.CodeNotRequested, "no open screenshot command of this terminal has this ID")
		return
	}
	s := Screenshot{ID: ulid.Make().String(), TerminalID: t.id, CommandID: id, Width: width, Height: height, PNG: body}
	h.screenshots = append(h.screenshots, s)
	writeJSON(w, http.StatusOK, api.ScreenshotAck{ID: s.ID})
}
