// Package update runs the terminal's updater end to end against a real
// hub, in make test: the real hub-server with its TUF repository made
// through its own command line (release keys, init, sign, add) and a
// rollout started from its console over HTTP, a real enrolled `kiosk
// agent` started through the packaged kiosk-current wrapper, and the real
// quartierhub-updater binary run a round at a time (--once). Releases are
// real kiosk builds packed by provisioning/release.
//
// Without a booted systemd, the units the updater restarts and watches
// are plain processes behind tests/internal/fakeunits' systemctl (no
// READY or watchdog: the health gate sees a unit fail when its process
// dies, and the agent's own check as on a terminal). A small proxy in
// front of the hub is the network an attacker controls: it serves the
// attacker's files for the TUF attacks.
package update
