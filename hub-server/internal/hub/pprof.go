package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofServer serves Go's profiling endpoints. It gets a listener of its
// own (Config.Pprof), so the profiles are never reachable through the
// hub's address.
func pprofServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
}

// startPprof listens on Config.Pprof, before the hub's server, and serves
// the profiles until stop; a failure to listen stops the hub from
// starting, a later failure to serve is only logged.
func (h *Hub) startPprof(ctx context.Context) (stop func(), err error) {
	if h.Pprof == nil {
		return func() {}, nil
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", h.cfg.Pprof)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	h.log.Info("pprof listening", "addr", ln.Addr().String())
	go func() {
		if err := h.Pprof.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("pprof", "err", err)
		}
	}()
	return func() { h.Pprof.Close() }, nil
}
