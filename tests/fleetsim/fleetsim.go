// Package fleetsim simulates a fleet of Quartierhub terminals against one
// real hub, for the fleet benchmark (tests/bench, `make bench -only
// fleet`) and its test. Every simulated terminal has its own ed25519 key,
// enrolled through the hub's real enrolment endpoint with its own token,
// and its own HTTP client with exactly one keep-alive TCP connection — or,
// with Opts.ConnMode PerRequest, a new TCP connection for every request,
// as terminals behind NAT/LTE routers that drop idle connections do (and
// as a fleet larger than the hub's descriptor limit must be measured).
//
// The load model of one terminal (what a kiosk agent with a particulate
// sensor (PM2.5, PM10) and a CO₂ sensor sends; the phases of every
// schedule are drawn at random so the fleet is spread evenly):
//
//   - heartbeat every Opts.Heartbeat (30 s): POST /api/v1/heartbeat with
//     a realistic health body (four devices, outbox per class, disk,
//     screen, config version);
//   - upload every Opts.Upload (60 s): one gzip-compressed batch with the
//     minute's three sensor_minute records, as hubsync sends them; a 503
//     keeps the records and retries after Retry-After;
//   - configuration poll every Opts.ConfigPoll (5 min): GET /api/v1/config
//     with If-None-Match (304 while unchanged), and a full GET whenever a
//     heartbeat answer names another configuration version than the one
//     the terminal runs (so at start);
//   - command pickup: when a heartbeat answer lists open commands, GET
//     /api/v1/commands, then ack and report a result for each new one.
//
// Latency is measured from the client side per request kind (from
// handing the signed request to the transport until the whole answer is
// read) in log-spaced histograms (2 % resolution). Whether the simulator
// itself kept up is measured too: how late each scheduled action started
// (Stats.Late, LagP99) and how many terminals are behind their schedule
// (Behind).
package fleetsim

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// Identity is one enrolled terminal.
type Identity struct {
	Name string
	ID   string
	Key  ed25519.PrivateKey
}

// NamedToken is an enrolment token and the terminal name it was made for
// (one line "NAME TOKEN" of `hub-server token bulk`).
type NamedToken struct {
	Name  string
	Token string
}

// ParseTokens reads `hub-server token bulk` output.
func ParseTokens(r io.Reader) ([]NamedToken, error) {
	var out []NamedToken
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("fleetsim: token line %d: want NAME TOKEN", len(out)+1)
		}
		out = append(out, NamedToken{Name: f[0], Token: f[1]})
	}
	return out, sc.Err()
}

// Enroll enrols one terminal per token through POST /api/v1/enroll, each
// with a fresh ed25519 key from rnd (nil: crypto/rand), workers at a
// time. The answer's order is the tokens' order.
func Enroll(ctx context.Context, hubURL string, tokens []NamedToken, workers int, rnd io.Reader) ([]Identity, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if workers <= 0 {
		workers = 16
	}
	keys := make([]ed25519.PrivateKey, len(tokens))
	for i := range keys {
		_, priv, err := ed25519.GenerateKey(rnd)
		if err != nil {
			return nil, fmt.Errorf("fleetsim: key: %w", err)
		}
		keys[i] = priv
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxConnsPerHost: workers, MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	ids := make([]Identity, len(tokens))
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tokens) || ctx.Err() != nil {
					return
				}
				id, err := enrollOne(ctx, client, hubURL, tokens[i], keys[i])
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ids, nil
}

func enrollOne(ctx context.Context, c *http.Client, hubURL string, tok NamedToken, key ed25519.PrivateKey) (Identity, error) {
	body, _ := json.Marshal(api.EnrollRequest{Token: tok.Token, PublicKey: api.EncodePublicKey(key.Public().(ed25519.PublicKey)), SoftwareVersion: SoftwareVersion})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hubURL+api.PathEnroll, bytes.NewReader(body))
	if err != nil {
		return Identity{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("fleetsim: enroll %s: %w", tok.Name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return Identity{}, fmt.Errorf("fleetsim: enroll %s: %s: %s", tok.Name, resp.Status, bytes.TrimSpace(b))
	}
	var er api.EnrollResponse
	if err := json.Unmarshal(b, &er); err != nil {
		return Identity{}, fmt.Errorf("fleetsim: enroll %s: %w", tok.Name, err)
	}
	return Identity{Name: er.Name, ID: er.TerminalID, Key: key}, nil
}

// SoftwareVersion is what simulated terminals report.
const SoftwareVersion = "fleetsim-1"

// Request kinds.
const (
	KindHeartbeat = "heartbeat"
	KindUpload    = "upload"
	KindConfig    = "config"
	KindCommands  = "commands"
	KindAck       = "ack"
	KindResult    = "result"
)

// Kinds lists the request kinds in report order.
var Kinds = []string{KindHeartbeat, KindUpload, KindConfig, KindCommands, KindAck, KindResult}

func kindIndex(k string) int {
	for i, s := range Kinds {
		if s == k {
			return i
		}
	}
	panic("fleetsim: unknown kind " + k)
}

// Opts configures a Fleet. Zero values are the defaults.
type Opts struct {
	// HubURL is the hub's base URL. Required.
	HubURL string
	// Heartbeat, Upload and ConfigPoll are the schedules (30 s, 60 s,
	// 5 min).
	Heartbeat, Upload, ConfigPoll time.Duration
	// SensorRecords is the number of sensor_minute records per upload
	// (default 3: PM2.5, PM10, CO₂).
	SensorRecords int
	// Timeout bounds one request (default 30 s).
	Timeout time.Duration
	// SourceAddrs are the local addresses terminals' connections are
	// bound to, round-robin. One address has only ~28,000 ephemeral
	// ports towards one server port; default for a hub on 127.0.0.1 is
	// 127.0.0.2–127.0.0.17, otherwise the system's choice.
	SourceAddrs []net.IP
	// Seed makes the schedules' phases reproducible (default 1).
	Seed uint64
	// ConnMode is KeepAlive (default) or PerRequest.
	ConnMode ConnMode
	// MaxInFlight bounds, in PerRequest mode, the requests of the whole
	// fleet in flight at once: each holds a socket, and all terminals
	// share this process's descriptor limit. A request waiting for a
	// slot is late (Stats.Late), not failed. Default 15,000.
	MaxInFlight int
}

// ConnMode says how a terminal uses TCP connections.
type ConnMode int

const (
	// KeepAlive: one keep-alive connection per terminal, held while idle
	// (a hub needs a descriptor per terminal).
	KeepAlive ConnMode = iota
	// PerRequest: a new connection for every request, closed after the
	// answer; the terminal keeps its own key, token and source address.
	PerRequest
)

// String is the mode's name in bench output.
func (m ConnMode) String() string {
	if m == PerRequest {
		return "per_request"
	}
	return "keepalive"
}

// LateAfter is how late an action may start and still count as on
// schedule.
const LateAfter = time.Second

// Fleet is a set of simulated terminals.
type Fleet struct {
	o        Opts
	inflight chan struct{} // PerRequest: one slot per request in flight
	terms    []*terminal
	rec      atomic.Pointer[recorder]
	dials    atomic.Int64
}

// New returns a fleet of the given identities; Run runs it.
func New(o Opts, ids []Identity) (*Fleet, error) {
	if o.HubURL == "" {
		return nil, errors.New("fleetsim: HubURL is required")
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 30 * time.Second
	}
	if o.Upload <= 0 {
		o.Upload = time.Minute
	}
	if o.ConfigPoll <= 0 {
		o.ConfigPoll = 5 * time.Minute
	}
	if o.SensorRecords <= 0 {
		o.SensorRecords = 3
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	u, err := url.Parse(o.HubURL)
	if err != nil {
		return nil, fmt.Errorf("fleetsim: hub URL: %w", err)
	}
	if o.SourceAddrs == nil {
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.Equal(net.IPv4(127, 0, 0, 1)) {
			for i := 2; i <= 17; i++ {
				o.SourceAddrs = append(o.SourceAddrs, net.IPv4(127, 0, 0, byte(i)))
			}
		}
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 15000
	}
	f := &Fleet{o: o}
	if o.ConnMode == PerRequest {
		f.inflight = make(chan struct{}, o.MaxInFlight)
	}
	f.rec.Store(newRecorder())
	rng := mrand.New(mrand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	for i, id := range ids {
		var src net.IP
		if len(o.SourceAddrs) > 0 {
			src = o.SourceAddrs[i%len(o.SourceAddrs)]
		}
		t := &terminal{f: f, id: id, seed: rng.Uint64(), client: f.newClient(src),
			hbPhase:  time.Duration(rng.Int64N(int64(o.Heartbeat))),
			upPhase:  time.Duration(rng.Int64N(int64(o.Upload))),
			cfgPhase: time.Duration(rng.Int64N(int64(o.ConfigPoll))),
			done:     map[string]bool{}}
		f.terms = append(f.terms, t)
	}
	return f, nil
}

// newClient is one terminal's HTTP client: its own transport holding one
// keep-alive connection, bound to src.
func (f *Fleet) newClient(src net.IP) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			f.dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
		MaxConnsPerHost:     1,
		MaxIdleConns:        1,
		MaxIdleConnsPerHost: 1,
		DisableKeepAlives:   f.o.ConnMode == PerRequest,
		DisableCompression:  true,
		// Small buffers: 50,000 of them live in one process.
		ReadBufferSize:  4 << 10,
		WriteBufferSize: 4 << 10,
	}
	return &http.Client{Transport: tr, Timeout: f.o.Timeout}
}

// Dials is how many TCP connections the fleet opened so far (one per
// terminal when no connection was lost).
func (f *Fleet) Dials() int64 { return f.dials.Load() }

// Run runs every terminal until ctx ends, then closes their connections.
// Schedules start at Run's start plus each terminal's random phase.
func (f *Fleet) Run(ctx context.Context) error {
	start := time.Now()
	var wg sync.WaitGroup
	for _, t := range f.terms {
		wg.Go(func() { t.run(ctx, start) })
	}
	wg.Wait()
	for _, t := range f.terms {
		t.client.CloseIdleConnections()
	}
	return nil
}

// Reset starts a new measurement: Stats reports requests completed after
// it.
func (f *Fleet) Reset() { f.rec.Store(newRecorder()) }

// Stats is what the fleet measured since Reset (or New).
func (f *Fleet) Stats() Stats { return f.rec.Load().stats() }

// Behind is how many terminals are more than LateAfter behind their
// schedule now: the simulator did not keep up if that is not ~0.
func (f *Fleet) Behind() int {
	cut := time.Now().Add(-LateAfter).UnixNano()
	n := 0
	for _, t := range f.terms {
		if d := t.nextDue.Load(); d != 0 && d < cut {
			n++
		}
	}
	return n
}

// MinCount is the smallest number of successful requests of kind any
// terminal made since New: "every terminal did it at least n times".
func (f *Fleet) MinCount(kind string) int64 {
	k := kindIndex(kind)
	m := int64(-1)
	for _, t := range f.terms {
		if n := t.ok[k].Load(); m < 0 || n < m {
			m = n
		}
	}
	return max(m, 0)
}

// Reached is how many terminals made at least n successful requests of
// kind since New.
func (f *Fleet) Reached(kind string, n int64) int {
	k := kindIndex(kind)
	c := 0
	for _, t := range f.terms {
		if t.ok[k].Load() >= n {
			c++
		}
	}
	return c
}

// Acknowledged is the number of records the hub acknowledged (stored or
// duplicate) since New.
func (f *Fleet) Acknowledged() int64 {
	var n int64
	for _, t := range f.terms {
		n += t.acked.Load()
	}
	return n
}

// Unanswered is the number of records in uploads cut off by the fleet's
// stop before their answer arrived: the hub may have stored them (it
// commits before it answers), as a real terminal's would be sent again.
func (f *Fleet) Unanswered() int64 {
	var n int64
	for _, t := range f.terms {
		n += t.unanswered.Load()
	}
	return n
}

// terminal is one simulated terminal. Only its own goroutine touches the
// unexported state apart from the atomic counters.
type terminal struct {
	f                          *Fleet
	id                         Identity
	client                     *http.Client
	seed                       uint64
	hbPhase, upPhase, cfgPhase time.Duration

	started time.Time
	cfgVer  string
	pending []api.Record
	minute  int64
	done    map[string]bool // commands already carried out
	ok      [6]atomic.Int64 // successful requests per kind
	acked   atomic.Int64
	// unanswered counts records of uploads cut off by the stop.
	unanswered atomic.Int64
	entropy    *mrand.Rand
	retryUpAt  time.Time
	// nextDue is when the terminal's next action is due (unix nanos), for
	// Behind.
	nextDue atomic.Int64
}

func (t *terminal) run(ctx context.Context, start time.Time) {
	t.started = start
	t.entropy = mrand.New(mrand.NewPCG(t.seed, 7))
	nextHB, nextUp, nextCfg := start.Add(t.hbPhase), start.Add(t.upPhase), start.Add(t.cfgPhase)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := earliest(nextHB, nextUp, nextCfg)
		if !t.retryUpAt.IsZero() {
			next = earliest(next, t.retryUpAt)
		}
		t.nextDue.Store(next.UnixNano())
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		t.f.rec.Load().lag(now.Sub(next))
		switch {
		case !nextHB.After(now):
			t.heartbeat(ctx)
			nextHB = nextHB.Add(t.f.o.Heartbeat)
		case !nextUp.After(now):
			t.addSensorMinute(now)
			t.upload(ctx)
			nextUp = nextUp.Add(t.f.o.Upload)
		case !t.retryUpAt.IsZero() && !t.retryUpAt.After(now):
			t.upload(ctx)
		case !nextCfg.After(now):
			t.fetchConfig(ctx, true)
			nextCfg = nextCfg.Add(t.f.o.ConfigPoll)
		}
	}
}

func earliest(ts ...time.Time) time.Time {
	e := ts[0]
	for _, t := range ts[1:] {
		if t.Before(e) {
			e = t
		}
	}
	return e
}

// result is one request's outcome.
type result struct {
	status int
	header http.Header
	body   []byte
}

// do signs and sends one request and records its latency under kind.
// Any answer but want (and 304 for config polls) counts as failed; 503
// counts as overloaded.
func (t *terminal) do(ctx context.Context, kind, method, path string, body []byte, hdr map[string]string, want ...int) (result, bool) {
	req, err := http.NewRequestWithContext(ctx, method, t.f.o.HubURL+path, bytes.NewReader(body))
	if err != nil {
		t.f.rec.Load().fail(kind, "build: "+err.Error())
		return result{}, false
	}
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if t.f.inflight != nil {
		select {
		case t.f.inflight <- struct{}{}:
			defer func() { <-t.f.inflight }()
		case <-ctx.Done():
			return result{}, false
		}
	}
	api.SignRequest(req, t.id.Key, t.id.ID, time.Now(), body)
	rec := t.f.rec.Load()
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			rec.fail(kind, errClass(err))
		}
		return result{}, false
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil {
		if ctx.Err() == nil {
			rec.fail(kind, errClass(err))
		}
		return result{}, false
	}
	r := result{status: resp.StatusCode, header: resp.Header, body: b}
	for _, w := range want {
		if resp.StatusCode == w {
			rec.ok(kind, took)
			t.ok[kindIndex(kind)].Add(1)
			return r, true
		}
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		rec.overloaded(kind, took)
		return r, false
	}
	var e api.Error
	_ = json.Unmarshal(b, &e)
	rec.fail(kind, fmt.Sprintf("%d %s", resp.StatusCode, e.Code))
	return r, false
}

// errClass shortens a transport error to a countable class.
func errClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no local port (EADDRNOTAVAIL)"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too many open files"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed (EOF)"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return err.Error()
}

func (t *terminal) heartbeat(ctx context.Context) {
	now := time.Now()
	hb := api.Heartbeat{
		SoftwareVersion: SoftwareVersion, StartedAt: t.started, UptimeSeconds: int64(now.Sub(t.started) / time.Second),
		Devices: []api.DeviceHealth{
			{Name: "card_reader", Kind: "rdm6300", State: "connected", Since: t.started},
			{Name: "printer", Kind: "escpos", State: "connected", Since: t.started, Paper: "ok"},
			{Name: "pm-1", Kind: "sds011", State: "connected", Since: t.started, LastReading: now.Add(-3 * time.Second)},
			{Name: "co2-1", Kind: "mhz19", State: "connected", Since: t.started, LastReading: now.Add(-7 * time.Second)},
		},
		Outbox: map[string]api.Backlog{
			api.ClassResident: {}, api.ClassEvent: {},
			api.ClassSensor: {Count: int64(len(t.pending)), Bytes: int64(len(t.pending) * 230)},
		},
		LastSync:      now.Add(-time.Duration(t.entropy.Int64N(int64(time.Minute)))),
		DiskFreeBytes: 11 << 30, DiskTotalBytes: 16 << 30,
		Screen: "attract", ConfigVersion: t.cfgVer,
	}
	body, _ := json.Marshal(&hb)
	r, ok := t.do(ctx, KindHeartbeat, http.MethodPost, api.PathHeartbeat, body, map[string]string{"Content-Type": "application/json"}, http.StatusOK)
	if !ok {
		return
	}
	var hr api.HeartbeatResponse
	if err := json.Unmarshal(r.body, &hr); err != nil {
		t.f.rec.Load().fail(KindHeartbeat, "bad answer: "+err.Error())
		return
	}
	if hr.ConfigVersion != t.cfgVer {
		t.fetchConfig(ctx, false)
	}
	fresh := false
	for _, c := range hr.Commands {
		fresh = fresh || !t.done[c.ID]
	}
	if fresh {
		t.pickUpCommands(ctx)
	}
}

// fetchConfig gets the effective configuration; poll sends If-None-Match.
func (t *terminal) fetchConfig(ctx context.Context, poll bool) {
	hdr := map[string]string{}
	if poll && t.cfgVer != "" {
		hdr["If-None-Match"] = `"` + t.cfgVer + `"`
	}
	r, ok := t.do(ctx, KindConfig, http.MethodGet, api.PathConfig, nil, hdr, http.StatusOK, http.StatusNotModified)
	if !ok || r.status == http.StatusNotModified {
		return
	}
	var doc api.ConfigDocument
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.f.rec.Load().fail(KindConfig, "bad answer: "+err.Error())
		return
	}
	t.cfgVer = doc.Version
}

func (t *terminal) pickUpCommands(ctx context.Context) {
	r, ok := t.do(ctx, KindCommands, http.MethodGet, api.PathCommands, nil, nil, http.StatusOK)
	if !ok {
		return
	}
	var list api.CommandList
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.f.rec.Load().fail(KindCommands, "bad answer: "+err.Error())
		return
	}
	for _, c := range list.Commands {
		if t.done[c.ID] {
			continue
		}
		if c.State == api.CommandQueued {
			if _, ok := t.do(ctx, KindAck, http.MethodPost, api.CommandAckPath(c.ID), nil, nil, http.StatusOK); !ok {
				return
			}
		}
		res, _ := json.Marshal(api.CommandResult{OK: true, Detail: "simulated " + c.Kind})
		r, ok := t.do(ctx, KindResult, http.MethodPost, api.CommandResultPath(c.ID), res, map[string]string{"Content-Type": "application/json"}, http.StatusOK)
		if !ok {
			return
		}
		var ack api.CommandAck
		if err := json.Unmarshal(r.body, &ack); err != nil || ack.State != api.CommandDone {
			t.f.rec.Load().fail(KindResult, "command not done: "+ack.State)
			continue
		}
		t.done[c.ID] = true
	}
}

// addSensorMinute adds the minute's sensor_minute records to the
// terminal's pending upload: minutes as kiosk/aggregate writes them (an
// SDS011's PM2.5 and PM10, an MH-Z19B's CO2), so the hub stores each as an
// observation too. More than three records a minute are further sensors.
func (t *terminal) addSensorMinute(now time.Time) {
	t.minute++
	minute := now.Truncate(time.Minute).UTC()
	type sensor struct {
		kind, quantity, unit string
		perMinute            int
		base, spread         float64
	}
	sensors := []sensor{{"sds011", "pm25", "ug/m3", 60, 5, 15}, {"sds011", "pm10", "ug/m3", 60, 20, 20}, {"mhz19", "co2", "ppm", 12, 420, 600}}
	for i := range t.f.o.SensorRecords {
		s := sensors[i%len(sensors)]
		mean := s.base + s.spread*t.entropy.Float64()
		payload := fmt.Sprintf(`{"sensor":"%s-%d","quantity":%q,"unit":%q,"minute":%q,"count":%d,"mean":%.2f,"min":%.2f,"max":%.2f,"model":%q,"expected":%d}`,
			s.kind, i/len(sensors), s.quantity, s.unit, minute.Format(time.RFC3339), s.perMinute, mean, mean-1.5, mean+2.25, s.kind, s.perMinute)
		t.pending = append(t.pending, api.Record{ID: ulid.MustNew(ulid.Timestamp(now), rngReader{t.entropy}).String(), Type: "sensor_minute", Class: api.ClassSensor,
			CreatedAt: now.UTC(), Payload: json.RawMessage(payload)})
	}
}

// upload sends the pending records as one gzip batch.
func (t *terminal) upload(ctx context.Context) {
	t.retryUpAt = time.Time{}
	if len(t.pending) == 0 {
		return
	}
	raw, _ := json.Marshal(api.Batch{Records: t.pending})
	var zb bytes.Buffer
	// BestSpeed as hubsync; pooled, because a fresh writer per upload
	// allocated ~800 KiB and 50,000 terminals made that the simulator's
	// largest cost (its GC).
	zw, _ := gzipWriters.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&zb, gzip.BestSpeed)
	} else {
		zw.Reset(&zb)
	}
	zw.Write(raw)
	zw.Close()
	gzipWriters.Put(zw)
	r, ok := t.do(ctx, KindUpload, http.MethodPost, api.PathRecords, zb.Bytes(),
		map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, http.StatusOK)
	if !ok {
		if ctx.Err() != nil {
			t.unanswered.Add(int64(len(t.pending)))
		}
		if r.status == http.StatusServiceUnavailable {
			secs, _ := strconv.Atoi(r.header.Get("Retry-After"))
			t.retryUpAt = time.Now().Add(time.Duration(max(secs, 1)) * time.Second)
		}
		return // kept for the next upload
	}
	var ack api.BatchAck
	if err := json.Unmarshal(r.body, &ack); err != nil || ack.Stored+ack.Duplicates != len(t.pending) {
		t.f.rec.Load().fail(KindUpload, fmt.Sprintf("bad ack %+v for %d records", ack, len(t.pending)))
		return
	}
	t.acked.Add(int64(len(t.pending)))
	t.pending = t.pending[:0]
}

var gzipWriters sync.Pool // *gzip.Writer at gzip.BestSpeed

// rngReader lets a terminal's own PRNG feed ulid.New.
type rngReader struct{ r *mrand.Rand }

func (g rngReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(g.r.Uint32())
	}
	return len(p), nil
}
