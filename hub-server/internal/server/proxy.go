package server

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Behind a reverse proxy
//
// The hub may serve HTTPS itself (--tls-cert FILE --tls-key FILE) or sit
// behind a reverse proxy (nginx, HAProxy, a cloud load balancer) that
// terminates TLS. Then:
//
//   - Pass --trusted-proxy CIDR (repeatable) with the proxy's addresses.
//     Only requests arriving from those addresses have their
//     X-Forwarded-For and X-Forwarded-Proto believed: the client address
//     becomes the right-most X-Forwarded-For entry that is not itself a
//     trusted proxy, and X-Forwarded-Proto (http or https) stays for the
//     handlers (e.g. the console's Secure cookies). From any other
//     address, and when no proxy is trusted, the hub deletes
//     X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host, so no
//     handler can be fooled by a client that sets them.
//   - The proxy must forward the request path and query exactly as the
//     terminal sent them: no rewriting, no prefix stripping, no
//     re-encoding, no added or reordered query parameters. A terminal
//     signs its method, path with query and body (package api), and the
//     hub verifies the signature against the path as it receives it; a
//     rewritten path is a bad_signature 401. Serve the hub at the root of
//     its own host name (e.g. https://hub.example.org/), or have the proxy
//     strip nothing.
//   - The proxy must not buffer-and-alter bodies (gzip re-encoding,
//     charset conversion): the body is signed too. Allow bodies of
//     api.MaxBatchBytes (4 MiB) and timeouts of a few minutes for slow
//     uplinks.
//   - Route /healthz and /readyz to the proxy's health checks; keep
//     /metrics off the public internet (allow it only to the monitoring
//     network).
//   - With several hub processes (--db postgres://…) the proxy may spread
//     requests freely: nothing a terminal needs is kept in one process.

// forwarded applies the trusted-proxy rule above.
func (s *Server) forwarded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.trusted(r.RemoteAddr) {
			r.Header.Del("X-Forwarded-For")
			r.Header.Del("X-Forwarded-Proto")
			r.Header.Del("X-Forwarded-Host")
			next.ServeHTTP(w, r)
			return
		}
		if client := s.clientFrom(r.Header.Values("X-Forwarded-For")); client.IsValid() {
			r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		}
		if p := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto"))); p != "http" && p != "https" {
			r.Header.Del("X-Forwarded-Proto")
		}
		r.Header.Del("X-Forwarded-Host")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) trusted(remote string) bool {
	if len(s.o.TrustedProxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	return s.trustedAddr(ap.Addr())
}

func (s *Server) trustedAddr(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.o.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientFrom returns the right-most address of the X-Forwarded-For chain
// that is not a trusted proxy (entries left of it are the client's word).
func (s *Server) clientFrom(values []string) netip.Addr {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		a, err := netip.ParseAddr(h)
		if err != nil {
			if ap, err2 := netip.ParseAddrPort(h); err2 == nil {
				a = ap.Addr()
			} else {
				return netip.Addr{} // garbage: keep the proxy's address
			}
		}
		if !s.trustedAddr(a) {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

// ParseTrustedProxy parses a --trusted-proxy value: a CIDR or one address.
func ParseTrustedProxy(v string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("server: trusted proxy %q is neither a CIDR nor an address", v)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func loadKeyPair(cert, key string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return c, fmt.Errorf("tls: %w", err)
	}
	return c, nil
}

func tlsConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
}
