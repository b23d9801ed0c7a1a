package fleetsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// ClosedLoop sends heartbeats back to back from len(ids) terminals at
// once, each on its own connection, to baseURL for d, and returns what
// was measured. The same code measures the hub (baseURL its URL, ids
// enrolled there) and a bare net/http server (any ids; it checks
// nothing): signing, body and connection handling are identical.
func ClosedLoop(ctx context.Context, baseURL string, ids []Identity, d time.Duration) (Stats, error) {
	f, err := New(Opts{HubURL: baseURL, SourceAddrs: []net.IP{}}, ids)
	if err != nil {
		return Stats{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Warm up: one request each opens the connections.
	var wg sync.WaitGroup
	for _, t := range f.terms {
		wg.Go(func() { t.closedBeat(ctx) })
	}
	wg.Wait()
	if s := f.Stats(); s.All.Failed > 0 {
		return s, fmt.Errorf("fleetsim: closed loop against %s: warm-up failed: %v", baseURL, s.Errors)
	}
	f.Reset()
	deadline := time.Now().Add(d)
	for _, t := range f.terms {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t.closedBeat(ctx)
			}
		})
	}
	wg.Wait()
	for _, t := range f.terms {
		t.client.CloseIdleConnections()
	}
	return f.Stats(), ctx.Err()
}

// closedBeat is one heartbeat without the answer's follow-ups.
func (t *terminal) closedBeat(ctx context.Context) {
	if t.started.IsZero() {
		t.started = time.Now()
	}
	hb := api.Heartbeat{SoftwareVersion: SoftwareVersion, StartedAt: t.started, UptimeSeconds: int64(time.Since(t.started) / time.Second),
		Devices: []api.DeviceHealth{
			{Name: "card_reader", Kind: "rdm6300", State: "connected", Since: t.started},
			{Name: "printer", Kind: "escpos", State: "connected", Since: t.started, Paper: "ok"},
			{Name: "pm-1", Kind: "sds011", State: "connected", Since: t.started, LastReading: time.Now()},
			{Name: "co2-1", Kind: "mhz19", State: "connected", Since: t.started, LastReading: time.Now()},
		},
		Outbox:        map[string]api.Backlog{api.ClassResident: {}, api.ClassEvent: {}, api.ClassSensor: {Count: 3, Bytes: 690}},
		DiskFreeBytes: 11 << 30, DiskTotalBytes: 16 << 30, Screen: "attract"}
	body, _ := json.Marshal(&hb)
	t.do(ctx, KindHeartbeat, "POST", api.PathHeartbeat, body, map[string]string{"Content-Type": "application/json"}, 200)
}

// RaiseFileLimit sets this process's RLIMIT_NOFILE to at least n (soft
// and hard; raising the hard limit needs privilege, else the soft limit
// goes as far as the hard one allows) and returns the soft limit now.
// Children started afterwards inherit it: Go restores the limit it found
// at start for children only while the program has not set one itself.
func RaiseFileLimit(n uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("fleetsim: getrlimit: %w", err)
	}
	want := syscall.Rlimit{Cur: max(lim.Cur, n), Max: max(lim.Max, n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		want = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return lim.Cur, fmt.Errorf("fleetsim: setrlimit: %w", err)
		}
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("fleetsim: getrlimit: %w", err)
	}
	return lim.Cur, nil
}
