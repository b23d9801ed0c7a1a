// Package pgtest starts a throwaway PostgreSQL cluster for tests: one per
// test binary, from Debian's packages (/usr/lib/postgresql/*/bin), in a
// private temporary directory, listening only on a unix socket there, with
// fsync off. Each caller of NewDatabase gets its own empty database.
//
// Use it from TestMain so the cluster is stopped when the tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Where PostgreSQL is not installed, NewDatabase skips the test, or fails
// it when CI=true so CI cannot pass by skipping. QH_PG_BIN names the bin
// directory explicitly. Running as root, the cluster runs as the
// "postgres" system user (PostgreSQL refuses root), which the Debian
// package creates.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// InstallHint says how to get PostgreSQL on Debian.
const InstallHint = "apt-get install postgresql (or run make deps-test)"

var (
	mainCalled atomic.Bool
	once       sync.Once
	cl         *cluster
	startErr   error
	dbSeq      atomic.Int64
)

// Main runs the tests and then stops the cluster, if one was started, and
// exits with the tests' status.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if cl != nil {
		if err := cl.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// BinDir returns the directory of PostgreSQL's server binaries: QH_PG_BIN,
// else the newest /usr/lib/postgresql/VERSION/bin holding initdb.
func BinDir() (string, error) {
	if d := os.Getenv("QH_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			return "", fmt.Errorf("pgtest: QH_PG_BIN=%s: %w", d, err)
		}
		return d, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", errors.New("pgtest: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); " + InstallHint)
	}
	version := func(p string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		return v
	}
	slices.SortFunc(found, func(a, b string) int { return version(b) - version(a) })
	return filepath.Dir(found[0]), nil
}

// NewDatabase returns the URL of a new, empty database on the test
// binary's cluster, starting the cluster on first use.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest: call pgtest.Main(m) from the package's TestMain so the cluster is stopped")
	}
	once.Do(func() { cl, startErr = start() })
	if startErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: PostgreSQL tests may not be skipped)", startErr)
		}
		t.Skipf("%v; skipping (set CI=true to fail instead)", startErr)
	}
	name := fmt.Sprintf("t%d", dbSeq.Add(1))
	if err := createDatabase(name, "template0"); err != nil {
		t.Fatal(err)
	}
	return cl.url(name)
}

var (
	templatesMu sync.Mutex
	templates   = map[string]error{}
)

// NewDatabaseFrom is NewDatabase, but the new database is a copy of the
// template database named template, which prepare fills once per test
// binary (e.g. by applying the migrations): copying is much faster than
// preparing every database anew.
func NewDatabaseFrom(t testing.TB, template string, prepare func(url string) error) string {
	t.Helper()
	NewDatabase(t) // starts the cluster, or skips/fails
	templatesMu.Lock()
	err, done := templates[template]
	if !done {
		if err = createDatabase(template, "template0"); err == nil {
			err = prepare(cl.url(template))
		}
		templates[template] = err
	}
	templatesMu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: template %s: %v", template, err)
	}
	name := fmt.Sprintf("t%d", dbSeq.Add(1))
	if err := createDatabase(name, template); err != nil {
		t.Fatal(err)
	}
	return cl.url(name)
}

func createDatabase(name, template string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, cl.url("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(ctx)
	// FILE_COPY (PostgreSQL 15+) copies the files instead of logging every
	// page to the WAL: several times faster for a small database.
	var version int
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	q := "CREATE DATABASE " + name + " TEMPLATE " + template
	if version >= 150000 {
		q += " STRATEGY FILE_COPY"
	}
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("pgtest: create database: %w", err)
	}
	return nil
}

type cluster struct {
	dir  string
	cmd  *exec.Cmd
	done chan error
}

// url is the connection URL of database db, over the unix socket.
func (c *cluster) url(db string) string {
	return "postgres://postgres@/" + db + "?host=" + c.dir + "&sslmode=disable"
}

func start() (*cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "qh-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &cluster{dir: dir, done: make(chan error, 1)}
	cred, err := credential(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	out, err := command(cred, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	// Only the unix socket in dir: parallel test binaries never collide on
	// a port. Durability is not a test's business: fsync off.
	c.cmd = command(cred, filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
		"-c", "shared_buffers=32MB", "-c", "log_min_messages=FATAL")
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	if err := c.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: start postgres: %w", err)
	}
	go func() { c.done <- c.cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return c, nil
		}
		select {
		case werr := <-c.done:
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: postgres exited: %v: %s", werr, strings.TrimSpace(string(log)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("pgtest: postgres not ready after 30s: %w", err)
		}
	}
}

// stop shuts the cluster down (fast shutdown, then kill) and removes it.
func (c *cluster) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return os.RemoveAll(c.dir)
}

// credential returns whom to run PostgreSQL as: nil (ourselves) unless we
// are root, then the postgres user, who is given dir.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the postgres system user (PostgreSQL refuses root): %w; %s", err, InstallHint)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
