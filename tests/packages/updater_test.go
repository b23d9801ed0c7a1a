package packages

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/quartierhub/quartierhub/tests/internal/debroot"
)

// updaterUnit checks quartierhub-updater.service in a machine with the
// kiosk package built without a TUF root: enabled, yet skipped by its
// condition; with a root it runs, reads the agent's private directory
// through its sandbox (the hub's address) and writes its state. The
// agent runs the kiosk through /usr/lib/quartierhub/kiosk: the packaged
// binary, or the updater's current release when there is one.
func updaterUnit(ctx context.Context, t *testing.T, m *debroot.Machine) {
	const unit = "quartierhub-updater.service"
	if exists(m, "/usr/share/quartierhub/tuf-root.json") {
		t.Fatal("the package under test pins a TUF root; build it without TUF_ROOT")
	}
	if got := strings.TrimSpace(do(ctx, t, m, "systemctl", "is-enabled", unit)); got != "enabled" {
		t.Errorf("%s is %q, want enabled", unit, got)
	}
	show := func(props string) string {
		return strings.TrimSpace(do(ctx, t, m, "systemctl", "show", "-P", props, unit))
	}
	if got := show("ConditionResult"); got != "no" {
		t.Errorf("%s without a root: ConditionResult %q, want no (skipped)", unit, got)
	}
	if got := show("ActiveState"); got != "inactive" {
		t.Errorf("%s without a root is %s", unit, got)
	}

	// The agent runs the packaged kiosk through the wrapper.
	exe := func() string {
		pid := strings.TrimSpace(do(ctx, t, m, "systemctl", "show", "-P", "MainPID", "quartierhub-agent.service"))
		out, _ := m.Exec(ctx, "readlink", "/proc/"+pid+"/exe")
		return strings.TrimSpace(out)
	}
	// Right after a start the main process may still be systemd's fork
	// before its exec, or the wrapper's shell.
	runs := func(want string) {
		t.Helper()
		waitFor(t, "the agent running "+want, 10*time.Second, func() (bool, string) {
			got := exe()
			return got == want, got
		})
	}
	runs("/usr/bin/kiosk")

	// With a root (and an identity naming a hub that is not there) the
	// updater runs its rounds: it got the hub's address from the agent's
	// 0700 directory, and the round fails only at the network.
	root := tufRoot(t)
	if err := os.MkdirAll(filepath.Join(m.Root, "usr/share/quartierhub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.Root, "usr/share/quartierhub/tuf-root.json"), root, 0o644); err != nil {
		t.Fatal(err)
	}
	do(ctx, t, m, "sh", "-c", `cat > /var/lib/quartierhub-kiosk/identity.json <<'E'
{"terminal_id":"T1","name":"t","quarter":"q","hub_url":"http://127.0.0.1:9","enrolled_at":"2026-12-07T00:00:00Z","ed25519_seed":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
E
chown quartierhub-kiosk: /var/lib/quartierhub-kiosk/identity.json && chmod 600 /var/lib/quartierhub-kiosk/identity.json`)
	// timesyncd's flag, as on a terminal whose clock is synchronised (a
	// container runs no timesyncd, and systemd-nspawn refuses adjtimex
	// to a container without CAP_SYS_TIME).
	do(ctx, t, m, "sh", "-c", "mkdir -p /run/systemd/timesync && touch /run/systemd/timesync/synchronized")
	start := time.Now()
	do(ctx, t, m, "systemctl", "start", unit)
	waitFor(t, "an update round that reached for the hub", 60*time.Second, func() (bool, string) {
		log, _ := m.Exec(ctx, "journalctl", "--no-pager", "-o", "cat", "-u", unit)
		return strings.Contains(log, "update round failed") && strings.Contains(log, "127.0.0.1:9"), log
	})
	t.Logf("updater's first round: %.1fs", time.Since(start).Seconds())
	log, _ := m.Exec(ctx, "journalctl", "--no-pager", "-o", "cat", "-u", unit)
	if strings.Contains(log, "permission denied") || strings.Contains(log, "operation not permitted") {
		t.Errorf("the sandbox refused the updater something:\n%s", log)
	}
	if got := show("ActiveState"); got != "active" {
		t.Errorf("%s with a root is %s", unit, got)
	}
	if st := strings.TrimSpace(do(ctx, t, m, "stat", "-c", "%U %a", "/var/lib/quartierhub-updater")); st != "root 755" {
		t.Errorf("/var/lib/quartierhub-updater: %s", st)
	}
	do(ctx, t, m, "systemctl", "stop", unit)

	// Under the unit's own sandbox: --check reads the units' states from
	// systemd and asks the agent over its socket, and systemctl restarts
	// the agent, as a switch and the health gate do.
	before := strings.TrimSpace(do(ctx, t, m, "systemctl", "show", "-P", "MainPID", "quartierhub-agent.service"))
	do(ctx, t, m, "sh", "-c", `mkdir -p /run/systemd/system/quartierhub-updater.service.d && cat > /run/systemd/system/quartierhub-updater.service.d/check.conf <<'E'
[Service]
Type=oneshot
Restart=no
ExecStart=
ExecStart=-/usr/bin/quartierhub-updater --check
ExecStart=/usr/bin/systemctl restart quartierhub-agent.service
E
systemctl daemon-reload`)
	if out, err := m.Exec(ctx, "systemctl", "start", unit); err != nil {
		status, _ := m.Exec(ctx, "journalctl", "--no-pager", "-o", "cat", "-n", "30", "-u", unit)
		t.Fatalf("the sandboxed check and restart: %v %s\n%s", err, out, status)
	}
	log, _ = m.Exec(ctx, "journalctl", "--no-pager", "-o", "cat", "-u", unit)
	t.Logf("--check in the unit's sandbox:\n%s", log[strings.LastIndex(log, "ok   pinned"):])
	for _, want := range []string{"ok   pinned TUF root", "ok   hub address http://127.0.0.1:9", "ok   unit quartierhub-agent.service"} {
		if !strings.Contains(log, want) {
			t.Errorf("--check under the sandbox lacks %q", want)
		}
	}
	// The agent answered (it cannot reach the made-up hub).
	if i := strings.Index(log, "agent healthy"); i < 0 || strings.Contains(log[i:], "no agent running") || strings.Contains(log[i:], "permission denied") {
		t.Errorf("the agent's socket was not reached from the sandbox")
	}
	if after := strings.TrimSpace(do(ctx, t, m, "systemctl", "show", "-P", "MainPID", "quartierhub-agent.service")); after == before {
		t.Errorf("systemctl restart from the updater's sandbox did not restart the agent (PID %s)", after)
	}
	do(ctx, t, m, "sh", "-c", "rm -r /run/systemd/system/quartierhub-updater.service.d && systemctl daemon-reload")

	// A release in current is what the agent runs after a restart; without
	// the link, the package again.
	do(ctx, t, m, "sh", "-c", `install -D -m 755 /usr/bin/kiosk /var/lib/quartierhub-updater/releases/9.9.9/bin/kiosk && ln -sfn releases/9.9.9 /var/lib/quartierhub-updater/current`)
	do(ctx, t, m, "systemctl", "restart", "quartierhub-agent.service")
	active(ctx, t, m, "quartierhub-agent.service")
	runs("/var/lib/quartierhub-updater/releases/9.9.9/bin/kiosk")
	do(ctx, t, m, "rm", "/var/lib/quartierhub-updater/current")
	do(ctx, t, m, "systemctl", "restart", "quartierhub-agent.service")
	active(ctx, t, m, "quartierhub-agent.service")
	runs("/usr/bin/kiosk")
	// Back as the package left it, for the steps after this one.
	do(ctx, t, m, "rm", "-f", "/usr/share/quartierhub/tuf-root.json", "/var/lib/quartierhub-kiosk/identity.json", "/run/systemd/timesync/synchronized")
	do(ctx, t, m, "rmdir", "/usr/share/quartierhub")
}

// tufRoot is a root.json signed by its one root key.
func tufRoot(t *testing.T) []byte {
	t.Helper()
	root := metadata.Root(time.Now().AddDate(1, 0, 0))
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		if err := root.Signed.AddKey(key, role); err != nil {
			t.Fatal(err)
		}
	}
	signer, err := signature.LoadSigner(priv, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Sign(signer); err != nil {
		t.Fatal(err)
	}
	data, err := root.ToBytes(true)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
