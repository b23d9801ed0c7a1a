// Package server runs the hub's HTTP server: listening, request logging
// without personal data, graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/httpmw"
)

// Opts configures a Server. Zero values are the defaults.
type Opts struct {
	// Addr is the listen address. Default 127.0.0.1:8480.
	Addr string
	// Listener, if set, is used instead of listening on Addr.
	Listener net.Listener
	// Handler serves requests. Required.
	Handler http.Handler
	// Logger gets one line per request. Default slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds the graceful shutdown when ctx ends; requests
	// still running then are cut off. Default 15s.
	ShutdownTimeout time.Duration
	// OnListening, if set, is called with the bound address once the
	// server accepts connections (tests listen on port 0).
	OnListening func(net.Addr)
	// TLSCertFile and TLSKeyFile, if both set, make the server speak
	// HTTPS with that certificate chain and key (PEM). See proxy.go for
	// running behind a reverse proxy instead.
	TLSCertFile, TLSKeyFile string
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For and X-Forwarded-Proto are believed (proxy.go).
	// Empty: those headers are removed from every request.
	TrustedProxies []netip.Prefix
}

// maxHeaderBytes bounds a request's header.
const maxHeaderBytes = 64 << 10

// DefaultAddr is the default listen address.
const DefaultAddr = "127.0.0.1:8480"

// Server is the hub's HTTP server.
type Server struct{ o Opts }

// New returns a server; Run starts it.
func New(o Opts) *Server {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 15 * time.Second
	}
	return &Server{o: o}
}

// Run serves until ctx ends, then shuts down gracefully. It returns nil
// after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	ln := s.o.Listener
	if ln == nil {
		var err error
		if ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", s.o.Addr); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	hs := &http.Server{
		Handler:           s.forwarded(httpmw.LogRequests(s.o.Logger, s.o.Handler)),
		ReadHeaderTimeout: 10 * time.Second,
		// A batch of 4 MiB over a slow mobile link must still fit.
		ReadTimeout:  2 * time.Minute,
		WriteTimeout: 2 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		// Ours are a signature, a session cookie and a few standard
		// headers; net/http's default lets each connection send 1 MiB.
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.o.Logger.Handler(), slog.LevelWarn),
	}
	tls := s.o.TLSCertFile != "" && s.o.TLSKeyFile != ""
	if tls {
		// Load now, so a bad certificate is an error before "listening".
		cert, err := loadKeyPair(s.o.TLSCertFile, s.o.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("server: %w", err)
		}
		hs.TLSConfig = tlsConfig(cert)
	}
	s.o.Logger.Info("hub listening", "addr", ln.Addr().String(), "tls", tls)
	if s.o.OnListening != nil {
		s.o.OnListening(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() {
		if tls {
			errc <- hs.ServeTLS(ln, "", "")
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.o.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		hs.Close()
		return fmt.Errorf("server: shutdown: %w", err)
	}
	s.o.Logger.Info("hub stopped")
	return nil
}
