// Package harness runs the real Quartierhub binaries for the cross-component
// tests and benchmarks under tests/: it builds kiosk and hub-server once,
// starts a hub process on a loopback port, creates enrolment tokens and
// exports with the hub's CLI, and runs `kiosk agent` as a child process
// that can be killed with SIGKILL and started again on the same data
// directory. Everything waits on conditions with deadlines, never on fixed
// sleeps.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// Bins are the built binaries.
type Bins struct {
	Kiosk string
	Hub   string
}

// ModuleRoot returns the directory of the module's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("harness: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("harness: not inside the quartierhub module")
	}
	return filepath.Dir(mod), nil
}

// BinDirEnv names a directory holding binaries that `make build` made
// (kiosk with its window, hub-server, devsim). `make test` sets it so the
// tests under tests/ run what was just built instead of linking their own
// copies; a plain `go test` leaves it unset and the tests build.
const BinDirEnv = "QH_BIN"

// Prebuilt returns the path of the binary name in $QH_BIN, or "" when
// QH_BIN is unset. A set QH_BIN without the binary is an error: a test
// must not silently run something else than what the caller built.
func Prebuilt(name string) (string, error) {
	dir := os.Getenv(BinDirEnv)
	if dir == "" {
		return "", nil
	}
	p := filepath.Join(dir, name)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("harness: %s=%s has no executable %s (run make build)", BinDirEnv, dir, name)
	}
	return p, nil
}

// Build compiles kiosk and hub-server into dir (CGO_ENABLED=0, as `make
// build` does).
func Build(ctx context.Context, dir string) (Bins, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return Bins{}, err
	}
	b := Bins{Kiosk: filepath.Join(dir, "kiosk"), Hub: filepath.Join(dir, "hub-server")}
	for out, pkg := range map[string]string{b.Kiosk: "./kiosk/cmd/kiosk", b.Hub: "./hub-server/cmd/hub-server"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return Bins{}, fmt.Errorf("harness: go build %s: %w\n%s", pkg, err, msg)
		}
	}
	return b, nil
}

// BuildHub returns the hub-server binary: $QH_BIN's (Prebuilt) when set,
// else one compiled into dir as Build does, for tests that run the real
// hub but the kiosk's parts in process.
func BuildHub(ctx context.Context, dir string) (string, error) {
	if p, err := Prebuilt("hub-server"); err != nil || p != "" {
		return p, err
	}
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "hub-server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./hub-server/cmd/hub-server")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("harness: go build ./hub-server/cmd/hub-server: %w\n%s", err, msg)
	}
	return out, nil
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago (callers retry if someone took it meanwhile).
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("harness: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// WaitFor polls cond until it reports true, returns an error, or ctx ends
// (then the last condition error, if any, is reported with what).
func WaitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	var last error
	delay := time.Millisecond
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("harness: waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-t.C:
		}
		delay = min(delay*2, 20*time.Millisecond)
	}
}

// proc is a child process whose exit is observed.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProc(name string, args []string, logPath string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("harness: start %s: %w", filepath.Base(name), err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig and waits until the process is gone (and reaped, so its
// file locks are released).
func (p *proc) signal(sig syscall.Signal) error {
	if p == nil || p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second): // a hung child, not a synchronisation
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("harness: pid %d ignored %v for 30s", p.cmd.Process.Pid, sig)
	}
}

// Tail returns the last n lines of a log file, for failure messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// PeakRSSMiB is VmHWM of pid from /proc, in MiB: the peak resident set,
// including file pages such as a memory-mapped bbolt file.
func PeakRSSMiB(pid int) (float64, error) { return procStatusMiB(pid, "VmHWM:") }

// AnonRSSMiB is RssAnon of pid now, in MiB: resident memory that is not
// file-backed (heap, stacks).
func AnonRSSMiB(pid int) (float64, error) { return procStatusMiB(pid, "RssAnon:") }

func procStatusMiB(pid int, field string) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("harness: no %s for pid %d", field, pid)
}

// CPUSeconds is the user+system CPU time pid has used so far.
func CPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("harness: short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// Hub is a hub-server process on a data directory and a fixed address, so
// it can be killed and started again where terminals expect it.
type Hub struct {
	Bin  string
	Dir  string
	Addr string
	Log  string
	p    *proc
}

// NewHub returns a stopped hub on dir with a free loopback address.
func NewHub(bins Bins, dir string) (*Hub, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	return &Hub{Bin: bins.Hub, Dir: dir, Addr: addr, Log: filepath.Join(dir, "hub.log")}, nil
}

// URL is the hub's base URL.
func (h *Hub) URL() string { return "http://" + h.Addr }

// PID is the running hub's process id (0 if none).
func (h *Hub) PID() int {
	if h.p == nil || h.p.exited() {
		return 0
	}
	return h.p.cmd.Process.Pid
}

// Start runs `hub-server serve` on the hub's data directory and address
// and waits until it accepts connections.
func (h *Hub) Start(ctx context.Context) error {
	if h.p != nil && !h.p.exited() {
		return errors.New("harness: hub already running")
	}
	p, err := startProc(h.Bin, []string{"serve", "--data", h.Dir, "--listen", h.Addr}, h.Log)
	if err != nil {
		return err
	}
	h.p = p
	err = WaitFor(ctx, "hub to listen on "+h.Addr, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("hub exited: %v", p.err)
		}
		c, err := net.DialTimeout("tcp", h.Addr, time.Second)
		if err != nil {
			return false, err
		}
		c.Close()
		return true, nil
	})
	if err != nil {
		_ = p.signal(syscall.SIGKILL)
		return fmt.Errorf("%w\nhub log:\n%s", err, Tail(h.Log, 20))
	}
	return nil
}

// StartFresh starts a new hub, retrying on another port if the chosen one
// was taken before the hub could bind it.
func (h *Hub) StartFresh(ctx context.Context) error {
	err := h.Start(ctx)
	for range 4 {
		if err == nil || ctx.Err() != nil {
			return err
		}
		addr, aerr := FreeAddr()
		if aerr != nil {
			return aerr
		}
		h.Addr = addr
		err = h.Start(ctx)
	}
	return err
}

// Kill sends SIGKILL and waits for the process to be gone.
func (h *Hub) Kill() error { return h.p.signal(syscall.SIGKILL) }

// Stop asks the hub to shut down gracefully and waits.
func (h *Hub) Stop() error { return h.p.signal(syscall.SIGTERM) }

func (h *Hub) cli(ctx context.Context, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("harness: hub-server %s: %w: %s", strings.Join(args[:2], " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// CLI runs `hub-server ARGS… --data DIR` on the hub's data directory
// (the hub may be running) and returns its standard output.
func (h *Hub) CLI(ctx context.Context, args ...string) ([]byte, error) {
	return h.cli(ctx, append(args, "--data", h.Dir)...)
}

// Token creates an enrolment token with the hub's CLI.
func (h *Hub) Token(ctx context.Context, terminal, quarter string) (string, error) {
	out, err := h.cli(ctx, "token", "create", "--data", h.Dir, "--terminal", terminal, "--quarter", quarter)
	return strings.TrimSpace(string(out)), err
}

// Exported is one line of `hub-server export --format jsonl`.
type Exported struct {
	ID         string          `json:"id"`
	Terminal   string          `json:"terminal"`
	Type       string          `json:"type"`
	CreatedAt  time.Time       `json:"created_at"`
	ReceivedAt time.Time       `json:"received_at"`
	Payload    json.RawMessage `json:"payload"`
}

// Export returns every record the hub holds, via its CLI.
func (h *Hub) Export(ctx context.Context) ([]Exported, error) {
	out, err := h.cli(ctx, "export", "--data", h.Dir, "--format", "jsonl")
	if err != nil {
		return nil, err
	}
	var recs []Exported
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var r Exported
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("harness: export line %d: %w", len(recs)+1, err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

// Agent is a `kiosk agent` process on a data directory.
type Agent struct {
	Bin    string
	Dir    string
	Log    string
	Client *localapi.Client
	p      *proc
}

// NewAgent returns a stopped agent on dir.
func NewAgent(bins Bins, dir string) (*Agent, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Agent{Bin: bins.Kiosk, Dir: dir, Log: filepath.Join(dir, "agent.log"), Client: localapi.NewClient(dir)}, nil
}

// Enroll runs `kiosk enroll` against hubURL with token.
func (a *Agent) Enroll(ctx context.Context, hubURL, token string) error {
	cmd := exec.CommandContext(ctx, a.Bin, "enroll", "--hub", hubURL, "--token", token, "--data", a.Dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("harness: kiosk enroll: %w: %s", err, out)
	}
	return nil
}

// PID is the running agent's process id (0 if none).
func (a *Agent) PID() int {
	if a.p == nil || a.p.exited() {
		return 0
	}
	return a.p.cmd.Process.Pid
}

// Start runs `kiosk agent` and waits until its local API answers a status.
func (a *Agent) Start(ctx context.Context) error {
	if a.p != nil && !a.p.exited() {
		return errors.New("harness: agent already running")
	}
	p, err := startProc(a.Bin, []string{"agent", "--data", a.Dir, "--log-level", "warn"}, a.Log)
	if err != nil {
		return err
	}
	a.p = p
	err = WaitFor(ctx, "agent status", func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("agent exited: %v", p.err)
		}
		_, err := a.Client.Status(ctx)
		return err == nil, err
	})
	if err != nil {
		_ = p.signal(syscall.SIGKILL)
		return fmt.Errorf("%w\nagent log:\n%s", err, Tail(a.Log, 20))
	}
	return nil
}

// Kill sends SIGKILL and waits for the process to be gone.
func (a *Agent) Kill() error { return a.p.signal(syscall.SIGKILL) }

// Stop asks the agent to shut down gracefully and waits.
func (a *Agent) Stop() error { return a.p.signal(syscall.SIGTERM) }

// OutboxCount is the number of records in the agent's outbox (all classes).
func OutboxCount(st localapi.Status) int64 {
	var n int64
	for _, c := range st.Outbox.Classes {
		n += c.Count
	}
	return n
}

// OutboxLost is how many records the outbox thinned or evicted, ever.
func OutboxLost(st localapi.Status) int64 {
	var n int64
	for _, c := range st.Outbox.Classes {
		n += c.Thinned + c.Evicted
	}
	return n
}

// Drain runs sync rounds through the agent's local API until its outbox
// is empty. Failed rounds (the hub still starting) are retried.
func (a *Agent) Drain(ctx context.Context) error {
	return WaitFor(ctx, "agent outbox to drain", func() (bool, error) {
		_, serr := a.Client.SyncNow(ctx)
		st, err := a.Client.Status(ctx)
		if err != nil {
			return false, err
		}
		if n := OutboxCount(st); n > 0 {
			return false, fmt.Errorf("%d records left (last round: %v)", n, serr)
		}
		return true, nil
	})
}
