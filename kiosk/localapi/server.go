package localapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/quartierhub/quartierhub/internal/userr"
)

// Backend is what the server needs of the agent.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	Submit(ctx context.Context, req SubmitRequest) (SubmitResponse, error)
	SyncNow(ctx context.Context) SyncResponse
}

// Sentinel errors a Backend returns so the server can pick the status.
var (
	ErrInvalid     = errors.New("localapi: invalid request")
	ErrFull        = errors.New("localapi: storage full")
	ErrUnavailable = errors.New("localapi: unavailable")
)

// Server serves the local API on DIR/agent.sock.
type Server struct {
	dir     string
	backend Backend
	log     *slog.Logger
}

// NewServer returns a server for backend in dir.
func NewServer(dir string, backend Backend, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{dir: dir, backend: backend, log: log}
}

// Handler returns the HTTP handler (tests may serve it elsewhere).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", s.status)
	mux.HandleFunc("POST /v1/records", s.submit)
	mux.HandleFunc("POST /v1/sync", s.sync)
	s.sessionRoutes(mux)
	s.fleetRoutes(mux)
	s.captureRoutes(mux)
	s.workshopRoutes(mux)
	return mux
}

// Listen binds the socket, refusing if another agent answers on it.
func (s *Server) Listen() (net.Listener, error) {
	path := filepath.Join(s.dir, SocketName)
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("localapi: another agent is running on %s", s.dir)
	}
	_ = os.Remove(path) // stale socket of an agent that died
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("localapi: listen: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("localapi: %w", err)
	}
	return ln, nil
}

// Serve answers on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("localapi: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = os.Remove(ln.Addr().String())
	return nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.backend.Status(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request) {
	var req SubmitRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 2<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.fail(w, userr.New("the request is not valid JSON: "+err.Error(), ErrInvalid))
		return
	}
	resp, err := s.backend.Submit(r.Context(), req)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) sync(w http.ResponseWriter, r *http.Request) {
	res := s.backend.SyncNow(r.Context())
	code := http.StatusOK
	if res.Error != "" {
		code = http.StatusBadGateway
	}
	writeJSON(w, code, res)
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	code, status := CodeInternal, http.StatusInternalServerError
	var we *WorkshopError
	switch {
	case errors.As(err, &we):
		st := we.Status
		if st < 400 || st > 599 {
			st = http.StatusConflict
		}
		writeJSON(w, st, Error{Error: we.Message, Code: we.Code})
		return
	case errors.Is(err, ErrInvalid):
		code, status = CodeInvalid, http.StatusBadRequest
	case errors.Is(err, ErrFull):
		code, status = CodeFull, http.StatusInsufficientStorage
	case errors.Is(err, ErrUnavailable):
		code, status = CodeUnavailable, http.StatusServiceUnavailable
	case errors.Is(err, ErrAlreadyAnswered):
		code, status = CodeAlreadyAnswered, http.StatusConflict
	case errors.Is(err, ErrPrinter):
		code, status = CodePrinter, http.StatusServiceUnavailable
	case errors.Is(err, ErrNotAsked):
		code, status = CodeNotAsked, http.StatusNotFound
	}
	if status == http.StatusInternalServerError {
		s.log.Error("local api", "err", err)
	}
	writeJSON(w, status, Error{Error: userr.Message(err, "the agent could not do this: internal error"), Code: code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
