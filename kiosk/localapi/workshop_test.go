package localapi_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// workshopOnly answers the workshop endpoints with a refusal, or with
// what it was asked.
type workshopOnly struct {
	localapi.WorkshopBackend
	refuse error
	got    localapi.WorkshopIdeaRequest
}

func (w *workshopOnly) Status(context.Context) (localapi.Status, error) {
	return localapi.Status{}, nil
}
func (w *workshopOnly) Submit(context.Context, localapi.SubmitRequest) (localapi.SubmitResponse, error) {
	return localapi.SubmitResponse{}, nil
}
func (w *workshopOnly) SyncNow(context.Context) localapi.SyncResponse { return localapi.SyncResponse{} }

func (w *workshopOnly) WorkshopIdea(_ context.Context, req localapi.WorkshopIdeaRequest) (localapi.WorkshopIdeaResponse, error) {
	w.got = req
	if w.refuse != nil {
		return localapi.WorkshopIdeaResponse{}, w.refuse
	}
	return localapi.WorkshopIdeaResponse{ID: "01J", Pending: true}, nil
}

func serve(t *testing.T, b localapi.Backend) *localapi.Client {
	t.Helper()
	dir := t.TempDir()
	srv := localapi.NewServer(dir, b, nil)
	ln, err := net.Listen("unix", filepath.Join(dir, localapi.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	return localapi.NewClient(dir)
}

// A refusal crosses the socket with its code, message and status; the
// client returns it as a *WorkshopError; a body too large or with
// unknown fields is refused before the agent sees it.
func TestWorkshopRefusalsCrossTheSocket(t *testing.T) {
	b := &workshopOnly{}
	c := serve(t, b)
	ctx := context.Background()
	if r, err := c.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: "v:1", Text: "Bänke"}); err != nil || r.ID != "01J" || b.got.Text != "Bänke" {
		t.Fatalf("idea: %+v, %v (got %+v)", r, err, b.got)
	}
	// A named café idea's author and table reach the agent.
	if _, err := c.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: "v:1", Text: "Bänke", Author: "Anna", Table: 3}); err != nil || b.got.Author != "Anna" || b.got.Table != 3 {
		t.Fatalf("named café idea: %v (got %+v)", err, b.got)
	}
	b.refuse = &localapi.WorkshopError{Code: "wrong_phase", Message: "this does not fit the workshop's current phase", Status: 409}
	_, err := c.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: "v:1", Text: "x"})
	var we *localapi.WorkshopError
	if !errors.As(err, &we) || we.Code != "wrong_phase" || we.Status != 409 || !strings.Contains(we.Message, "current phase") || !errors.Is(err, localapi.ErrWorkshop) {
		t.Fatalf("refusal: %v", err)
	}
	b.refuse = &localapi.WorkshopError{Code: "odd", Message: "odd", Status: 200}
	if _, err := c.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: "v:1", Text: "x"}); !errors.As(err, &we) || we.Status != http.StatusConflict {
		t.Fatalf("a refusal with a success status: %v", err)
	}
	if _, err := c.WorkshopIdea(ctx, localapi.WorkshopIdeaRequest{Voter: "v:1", Text: strings.Repeat("x", 20<<10)}); !errors.Is(err, localapi.ErrInvalid) {
		t.Fatalf("a 20 KiB idea: %v", err)
	}
	// An agent without workshops: 503 unavailable.
	plain := serve(t, plainBackend{})
	if _, err := plain.Workshop(ctx, ""); !errors.Is(err, localapi.ErrUnavailable) {
		t.Fatalf("an agent without workshops: %v", err)
	}
}

type plainBackend struct{}

func (plainBackend) Status(context.Context) (localapi.Status, error) { return localapi.Status{}, nil }
func (plainBackend) Submit(context.Context, localapi.SubmitRequest) (localapi.SubmitResponse, error) {
	return localapi.SubmitResponse{}, nil
}
func (plainBackend) SyncNow(context.Context) localapi.SyncResponse { return localapi.SyncResponse{} }
