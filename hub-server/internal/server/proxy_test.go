package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/server"
)

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hub.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// start runs a server with o until the test ends and returns its address.
func start(t *testing.T, o server.Opts) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	o.Addr, o.Logger = "127.0.0.1:0", slog.New(slog.DiscardHandler)
	o.OnListening = func(a net.Addr) { addrc <- a }
	go func() { errc <- server.New(o).Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	})
	select {
	case a := <-addrc:
		return a.String()
	case err := <-errc:
		t.Fatalf("server: %v", err)
	}
	return ""
}

func echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr+"|"+r.Header.Get("X-Forwarded-Proto")+"|"+r.Header.Get("X-Forwarded-For"))
	})
}

func TestHTTPS(t *testing.T) {
	cert, key, pool := selfSigned(t, t.TempDir())
	addr := start(t, server.Opts{Handler: echo(), TLSCertFile: cert, TLSKeyFile: key})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := c.Get("https://" + addr + "/x")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil {
		t.Errorf("https: %d, tls %v", res.StatusCode, res.TLS != nil)
	}
	// Plain HTTP to the TLS port is refused (Go answers 400).
	if res, err := http.Get("http://" + addr + "/x"); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("plain http to the https port: %d", res.StatusCode)
		}
	}
}

func TestBadCertificateIsAnError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c"), []byte("nope"), 0o600)
	err := server.New(server.Opts{Addr: "127.0.0.1:0", Handler: echo(), TLSCertFile: filepath.Join(dir, "c"), TLSKeyFile: filepath.Join(dir, "c"),
		Logger: slog.New(slog.DiscardHandler)}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("Run with a bad certificate: %v", err)
	}
}

func getWith(t *testing.T, url string, hdr map[string]string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func TestForwardedHeaders(t *testing.T) {
	hdr := map[string]string{"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https"}
	// No trusted proxy: the headers are dropped, the peer is the client.
	plain := start(t, server.Opts{Handler: echo()})
	if got := getWith(t, "http://"+plain+"/", hdr); !strings.HasPrefix(got, "127.0.0.1:") || !strings.HasSuffix(got, "||") {
		t.Errorf("untrusted: %q", got)
	}
	// Loopback trusted: the right-most untrusted hop is the client; the
	// left-most entry (the client's own claim) is not believed.
	proxied := start(t, server.Opts{Handler: echo(), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if got := getWith(t, "http://"+proxied+"/", hdr); !strings.HasPrefix(got, "203.0.113.7:0|https|") {
		t.Errorf("trusted proxy: %q", got)
	}
	// A trusted proxy that sends garbage: keep the proxy's address.
	if got := getWith(t, "http://"+proxied+"/", map[string]string{"X-Forwarded-For": "not-an-ip", "X-Forwarded-Proto": "gopher"}); !strings.HasPrefix(got, "127.0.0.1:") || strings.Contains(got, "gopher") {
		t.Errorf("garbage from a trusted proxy: %q", got)
	}
}

func TestParseTrustedProxy(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.0/8": "10.0.0.0/8", "10.1.2.3/8": "10.0.0.0/8", "192.0.2.1": "192.0.2.1/32", "::1": "::1/128"} {
		if p, err := server.ParseTrustedProxy(in); err != nil || p.String() != want {
			t.Errorf("ParseTrustedProxy(%q) = %v, %v", in, p, err)
		}
	}
	if _, err := server.ParseTrustedProxy("localhost"); err == nil {
		t.Error("a host name was accepted")
	}
}
