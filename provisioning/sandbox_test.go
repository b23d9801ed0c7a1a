package provisioning

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// TestHubStaysInItsSandbox runs the real hub under strace through a day's
// work in miniature (start on a new data directory, enrol a terminal,
// take a batch and a heartbeat, serve the console's login page, shut
// down) and checks it against its unit's sandbox: every system call is
// one SystemCallFilter= allows, and it writes only below its data
// directory (ProtectSystem=strict; the state directory is the one
// writable place).
func TestHubStaysInItsSandbox(t *testing.T) {
	straceBin, allowed := sandboxOf(t, "hub/quartierhub-hub.service", "the hub")

	dir := t.TempDir()
	bin := binary(t, dir, "hub-server", "../hub-server/cmd/hub-server")
	data := filepath.Join(dir, "state")
	if err := os.Mkdir(data, 0o750); err != nil {
		t.Fatal(err)
	}
	// As under the unit: LimitNOFILE= sets soft and hard limits alike.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur != lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}

	// As under the unit, the hub runs as an unprivileged user (root would
	// take other paths: SQLite hands its files to the database's owner).
	asUser, cred := unprivileged(t, dir, data)
	trace := filepath.Join(dir, "strace.log")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	hub := exec.CommandContext(ctx, straceBin, append(append([]string{"-f", "-qq", "-s", "256", "-o", trace}, asUser...),
		bin, "serve", "--data", data, "--listen", "127.0.0.1:0")...)
	hub.Dir = data
	stderr, err := hub.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	addrRe := regexp.MustCompile(`msg="hub listening" addr=(\S+)`)
	var log bytes.Buffer
	lines := bufio.NewScanner(stderr)
	base := ""
	for base == "" && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := addrRe.FindStringSubmatch(lines.Text()); m != nil {
			base = "http://" + m[1]
		}
	}
	if base == "" {
		t.Fatalf("the hub did not start:\n%s", log.String())
	}
	go io.Copy(io.Discard, stderr)

	work(t, bin, data, base, cred)

	stopTraced(t, hub)

	calls, writes := readTrace(t, trace)
	var refused []string
	for _, c := range calls {
		if !allowed[c] {
			refused = append(refused, c)
		}
	}
	if len(refused) > 0 {
		t.Errorf("the hub makes system calls its unit's SystemCallFilter= refuses: %v", refused)
	}
	for _, w := range writes {
		if !strings.HasPrefix(w, data+"/") && w != data && !slices.Contains([]string{"/dev/null"}, w) {
			t.Errorf("the hub writes %s, outside its state directory", w)
		}
	}
	t.Logf("%d distinct system calls, %d paths written, all inside the sandbox: %v", len(calls), len(writes), writes)
}

// unprivileged returns strace's flags and the credentials that run a
// program as nobody when the test runs as root, as a unit's User= does,
// and gives nobody the directory dir and its state directory state.
func unprivileged(t *testing.T, dir, state string) ([]string, *syscall.Credential) {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, p := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(state, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	return []string{"-u", "nobody"}, &syscall.Credential{Uid: 65534, Gid: 65534}
}

// stopTraced sends SIGTERM to the program strace runs, as systemd would
// (strace ends with it), and waits for a clean end.
func stopTraced(t *testing.T, strace *exec.Cmd) {
	t.Helper()
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", strace.Process.Pid, strace.Process.Pid))
	if err != nil || len(strings.Fields(string(kids))) != 1 {
		t.Fatalf("the traced process: %q %v", kids, err)
	}
	pid, _ := strconv.Atoi(strings.Fields(string(kids))[0])
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := strace.Wait(); err != nil {
		t.Fatalf("the traced program did not stop cleanly: %v", err)
	}
}

// work is what a hub does: a terminal enrols with a token, uploads a
// batch and a heartbeat; a browser loads the console's login page.
func work(t *testing.T, bin, data, base string, cred *syscall.Credential) {
	t.Helper()
	token := exec.Command(bin, "token", "create", "--data", data, "--terminal", "t1", "--quarter", "Q")
	token.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := token.Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	pub, priv, _ := ed25519.GenerateKey(nil)
	var enrolled api.EnrollResponse
	post(t, base+api.PathEnroll, api.EnrollRequest{Token: strings.TrimSpace(string(out)), PublicKey: base64.StdEncoding.EncodeToString(pub), SoftwareVersion: "test"}, nil, &enrolled)

	rec := api.Record{ID: "01JX5Z7D3Q8W2V4N6M0P9R1S2T", Type: api.RecordProblemReport, Class: api.ClassResident,
		CreatedAt: time.Now().UTC(), Payload: json.RawMessage(`{"category":"litter","text":"Glas"}`)}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_ = json.NewEncoder(zw).Encode(api.Batch{Records: []api.Record{rec}})
	zw.Close()
	var ack api.BatchAck
	post(t, base+api.PathRecords, zipped.Bytes(), func(r *http.Request) {
		r.Header.Set("Content-Encoding", "gzip")
		api.SignRequest(r, priv, enrolled.TerminalID, time.Now(), zipped.Bytes())
	}, &ack)
	if ack.Stored != 1 {
		t.Fatalf("batch ack %+v", ack)
	}
	hb, _ := json.Marshal(api.Heartbeat{SoftwareVersion: "test"})
	post(t, base+"/api/v1/heartbeat", hb, func(r *http.Request) {
		api.SignRequest(r, priv, enrolled.TerminalID, time.Now(), hb)
	}, nil)
	res, err := http.Get(base + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("console login page: %s", res.Status)
	}
}

// post sends body (bytes as they are, anything else as JSON) and decodes
// a 200 answer into out.
func post(t *testing.T, url string, body any, sign func(*http.Request), out any) {
	t.Helper()
	b, ok := body.([]byte)
	if !ok {
		b, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if sign != nil {
		sign(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s %s", url, res.Status, msg)
	}
	if out != nil {
		if err := json.Unmarshal(msg, out); err != nil {
			t.Fatalf("POST %s: %v", url, err)
		}
	}
}

// filterOf expands the unit's SystemCallFilter= lines (an allow list,
// then ~deny lists) into the set of system calls it allows.
// sandboxOf finds strace and the system calls the unit at path allows,
// or skips the test (what is traced names the program) where strace or
// systemd-analyze is missing or with -short; under CI=true a missing
// tool fails the test, so CI cannot pass by skipping.
func sandboxOf(t *testing.T, path, what string) (straceBin string, allowed map[string]bool) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		missingTool(t, "systemd-analyze is not installed (package systemd; provisioning/dev/deps.sh test installs it)")
	}
	straceBin, err = exec.LookPath("strace")
	if err != nil {
		missingTool(t, "strace is not installed (package strace; provisioning/dev/deps.sh test installs it)")
	}
	if testing.Short() {
		t.Skip("builds and traces " + what)
	}
	unit, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return straceBin, filterOf(t, analyze, string(unit))
}

func missingTool(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

func filterOf(t *testing.T, analyze, unit string) map[string]bool {
	t.Helper()
	allowed := map[string]bool{}
	seen := false
	for _, l := range strings.Split(unit, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(l), "SystemCallFilter=")
		if !ok {
			continue
		}
		deny := strings.HasPrefix(v, "~")
		for _, item := range strings.Fields(strings.TrimPrefix(v, "~")) {
			for _, c := range expand(t, analyze, item, map[string]bool{}) {
				allowed[c] = !deny
			}
		}
		seen = seen || !deny
	}
	if !seen {
		t.Fatal("the unit has no SystemCallFilter= allow list")
	}
	return allowed
}

// expand lists the system calls of a systemd syscall group (or a single
// call), following nested groups.
func expand(t *testing.T, analyze, item string, done map[string]bool) []string {
	if !strings.HasPrefix(item, "@") {
		return []string{item}
	}
	if done[item] {
		return nil
	}
	done[item] = true
	out, err := exec.Command(analyze, "syscall-filter", "--no-pager", item).Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter %s: %v", item, err)
	}
	var calls []string
	for _, l := range strings.Split(string(out), "\n")[1:] {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		calls = append(calls, expand(t, analyze, l, done)...)
	}
	return calls
}

var (
	callRe  = regexp.MustCompile(`^\d+\s+([a-z0-9_]+)\(`)
	openRe  = regexp.MustCompile(`^\d+\s+(?:openat|open|creat)\((?:AT_FDCWD, )?"([^"]*)", ([A-Z_|]+)`)
	writeRe = regexp.MustCompile(`^\d+\s+(?:mkdir|mkdirat|unlink|unlinkat|rename|renameat2?|rmdir|link|linkat|symlink|symlinkat|truncate|chmod|fchmodat)\((?:AT_FDCWD, |\d+, )?"([^"]*)"`)
)

// readTrace returns the distinct system calls in an strace log and the
// paths written: opened for writing, created, removed or renamed.
func readTrace(t *testing.T, path string) (calls, writes []string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seenCall, seenPath := map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	add := func(p string) {
		if !filepath.IsAbs(p) {
			return // relative to the working directory, the state directory
		}
		if !seenPath[p] {
			seenPath[p] = true
			writes = append(writes, p)
		}
	}
	for sc.Scan() {
		l := sc.Text()
		if m := callRe.FindStringSubmatch(l); m != nil && !seenCall[m[1]] {
			seenCall[m[1]] = true
			calls = append(calls, m[1])
		}
		// A failed open wrote nothing; one strace split ("<unfinished
		// ...>") counts, its outcome unknown.
		if m := openRe.FindStringSubmatch(l); m != nil && !strings.Contains(l, " = -1 ") {
			if strings.Contains(m[2], "O_WRONLY") || strings.Contains(m[2], "O_RDWR") || strings.Contains(m[2], "O_CREAT") {
				add(m[1])
			}
		}
		if m := writeRe.FindStringSubmatch(l); m != nil {
			add(m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 20 {
		t.Fatalf("the trace holds %d system calls: strace did not follow the hub", len(calls))
	}
	slices.Sort(calls)
	return calls, writes
}

// binary returns the program to trace: the one `make build` made
// ($QH_BIN, what make test passes), else one built here as make builds
// it (the kiosk with cgo where a C compiler is, as it is deployed).
func binary(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	if qh := os.Getenv("QH_BIN"); qh != "" {
		p := filepath.Join(qh, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("QH_BIN=%s has no %s (run make build)", qh, name)
		}
		return p
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH to build " + name)
	}
	cgo := "0"
	if _, err := exec.LookPath("gcc"); err == nil && name == "kiosk" {
		cgo = "1"
	}
	out := filepath.Join(dir, name)
	build := exec.Command(goBin, "build", "-o", out, pkg)
	build.Env = append(os.Environ(), "CGO_ENABLED="+cgo)
	if msg, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, msg)
	}
	return out
}
