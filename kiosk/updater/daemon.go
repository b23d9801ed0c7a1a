package updater

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
)

// RepoPath is where a hub serves its TUF repository.
const RepoPath = "/tuf/v1"

// Daemon is the updater service of a terminal: the engine, with the hub's
// address, the offer, the session lock and the agent taken from the
// agent's data directory.
type Daemon struct {
	// Config is the engine's; RepoURL is ignored (it comes from the
	// terminal's identity each round, so an enrolment takes effect
	// without a restart); OfferPath, SessionLockPath and Health default to
	// the agent's in KioskDataDir.
	Config Config
	// KioskDataDir is the agent's data directory (identity.json,
	// update-offer.json, session.lock, agent.sock).
	KioskDataDir string
	// Interval between rounds; default 5 min (an offer reaches the
	// agent with a heartbeat and waits at most this long).
	Interval time.Duration
	// Once runs a single round after the recovery and returns its error
	// (an administrator's manual check, and the tests under tests/update).
	Once bool
	// PackageVersion is the version string the packaged kiosk reports
	// (its Debian version), which Check expects of the agent while no
	// release is current.
	PackageVersion string
}

// Run finishes whatever the journal says was interrupted, then runs a
// round every Interval until ctx ends. A round's failure is logged and
// retried; Run returns only ctx's error or a configuration error (or,
// with Once, the round's).
func (d Daemon) Run(ctx context.Context) error {
	if d.KioskDataDir == "" {
		return errors.New("updater: KioskDataDir is required")
	}
	if d.Interval <= 0 {
		d.Interval = 5 * time.Minute
	}
	cfg := d.Config
	if cfg.OfferPath == "" {
		cfg.OfferPath = filepath.Join(d.KioskDataDir, OfferFile)
	}
	if cfg.SessionLockPath == "" {
		cfg.SessionLockPath = filepath.Join(d.KioskDataDir, session.LockFile)
	}
	if cfg.Health == nil {
		cfg.Health = AgentCheck{DataDir: d.KioskDataDir}
	}
	cfg.RepoURL = ""
	u, err := New(cfg)
	if err != nil {
		return err
	}
	log, clock := u.cfg.Log, u.cfg.Clock
	// Before anything else: a power cut in the middle of a switch must be
	// repaired even on a terminal that cannot reach its hub.
	if err := u.Recover(ctx); err != nil {
		log.Warn("recovery failed; tried again next round", "err", err)
	}
	if _, err := u.PreferPackaged(ctx); err != nil {
		log.Warn("could not hand back to the packaged kiosk", "err", err)
	}
	for {
		hub, err := HubURL(d.KioskDataDir)
		switch {
		case err != nil:
			log.Info("no hub to update from", "err", err)
		default:
			cfg.RepoURL = hub + RepoPath
			u, err := New(cfg)
			if err != nil {
				return err
			}
			res, err := u.RunOnce(ctx)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				log.Warn("update round failed", "err", err)
			} else {
				log.Info("update round", "outcome", res.Outcome, "version", res.Version)
			}
			if d.Once {
				return err
			}
		}
		if d.Once {
			return err
		}
		if err := clock.Sleep(ctx, d.Interval); err != nil {
			return err
		}
	}
}

// maxIdentitySize bounds the identity file read for its hub URL.
const maxIdentitySize = 64 << 10

// HubURL returns the hub's base URL from the terminal's identity in the
// agent's data directory (only the hub_url field is read; the key is
// not the updater's business).
func HubURL(kioskDataDir string) (string, error) {
	f, err := os.Open(filepath.Join(kioskDataDir, "identity.json"))
	if err != nil {
		return "", fmt.Errorf("updater: identity: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxIdentitySize+1))
	if err != nil {
		return "", fmt.Errorf("updater: identity: %w", err)
	}
	if len(data) > maxIdentitySize {
		return "", errors.New("updater: identity: too large")
	}
	var id struct {
		HubURL string `json:"hub_url"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&id); err != nil {
		return "", fmt.Errorf("updater: identity: %w", err)
	}
	u, err := url.Parse(id.HubURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("updater: identity: hub_url %.200q is not an http(s) URL", id.HubURL)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// AgentCheck is the health gate's view of the agent, through its local
// API socket in DataDir: it must answer, run the version wanted, be
// enrolled, reach its hub, and its last heartbeat (one at least since it
// started) must have been answered.
type AgentCheck struct{ DataDir string }

// AgentHealthy implements Health.
func (c AgentCheck) AgentHealthy(ctx context.Context, want string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := localapi.NewClient(c.DataDir).Status(ctx)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	switch {
	case st.Version != want:
		return fmt.Errorf("agent runs %.64q, want %s", st.Version, want)
	case !st.Terminal.Enrolled:
		return errors.New("agent: not enrolled")
	case st.Sync.Unauthorized:
		return errors.New("agent: the hub refuses the terminal")
	case !st.Sync.HubReachable:
		return fmt.Errorf("agent: hub not reachable: %.200s", st.Sync.LastError)
	case st.Fleet == nil || st.Fleet.LastHeartbeat.IsZero():
		return errors.New("agent: no heartbeat reached the hub since it started")
	case st.Fleet.HeartbeatError != "":
		return fmt.Errorf("agent: heartbeat failing: %.200s", st.Fleet.HeartbeatError)
	}
	return nil
}

// CheckItem is one thing the updater depends on and whether it holds.
type CheckItem struct {
	What string
	Err  error
}

// Check reports, for an administrator (`quartierhub-updater --check`),
// whether what the updater needs is there: the pinned root, the hub's
// address, a synchronised clock, the units it restarts, and the agent's
// answer as the health gate would ask it (for the version running).
// It changes nothing.
func (d Daemon) Check(ctx context.Context) []CheckItem {
	cfg := d.Config
	var items []CheckItem
	add := func(what string, err error) { items = append(items, CheckItem{What: what, Err: err}) }
	root := cfg.RootPath
	if root == "" {
		root = DefaultRootPath
	}
	_, err := os.Stat(root)
	add("pinned TUF root "+root, err)
	hub, err := HubURL(d.KioskDataDir)
	add("hub address "+hub, err)
	if cfg.ClockSynced != nil {
		synced, err := cfg.ClockSynced(ctx)
		if err == nil && !synced {
			err = ErrClockNotSynced
		}
		add("clock synchronised", err)
	}
	if cfg.Services != nil {
		for _, unit := range cfg.Units {
			st, err := cfg.Services.Status(ctx, unit)
			if err == nil && st.ActiveState != "active" {
				err = fmt.Errorf("%s is %s", unit, st.ActiveState)
			}
			add("unit "+unit, err)
		}
	}
	u, err := New(Config{Dir: cfg.Dir, InstalledVersion: cfg.InstalledVersion, Services: cfg.Services, Health: AgentCheck{}, Rand: func(int64) int64 { return 0 },
		ClockSynced: func(context.Context) (bool, error) { return true, nil }})
	running := ""
	if err == nil {
		running, err = u.CurrentVersion()
	}
	if _, lerr := os.Lstat(filepath.Join(cfg.Dir, "current")); errors.Is(lerr, os.ErrNotExist) && d.PackageVersion != "" {
		running = d.PackageVersion
	}
	if err == nil {
		err = AgentCheck{DataDir: d.KioskDataDir}.AgentHealthy(ctx, running)
	}
	add("agent healthy, running "+running, err)
	return items
}
