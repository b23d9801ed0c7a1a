package localapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/internal/userr"
)

// ErrNoAgent means no agent answers on the data directory's socket.
var ErrNoAgent = errors.New("localapi: no agent running")

// Client talks to the agent serving dir.
type Client struct {
	dir  string
	http *http.Client
}

// NewClient returns a client for the agent on dir.
func NewClient(dir string) *Client {
	sock := filepath.Join(dir, SocketName)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "unix", sock)
			if err != nil && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)) {
				return nil, fmt.Errorf("%w on %s", ErrNoAgent, dir)
			}
			return c, err
		},
		MaxIdleConns: 2,
	}
	return &Client{dir: dir, http: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}
}

// Status returns the agent's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Submit stores a record; it returns once the record is durable.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (SubmitResponse, error) {
	var resp SubmitResponse
	err := c.do(ctx, http.MethodPost, "/v1/records", req, &resp)
	return resp, err
}

// SyncNow runs a sync round and returns its outcome.
func (c *Client) SyncNow(ctx context.Context) (SyncResponse, error) {
	var resp SyncResponse
	err := c.do(ctx, http.MethodPost, "/v1/sync", struct{}{}, &resp)
	if err == nil && resp.Error != "" {
		return resp, userr.New("sync failed: "+resp.Error, nil)
	}
	return resp, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	if in == nil {
		return c.send(ctx, method, path, "", nil, out)
	}
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("localapi: %w", err)
	}
	return c.send(ctx, method, path, "application/json", b, out)
}

// send makes a request with body of contentType ("" for none) and
// decodes the answer into out.
func (c *Client) send(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, rd)
	if err != nil {
		return fmt.Errorf("localapi: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, ErrNoAgent) {
			return fmt.Errorf("%w on %s", ErrNoAgent, c.dir)
		}
		return fmt.Errorf("localapi: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("localapi: read answer: %w", err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusBadGateway {
		var e Error
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			var sentinel error = errors.New(e.Code)
			switch e.Code {
			case CodeInvalid:
				sentinel = ErrInvalid
			case CodeFull:
				sentinel = ErrFull
			case CodeUnavailable:
				sentinel = ErrUnavailable
			case CodeAlreadyAnswered:
				sentinel = ErrAlreadyAnswered
			case CodePrinter:
				sentinel = ErrPrinter
			case CodeNotAsked:
				sentinel = ErrNotAsked
			default:
				if strings.HasPrefix(path, "/v1/workshop") {
					sentinel = &WorkshopError{Code: e.Code, Message: e.Error, Status: resp.StatusCode}
				}
			}
			return userr.New(e.Error, sentinel)
		}
		return fmt.Errorf("localapi: agent answered %s", resp.Status)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("localapi: decode answer: %w", err)
		}
	}
	return nil
}
