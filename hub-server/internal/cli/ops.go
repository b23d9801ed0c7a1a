package cli

import (
	"flag"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/ops"
	"github.com/quartierhub/quartierhub/hub-server/internal/server"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// serveOps are serve's operations flags: HTTPS and reverse proxies.
type serveOps struct {
	tlsCert, tlsKey string
	proxies         []netip.Prefix
}

func serveOpsFlags(fs *flag.FlagSet) *serveOps {
	so := &serveOps{}
	fs.StringVar(&so.tlsCert, "tls-cert", "", "serve HTTPS with this certificate chain (PEM); needs --tls-key")
	fs.StringVar(&so.tlsKey, "tls-key", "", "the private key (PEM) of --tls-cert")
	fs.Func("trusted-proxy", "CIDR or address of a reverse proxy whose X-Forwarded-For/-Proto are believed (repeatable)", func(v string) error {
		for _, part := range strings.Split(v, ",") {
			p, err := server.ParseTrustedProxy(strings.TrimSpace(part))
			if err != nil {
				return err
			}
			so.proxies = append(so.proxies, p)
		}
		return nil
	})
	return so
}

func (so *serveOps) check() error {
	if (so.tlsCert == "") != (so.tlsKey == "") {
		return usageError{"serve: --tls-cert and --tls-key go together"}
	}
	return nil
}

// withOps puts the operations endpoints (/metrics, /healthz, /readyz) in
// front of app and returns st with its writes counted for the metrics.
func withOps(st store.Store, log *slog.Logger) (store.Store, func(http.Handler) http.Handler) {
	op := ops.New(ops.Opts{Store: st.(store.Operable), Alerts: st, Logger: log})
	return op.InstrumentStore(st), func(app http.Handler) http.Handler {
		mux := http.NewServeMux()
		op.Register(mux)
		mux.Handle("/", app)
		return op.Instrument(mux)
	}
}

func (so *serveOps) serverOpts(addr string, h http.Handler, log *slog.Logger, onListening func(net.Addr)) server.Opts {
	return server.Opts{Addr: addr, Handler: h, Logger: log, OnListening: onListening,
		TLSCertFile: so.tlsCert, TLSKeyFile: so.tlsKey, TrustedProxies: so.proxies}
}
