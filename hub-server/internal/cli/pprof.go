package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// pprofFlag registers serve's --pprof.
func pprofFlag(fs *flag.FlagSet) *string {
	return fs.String("pprof", "", "serve Go's profiling endpoints (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; never a public one (empty: off)")
}

// withPprof runs a profiling server on addr alongside serve; empty addr
// returns serve unchanged. It has its own listener, so the profiles are
// never reachable through the hub's address.
func withPprof(addr string, log *slog.Logger, serve func(context.Context) error) func(context.Context) error {
	if addr == "" {
		return serve
	}
	return func(ctx context.Context) error {
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("pprof: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		log.Info("pprof listening", "addr", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("pprof", "err", err)
			}
		}()
		defer srv.Close()
		return serve(ctx)
	}
}
