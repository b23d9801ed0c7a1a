package hubsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// FleetClient makes the terminal's fleet requests to the hub — heartbeat,
// configuration, commands, diagnostics — each signed with the terminal's
// key (api.SignRequest). It does not retry: the agent's loops call again
// on their next tick.
type FleetClient struct {
	creds Credentials
	http  *http.Client
	now   func() time.Time
}

// FleetClientOpts configures a FleetClient. Zero values are the defaults.
type FleetClientOpts struct {
	// HTTPClient defaults to one with a 30s timeout.
	HTTPClient *http.Client
	Now        func() time.Time
}

// NewFleetClient returns a client for the terminal creds describes.
func NewFleetClient(creds Credentials, o FleetClientOpts) *FleetClient {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &FleetClient{creds: creds, http: o.HTTPClient, now: o.Now}
}

// ErrNotModified answers FetchConfig when the hub's version is the one given.
var ErrNotModified = errors.New("hubsync: configuration not modified")

// HubError is a refusal from the hub.
type HubError struct {
	Status int
	Code   string
	Msg    string
}

func (e *HubError) Error() string {
	return fmt.Sprintf("hub answered %d %s: %s", e.Status, e.Code, e.Msg)
}

// Heartbeat posts hb and returns the hub's answer.
func (c *FleetClient) Heartbeat(ctx context.Context, hb *api.Heartbeat) (api.HeartbeatResponse, error) {
	var out api.HeartbeatResponse
	_, err := c.do(ctx, http.MethodPost, api.PathHeartbeat, hb, nil, &out)
	return out, err
}

// FetchConfig gets the effective configuration; with the version the
// terminal holds, ErrNotModified when it is still current.
func (c *FleetClient) FetchConfig(ctx context.Context, haveVersion string) (api.ConfigDocument, error) {
	var out api.ConfigDocument
	h := http.Header{}
	if haveVersion != "" {
		h.Set("If-None-Match", `"`+haveVersion+`"`)
	}
	status, err := c.do(ctx, http.MethodGet, api.PathConfig, nil, h, &out)
	if err == nil && status == http.StatusNotModified {
		return out, ErrNotModified
	}
	if err == nil && out.Version == "" {
		return out, errors.New("hubsync: configuration without version")
	}
	return out, err
}

// Commands lists the terminal's open commands.
func (c *FleetClient) Commands(ctx context.Context) ([]api.Command, error) {
	var out api.CommandList
	_, err := c.do(ctx, http.MethodGet, api.PathCommands, nil, nil, &out)
	return out.Commands, err
}

// AckCommand acknowledges the delivery of command id.
func (c *FleetClient) AckCommand(ctx context.Context, id string) (api.CommandAck, error) {
	var out api.CommandAck
	_, err := c.do(ctx, http.MethodPost, api.CommandAckPath(id), struct{}{}, nil, &out)
	return out, err
}

// CommandResult reports the outcome of command id.
func (c *FleetClient) CommandResult(ctx context.Context, id string, res api.CommandResult) (api.CommandAck, error) {
	var out api.CommandAck
	_, err := c.do(ctx, http.MethodPost, api.CommandResultPath(id), res, nil, &out)
	return out, err
}

// UploadDiagnostics stores a diagnostics bundle at the hub and returns its ID.
func (c *FleetClient) UploadDiagnostics(ctx context.Context, d *api.Diagnostics) (string, error) {
	var out api.DiagnosticsAck
	_, err := c.do(ctx, http.MethodPost, api.PathDiagnostics, d, nil, &out)
	return out.ID, err
}

// UploadScreenshot stores the picture png for screenshot command
// commandID at the hub and returns its ID. The request carries
// Content-Digest (api.SignRequest), which the hub requires of it.
func (c *FleetClient) UploadScreenshot(ctx context.Context, commandID string, png []byte) (string, error) {
	var out api.ScreenshotAck
	_, err := c.do(ctx, http.MethodPost, api.ScreenshotPath(commandID), pngBody(png), nil, &out)
	return out.ID, err
}

// pngBody is a request body sent as it is, as image/png.
type pngBody []byte

// Permanent reports whether err is a refusal no retry changes: the hub
// answered 4xx other than 401 (credentials may be fixed), 408 and 429.
func Permanent(err error) bool {
	var he *HubError
	return errors.As(err, &he) && he.Status >= 400 && he.Status < 500 &&
		he.Status != http.StatusUnauthorized && he.Status != http.StatusRequestTimeout && he.Status != http.StatusTooManyRequests
}

func (c *FleetClient) do(ctx context.Context, method, path string, in any, hdr http.Header, out any) (int, error) {
	hubURL, terminalID, key, err := c.creds()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNotEnrolled, err)
	}
	var body []byte
	contentType := "application/json"
	if png, ok := in.(pngBody); ok {
		body, contentType = png, "image/png"
	} else if in != nil {
		if body, err = json.Marshal(in); err != nil {
			return 0, fmt.Errorf("hubsync: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(hubURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("hubsync: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", contentType)
	}
	api.SignRequest(req, key, terminalID, c.now(), body)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("hubsync: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return resp.StatusCode, nil
	case resp.StatusCode != http.StatusOK:
		he := &HubError{Status: resp.StatusCode, Msg: http.StatusText(resp.StatusCode)}
		var e api.Error
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e) == nil {
			he.Code, he.Msg = e.Code, e.Error
		}
		return resp.StatusCode, he
	}
	if out != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, api.MaxConfigBytes+1<<20)).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("hubsync: %s %s: read answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}
