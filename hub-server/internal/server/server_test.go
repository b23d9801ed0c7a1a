package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/server"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// A request in flight when ctx ends is finished before Run returns.
func TestGracefulShutdownAndLogging(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow/{id}", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "done")
	})
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	runErr := make(chan error, 1)
	go func() {
		runErr <- server.New(server.Opts{Addr: "127.0.0.1:0", Handler: mux, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			OnListening: func(a net.Addr) { addrc <- a }}).Run(ctx)
	}()
	addr := <-addrc
	got := make(chan string, 1)
	go func() {
		res, err := http.Get("http://" + addr.String() + "/slow/secret-value?q=personal")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-entered
	cancel()
	close(release)
	if b := <-got; b != "done" {
		t.Errorf("in-flight request got %q", b)
	}
	if err := <-runErr; err != nil {
		t.Errorf("Run = %v", err)
	}
	l := logs.String()
	if !strings.Contains(l, `route="GET /slow/{id}"`) || !strings.Contains(l, "status=200") {
		t.Errorf("request log lacks route or status:\n%s", l)
	}
	if strings.Contains(l, "secret-value") || strings.Contains(l, "personal") || strings.Contains(l, "127.0.0.1:") && strings.Contains(l, "remote") {
		t.Errorf("request log holds request data:\n%s", l)
	}
}

func TestListenErrorIsReturned(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = server.New(server.Opts{Addr: ln.Addr().String(), Handler: http.NotFoundHandler(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(context.Background())
	if err == nil {
		t.Fatal("Run on a taken port succeeded")
	}
}

// A request header beyond 64 KiB is refused before any handler runs.
func TestLargeHeaderRefused(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan net.Addr, 1)
	var handled atomic.Bool
	go server.New(server.Opts{Addr: "127.0.0.1:0", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handled.Store(true) }),
		Logger: slog.New(slog.DiscardHandler), OnListening: func(a net.Addr) { addrc <- a }}).Run(ctx)
	addr := <-addrc
	req, _ := http.NewRequest("GET", "http://"+addr.String()+"/", nil)
	req.Header.Set("X-Pad", strings.Repeat("x", 100<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge || handled.Load() {
		t.Errorf("100 KiB header: %d, handled %v", res.StatusCode, handled.Load())
	}
	req.Header.Set("X-Pad", strings.Repeat("x", 10<<10))
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("10 KiB header: %d", res.StatusCode)
	}
}
