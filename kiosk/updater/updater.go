// Package updater is the terminal's software updater: it refreshes TUF
// metadata from the hub (github.com/theupdateframework/go-tuf/v2) against
// a root pinned at install, downloads the kiosk release the hub offers
// (the agent's OfferFile) when it is above the installed version and the
// floor, installs it beside the running one, switches the
// `current` link inside the maintenance window when no resident is in a
// session, restarts the kiosk's units and keeps the new release only if
// it passes a health gate for a trial period. A journal on disk, written
// before every step, lets a new process finish or undo whatever a power
// cut interrupted.
//
// Directory layout (Config.Dir, /var/lib/quartierhub-updater on a terminal):
//
//	journal.json          the journal (see Journal)
//	status.json           the state for the agent's heartbeat (see Status)
//	tuf/                  trusted TUF metadata
//	downloads/            verified artifacts and .partial downloads
//	releases/VERSION/     installed releases (bin/kiosk, manifest.json)
//	current -> releases/VERSION
//
// The kiosk's units start current/bin/kiosk when current exists and the
// packaged /usr/bin/kiosk otherwise; removing current is how a rollback
// to the packaged version is done.
package updater

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/theupdateframework/go-tuf/v2/metadata"
	"github.com/theupdateframework/go-tuf/v2/metadata/config"
	tufupdater "github.com/theupdateframework/go-tuf/v2/metadata/updater"
	"golang.org/x/time/rate"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// DefaultRootPath is where the kiosk package installs the pinned root.
const DefaultRootPath = "/usr/share/quartierhub/tuf-root.json"

// Product is the first element of the release targets' names.
const Product = "quartierhub-kiosk"

// TargetName is the TUF target name of a kiosk release.
func TargetName(version, arch string) string {
	return fmt.Sprintf("%s/%s/%s_%s_%s.tar.gz", Product, version, Product, version, arch)
}

// Errors callers tell apart.
var (
	ErrClockNotSynced = errors.New("updater: clock not synchronised; refusing to judge metadata expiry")
	ErrNotVerified    = errors.New("updater: artifact does not match its signed length and hashes")
)

// Clock is the updater's time; tests advance a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx ends.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Config configures an Updater.
type Config struct {
	Dir string // state directory
	// RepoURL is the TUF repository's base (RepoURL/metadata/…,
	// RepoURL/targets/…); "" (a terminal not enrolled yet) allows only
	// Recover.
	RepoURL  string
	RootPath string // pinned root.json; DefaultRootPath if ""
	// OfferPath is the agent's OfferFile; only the version offered there
	// is installed, in its window. "" means nothing is ever offered.
	OfferPath string
	// InstalledVersion is the packaged kiosk's version, which runs while
	// no current link exists.
	InstalledVersion string
	Arch             string   // runtime.GOARCH if ""
	Units            []string // restarted on a switch and watched by the gate
	// Window is the terminal's own maintenance window; an offer's window,
	// when it has one, must be open as well.
	Window          Window
	SessionLockPath string
	Trial           time.Duration // health gate length
	Poll            time.Duration // interval of gate checks and window waits
	Jitter          time.Duration // at most this long a random pause before downloading
	RateLimit       rate.Limit    // download bytes per second; 0 = unlimited
	Limits          Limits
	MaxTries        int // interrupted trials before a version counts as bad
	HTTPClient      *http.Client

	Clock       Clock
	Rand        func(n int64) int64 // uniform in [0, n)
	ClockSynced func(context.Context) (bool, error)
	Services    ServiceManager
	Health      Health
	Log         *slog.Logger

	// afterStep, set by tests, is called after each step is taken; an
	// error stops the updater there, as a kill would.
	afterStep func(step string) error
}

// Updater applies releases. It is not safe for concurrent use; one
// process owns Dir.
type Updater struct {
	cfg      Config
	progress float64
	// total and done are the target's signed length and the bytes of it
	// on disk, for the status.
	total, done int64
	// gate is true once the units were restarted into the target and
	// its health gate runs.
	gate bool
}

// New checks cfg and fills in defaults.
func New(cfg Config) (*Updater, error) {
	if cfg.Dir == "" {
		return nil, errors.New("updater: Dir is required")
	}
	if cfg.Services == nil || cfg.Health == nil || cfg.Rand == nil || cfg.ClockSynced == nil {
		return nil, errors.New("updater: Services, Health, Rand and ClockSynced are required")
	}
	if cfg.InstalledVersion != "" && !ValidVersion(cfg.InstalledVersion) {
		cfg.InstalledVersion = "" // a development build: any release is newer
	}
	if cfg.RootPath == "" {
		cfg.RootPath = DefaultRootPath
	}
	if cfg.Arch == "" {
		cfg.Arch = runtime.GOARCH
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Minute}
	}
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	if cfg.Trial <= 0 {
		cfg.Trial = 10 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 15 * time.Second
	}
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = 2
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{cfg.Dir, filepath.Join(cfg.Dir, "tuf"), filepath.Join(cfg.Dir, "downloads"), filepath.Join(cfg.Dir, "releases")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("updater: %w", err)
		}
	}
	return &Updater{cfg: cfg}, nil
}

func (u *Updater) journalPath() string { return filepath.Join(u.cfg.Dir, "journal.json") }
func (u *Updater) currentPath() string { return filepath.Join(u.cfg.Dir, "current") }
func (u *Updater) releaseDir(v string) string {
	return filepath.Join(u.cfg.Dir, "releases", v)
}

func (u *Updater) step(name string) error {
	if u.cfg.afterStep != nil {
		return u.cfg.afterStep(name)
	}
	return nil
}

// record writes the journal, then the status the agent reports.
func (u *Updater) record(j Journal) error {
	if err := writeJournal(u.journalPath(), j); err != nil {
		return err
	}
	return u.writeStatus(j)
}

// CurrentVersion is the version current points at, or the installed
// version when there is no current link.
func (u *Updater) CurrentVersion() (string, error) {
	dest, err := os.Readlink(u.currentPath())
	if errors.Is(err, os.ErrNotExist) {
		return u.cfg.InstalledVersion, nil
	}
	if err != nil {
		return "", fmt.Errorf("updater: %w", err)
	}
	v := filepath.Base(dest)
	if !ValidVersion(v) {
		return "", fmt.Errorf("updater: current points at %q", dest)
	}
	return v, nil
}

// switchTo points current at releases/v atomically, or removes it when v
// is "" (the packaged version).
func (u *Updater) switchTo(v string) error {
	if v == "" {
		if err := os.Remove(u.currentPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("updater: %w", err)
		}
	} else if err := renameio.Symlink(path.Join("releases", v), u.currentPath()); err != nil {
		return fmt.Errorf("updater: switch to %s: %w", v, err)
	}
	return atomicfile.SyncDir(u.cfg.Dir)
}

// Result says what RunOnce did.
type Result struct {
	Outcome string // "up-to-date", "no-offer", "committed", "rolled-back"
	Version string
}

// Run recovers, then checks for updates every interval until ctx ends.
// Errors are logged and the next round tries again.
func (u *Updater) Run(ctx context.Context, interval time.Duration) error {
	for {
		res, err := u.RunOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			u.cfg.Log.Warn("update round failed", "err", err)
		} else {
			u.cfg.Log.Info("update round", "outcome", res.Outcome, "version", res.Version)
		}
		if err := u.cfg.Clock.Sleep(ctx, interval); err != nil {
			return err
		}
	}
}

// RunOnce finishes whatever the journal says was interrupted, refreshes
// the TUF metadata and, if the hub offers a release the terminal may
// install, applies it.
func (u *Updater) RunOnce(ctx context.Context) (Result, error) {
	if err := u.Recover(ctx); err != nil {
		return Result{}, err
	}
	j, err := readJournal(u.journalPath())
	if err != nil {
		return Result{}, err
	}
	synced, err := u.cfg.ClockSynced(ctx)
	if err != nil {
		return Result{}, err
	}
	if !synced {
		return Result{}, u.fail(j, ErrClockNotSynced)
	}
	running, err := u.CurrentVersion()
	if err != nil {
		return Result{}, err
	}
	// Metadata is refreshed even without an offer: a freeze or replay
	// then shows in the status before anything is offered.
	tuf, err := u.refresh(ctx)
	if err != nil {
		return Result{}, u.fail(j, err)
	}
	offer, err := u.readOffer()
	if errors.Is(err, ErrNoOffer) {
		j.LastError = ""
		return Result{Outcome: "no-offer", Version: running}, u.record(j)
	}
	if err != nil {
		j.Last = LastFailed
		return Result{}, u.fail(j, err)
	}
	target, err := u.choose(tuf.GetTopLevelTargets(), offer.Version, running, j)
	if errors.Is(err, errNotNewer) {
		j.LastError = ""
		return Result{Outcome: "up-to-date", Version: running}, u.record(j)
	}
	if err != nil {
		j.Last = LastFailed
		return Result{}, u.fail(j, err)
	}
	u.cfg.Log.Info("installing the offered release", "version", offer.Version, "rollout", offer.RolloutID)
	return u.apply(ctx, tuf, target, offer.Version, j)
}

// fail records err as the journal's last error and returns it.
func (u *Updater) fail(j Journal, err error) error {
	j.LastError = err.Error()
	if rerr := u.record(j); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

func (u *Updater) refresh(ctx context.Context) (*tufupdater.Updater, error) {
	if u.cfg.RepoURL == "" {
		return nil, errors.New("updater: no repository URL (terminal not enrolled)")
	}
	root, err := u.trustedRoot()
	if err != nil {
		return nil, err
	}
	cfg, err := config.New(strings.TrimSuffix(u.cfg.RepoURL, "/")+"/metadata", root)
	if err != nil {
		return nil, fmt.Errorf("updater: tuf: %w", err)
	}
	cfg.LocalMetadataDir = filepath.Join(u.cfg.Dir, "tuf")
	cfg.LocalTargetsDir = filepath.Join(u.cfg.Dir, "downloads")
	cfg.RemoteTargetsURL = strings.TrimSuffix(u.cfg.RepoURL, "/") + "/targets"
	cfg.Fetcher = metadataFetcher{ctx: ctx, client: u.cfg.HTTPClient}
	up, err := tufupdater.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("updater: tuf: %w", err)
	}
	// Expiry is judged against the injected clock, which the caller has
	// checked is synchronised.
	up.UnsafeSetRefTime(u.cfg.Clock.Now().UTC())
	if err := up.Refresh(); err != nil {
		return nil, fmt.Errorf("updater: tuf refresh: %w", err)
	}
	return up, nil
}

// trustedRoot is the newer of the pinned root and the root the updater
// trusted last (go-tuf persists every root it verified; starting from the
// pinned one each time would undo key rotations and let revoked keys
// sign again until the client walked the chain).
func (u *Updater) trustedRoot() ([]byte, error) {
	pinned, err := os.ReadFile(u.cfg.RootPath)
	if err != nil {
		return nil, fmt.Errorf("updater: pinned root: %w", err)
	}
	cached, err := os.ReadFile(filepath.Join(u.cfg.Dir, "tuf", "root.json"))
	if err != nil {
		return pinned, nil
	}
	if rootVersion(cached) > rootVersion(pinned) {
		return cached, nil
	}
	return pinned, nil
}

func rootVersion(data []byte) int64 {
	var r struct {
		Signed struct {
			Version int64 `json:"version"`
		} `json:"signed"`
	}
	if json.Unmarshal(data, &r) != nil {
		return 0
	}
	return r.Signed.Version
}

type releaseCustom struct {
	Version    string `json:"version"`
	MinVersion string `json:"min_version"`
}

// errNotNewer: the offered version is not one to install here (at or
// below the running version or the floor, or failed here before). That
// is not a failure: the hub may offer it to terminals that lag behind.
var errNotNewer = errors.New("updater: offered version is not above the running version and the floor, or failed here before")

// choose returns the signed target of the offered version v if it may be
// installed from running: above running and the floor, not bad, its
// signed custom data agreeing, its minimum version met.
func (u *Updater) choose(targets map[string]*metadata.TargetFiles, v, running string, j Journal) (*metadata.TargetFiles, error) {
	lowest := running
	if compareVersions(j.Floor, lowest) > 0 {
		lowest = j.Floor
	}
	if compareVersions(v, lowest) <= 0 || j.isBad(v) {
		return nil, errNotNewer
	}
	name := TargetName(v, u.cfg.Arch)
	tf, ok := targets[name]
	if !ok {
		return nil, fmt.Errorf("updater: offered %s is not a signed target", name)
	}
	if tf.Custom != nil {
		var c releaseCustom
		if json.Unmarshal(*tf.Custom, &c) != nil || (c.Version != "" && c.Version != v) {
			return nil, fmt.Errorf("updater: signed target %s names another version", name)
		}
		if c.MinVersion != "" && (!ValidVersion(c.MinVersion) || compareVersions(running, c.MinVersion) < 0) {
			return nil, fmt.Errorf("updater: %s needs at least %.64s installed, running %s", v, c.MinVersion, running)
		}
	}
	return tf, nil
}

func (u *Updater) apply(ctx context.Context, tuf *tufupdater.Updater, target *metadata.TargetFiles, v string, j Journal) (Result, error) {
	// Spread a fleet's downloads over the jitter interval.
	if u.cfg.Jitter > 0 {
		if err := u.cfg.Clock.Sleep(ctx, time.Duration(u.cfg.Rand(int64(u.cfg.Jitter)))); err != nil {
			return Result{}, err
		}
	}
	if j.To != v {
		j.Tries = 0
	}
	j.State, j.To, j.LastError, j.Last = StateDownloading, v, "", ""
	u.progress, u.total, u.done, u.gate = 0, target.Length, 0, false
	if sum, ok := target.Hashes["sha256"]; ok {
		if fi, err := os.Stat(filepath.Join(u.cfg.Dir, "downloads", hex.EncodeToString(sum)+".tar.gz.partial")); err == nil {
			u.done = min(fi.Size(), target.Length)
		}
	}
	if err := u.record(j); err != nil {
		return Result{}, err
	}
	if err := u.step("download"); err != nil {
		return Result{}, err
	}
	// Staged in an earlier round whose offer was withdrawn before the
	// switch: releases/v only ever appears verified and complete.
	if _, err := os.Stat(u.releaseDir(v)); err == nil {
		u.progress, u.done = 1, target.Length
		return u.install(ctx, v, j)
	}
	artifact, err := u.fetch(ctx, target)
	if err != nil {
		j.State = StateIdle
		// An unreachable hub is tried again; a wrong artifact is a failure
		// the hub's rollout should count.
		if errors.Is(err, ErrNotVerified) {
			j.Last = LastFailed
		}
		return Result{}, u.fail(j, err)
	}
	u.progress, u.done = 1, target.Length
	j.State = StateStaging
	if err := u.record(j); err != nil {
		return Result{}, err
	}
	if err := u.step("stage"); err != nil {
		return Result{}, err
	}
	if err := u.stage(artifact, v); err != nil {
		j.State, j.Last = StateIdle, LastFailed
		j.markBad(v) // signed yet unusable: it will not improve
		return Result{}, u.fail(j, err)
	}
	return u.install(ctx, v, j)
}

// install waits for the window, switches to the staged release v and
// holds its health gate.
func (u *Updater) install(ctx context.Context, v string, j Journal) (Result, error) {
	j.State = StateWaiting
	if err := u.record(j); err != nil {
		return Result{}, err
	}
	if err := u.step("wait"); err != nil {
		return Result{}, err
	}
	release, err := u.waitForWindow(ctx, v)
	if errors.Is(err, ErrNoOffer) {
		// Withdrawn (rollout paused or stopped) before anything switched:
		// the staged release waits in releases/ for a new offer.
		j.State = StateIdle
		running, _ := u.CurrentVersion()
		return Result{Outcome: "no-offer", Version: running}, u.record(j)
	}
	if err != nil {
		return Result{}, err
	}
	from, err := u.CurrentVersion()
	if err != nil {
		release()
		return Result{}, err
	}
	if _, err := os.Readlink(u.currentPath()); errors.Is(err, os.ErrNotExist) {
		from = "" // the packaged binary
	}
	j.State, j.From, j.Tries = StateTrying, from, j.Tries+1
	j.Deadline = u.cfg.Clock.Now().Add(u.cfg.Trial).UTC()
	if err := u.record(j); err != nil {
		release()
		return Result{}, err
	}
	if err := u.step("trying"); err != nil {
		release()
		return Result{}, err
	}
	if err := u.switchTo(v); err != nil {
		release()
		return Result{}, u.rollBack(ctx, j, err)
	}
	if err := u.step("switched"); err != nil {
		release()
		return Result{}, err
	}
	err = u.cfg.Services.Restart(ctx, u.cfg.Units)
	// The session lock is held only across the switch and the restart:
	// a session may start in the new window during its trial.
	release()
	if err != nil {
		return Result{}, u.rollBack(ctx, j, err)
	}
	u.gate = true
	if err := u.writeStatus(j); err != nil {
		return Result{}, err
	}
	if err := u.step("restarted"); err != nil {
		return Result{}, err
	}
	if err := u.healthGate(ctx, j); err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{Outcome: "rolled-back", Version: v}, u.rollBack(ctx, j, err)
	}
	if err := u.commit(j); err != nil {
		return Result{}, err
	}
	return Result{Outcome: "committed", Version: v}, nil
}

// fetch downloads the target resumably and verifies it with go-tuf.
func (u *Updater) fetch(ctx context.Context, target *metadata.TargetFiles) (string, error) {
	sum, ok := target.Hashes["sha256"]
	if !ok {
		return "", errors.New("updater: target has no sha256 hash")
	}
	hexSum := hex.EncodeToString(sum)
	final := filepath.Join(u.cfg.Dir, "downloads", hexSum+".tar.gz")
	partial := final + ".partial"
	if data, err := os.ReadFile(final); err == nil && target.VerifyLengthHashes(data) == nil {
		return final, nil
	}
	dir, base := path.Split(target.Path)
	url := strings.TrimSuffix(u.cfg.RepoURL, "/") + "/targets/" + dir + hexSum + "." + base
	var limiter *rate.Limiter
	if u.cfg.RateLimit > 0 {
		limiter = rate.NewLimiter(u.cfg.RateLimit, max(32<<10, int(u.cfg.RateLimit)))
	}
	if err := download(ctx, u.cfg.HTTPClient, limiter, url, partial, target.Length); err != nil {
		return "", err
	}
	data, err := os.ReadFile(partial)
	if err != nil {
		return "", fmt.Errorf("updater: %w", err)
	}
	if err := target.VerifyLengthHashes(data); err != nil {
		// A complete file that fails cannot become right by resuming.
		if int64(len(data)) >= target.Length {
			os.Remove(partial)
		}
		return "", fmt.Errorf("%w: %w", ErrNotVerified, err)
	}
	if err := os.Rename(partial, final); err != nil {
		return "", fmt.Errorf("updater: %w", err)
	}
	return final, atomicfile.SyncDir(filepath.Dir(final))
}

// stage installs the verified artifact as releases/v.
func (u *Updater) stage(artifact, v string) error {
	dest := u.releaseDir(v)
	if _, err := os.Stat(dest); err == nil {
		return nil // renamed into place complete by an earlier round
	}
	tmp := dest + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("updater: %w", err)
	}
	f, err := os.Open(artifact)
	if err != nil {
		return fmt.Errorf("updater: %w", err)
	}
	defer f.Close()
	man, err := Extract(f, tmp, u.cfg.Limits)
	if err == nil && man.Version != v {
		err = fmt.Errorf("%w: manifest says %s, target %s", ErrUnsafeArchive, man.Version, v)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("updater: %w", err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(dest)); err != nil {
		return err
	}
	os.Remove(artifact)
	return nil
}

// waitForWindow returns once both the terminal's and the offer's windows
// are open and no session runs, holding the session lock exclusively. The
// offer is read again on every check: ErrNoOffer if it no longer offers
// v (a rollout paused or stopped), or has become unreadable.
func (u *Updater) waitForWindow(ctx context.Context, v string) (func(), error) {
	for {
		offer, err := u.readOffer()
		if err != nil || offer.Version != v {
			if err != nil && !errors.Is(err, ErrNoOffer) {
				u.cfg.Log.Warn("offer unreadable while waiting; not installing", "err", err)
			}
			return nil, ErrNoOffer
		}
		now := u.cfg.Clock.Now()
		if u.cfg.Window.Open(now) && (offer.Window == nil || offer.Window.Open(now)) {
			if u.cfg.SessionLockPath == "" {
				return func() {}, nil
			}
			release, ok, err := SessionLock{Path: u.cfg.SessionLockPath}.TryExclusive()
			if err != nil {
				return nil, err
			}
			if ok {
				return release, nil
			}
		}
		if err := u.cfg.Clock.Sleep(ctx, u.cfg.Poll); err != nil {
			return nil, err
		}
	}
}

// healthGate watches the units and the agent until the trial's deadline:
// a unit that restarts or fails ends it at once; at the deadline every
// unit must be active and the agent must answer, run v and reach the hub.
func (u *Updater) healthGate(ctx context.Context, j Journal) error {
	base := map[string]int{}
	for _, unit := range u.cfg.Units {
		st, err := u.cfg.Services.Status(ctx, unit)
		if err != nil {
			return err
		}
		base[unit] = st.NRestarts
	}
	for {
		for _, unit := range u.cfg.Units {
			st, err := u.cfg.Services.Status(ctx, unit)
			if err != nil {
				return err
			}
			if st.NRestarts != base[unit] {
				return fmt.Errorf("updater: health gate: %s restarted (%d -> %d)", unit, base[unit], st.NRestarts)
			}
			if st.ActiveState == "failed" {
				return fmt.Errorf("updater: health gate: %s failed", unit)
			}
		}
		if !u.cfg.Clock.Now().Before(j.Deadline) {
			break
		}
		if err := u.cfg.Clock.Sleep(ctx, min(u.cfg.Poll, j.Deadline.Sub(u.cfg.Clock.Now()))); err != nil {
			return err
		}
	}
	for _, unit := range u.cfg.Units {
		st, err := u.cfg.Services.Status(ctx, unit)
		if err != nil {
			return err
		}
		if st.ActiveState != "active" {
			return fmt.Errorf("updater: health gate: %s is %s at the end of the trial", unit, st.ActiveState)
		}
	}
	if err := u.cfg.Health.AgentHealthy(ctx, j.To); err != nil {
		return fmt.Errorf("updater: health gate: %w", err)
	}
	return nil
}

func (u *Updater) commit(j Journal) error {
	j.State, j.Floor, j.Tries, j.Last = StateCommitted, j.To, 0, LastCommitted
	if err := u.record(j); err != nil {
		return err
	}
	if err := u.step("committed"); err != nil {
		return err
	}
	return u.finishCommit(j)
}

// finishCommit makes sure current is To, deletes releases other than To
// and From, and goes idle. It is safe to repeat.
func (u *Updater) finishCommit(j Journal) error {
	if cur, _ := os.Readlink(u.currentPath()); cur != path.Join("releases", j.To) {
		if err := u.switchTo(j.To); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(filepath.Join(u.cfg.Dir, "releases"))
	if err != nil {
		return fmt.Errorf("updater: %w", err)
	}
	for _, e := range entries {
		if e.Name() != j.To && e.Name() != j.From {
			if err := os.RemoveAll(filepath.Join(u.cfg.Dir, "releases", e.Name())); err != nil {
				return fmt.Errorf("updater: %w", err)
			}
		}
	}
	j.State, j.Deadline, j.LastError = StateIdle, time.Time{}, ""
	return u.record(j)
}

// rollBack records To as bad, points current back at From and restarts
// the units. cause is returned (with any failure of the rollback itself).
func (u *Updater) rollBack(ctx context.Context, j Journal, cause error) error {
	j.State, j.Last = StateRollingBack, LastRolledBack
	j.markBad(j.To)
	j.LastError = cause.Error()
	if err := u.record(j); err != nil {
		return errors.Join(cause, err)
	}
	if err := u.step("rolling-back"); err != nil {
		return err
	}
	if err := u.finishRollBack(ctx, j); err != nil {
		return errors.Join(cause, err)
	}
	u.cfg.Log.Warn("release rolled back", "version", j.To, "back_to", j.From, "err", cause)
	return cause
}

func (u *Updater) finishRollBack(ctx context.Context, j Journal) error {
	if j.From != "" {
		if _, err := os.Stat(filepath.Join(u.releaseDir(j.From), filepath.FromSlash(BinaryName))); err != nil {
			// The previous release is gone; the packaged binary is what is left.
			j.From = ""
		}
	}
	if err := u.switchTo(j.From); err != nil {
		return err
	}
	if err := u.cfg.Services.Restart(ctx, u.cfg.Units); err != nil {
		return err
	}
	if j.To != j.From {
		if err := os.RemoveAll(u.releaseDir(j.To)); err != nil {
			return fmt.Errorf("updater: %w", err)
		}
	}
	j.State, j.Deadline, j.Tries = StateIdle, time.Time{}, 0
	return u.record(j)
}

// Recover finishes or undoes what the journal says was in progress when
// the previous process stopped. A trial that was interrupted is rolled
// back; the version is tried again, unless it was interrupted MaxTries
// times (a release that kills the terminal is then marked bad).
func (u *Updater) Recover(ctx context.Context) error {
	j, err := readJournal(u.journalPath())
	if err != nil {
		return err
	}
	// Half-extracted releases are never used; remove them.
	tmps, _ := filepath.Glob(filepath.Join(u.cfg.Dir, "releases", "*.tmp"))
	for _, t := range tmps {
		if err := os.RemoveAll(t); err != nil {
			return fmt.Errorf("updater: %w", err)
		}
	}
	switch j.State {
	case StateIdle:
		return nil
	case StateDownloading, StateStaging, StateWaiting:
		// current was not touched; the download resumes next round.
		j.State = StateIdle
		return u.record(j)
	case StateCommitted:
		return u.finishCommit(j)
	case StateRollingBack:
		return u.finishRollBack(ctx, j)
	case StateTrying:
		u.cfg.Log.Warn("trial interrupted; rolling back", "version", j.To, "tries", j.Tries)
		j.LastError, j.Last = "trial interrupted", LastRolledBack
		if j.Tries >= u.cfg.MaxTries {
			j.markBad(j.To)
		}
		tries := j.Tries
		j.State = StateRollingBack
		if err := u.record(j); err != nil {
			return err
		}
		// finishRollBack resets Tries; an interrupted trial keeps its count.
		if err := u.finishRollBackKeeping(ctx, j, tries); err != nil {
			return err
		}
		return nil
	}
	return fmt.Errorf("updater: journal state %q", j.State)
}

// PreferPackaged hands the terminal back to the packaged kiosk when a
// package upgrade made it at least as new as the release current points
// at: current is removed and the units restarted into the package. The
// floor stays. Nothing happens while an update is in progress.
func (u *Updater) PreferPackaged(ctx context.Context) (bool, error) {
	j, err := readJournal(u.journalPath())
	if err != nil || j.State != StateIdle || u.cfg.InstalledVersion == "" {
		return false, err
	}
	link, err := os.Readlink(u.currentPath())
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("updater: %w", err)
	}
	cur := filepath.Base(link)
	if ValidVersion(cur) && compareVersions(cur, u.cfg.InstalledVersion) > 0 {
		return false, nil
	}
	u.cfg.Log.Info("the packaged kiosk is as new as the installed release; running the package", "package", u.cfg.InstalledVersion, "release", cur)
	if err := u.switchTo(""); err != nil {
		return false, err
	}
	if err := u.cfg.Services.Restart(ctx, u.cfg.Units); err != nil {
		return true, err
	}
	return true, u.record(j)
}

func (u *Updater) finishRollBackKeeping(ctx context.Context, j Journal, tries int) error {
	if err := u.finishRollBack(ctx, j); err != nil {
		return err
	}
	j2, err := readJournal(u.journalPath())
	if err != nil {
		return err
	}
	j2.Tries = tries
	return u.record(j2)
}

// Status is what the agent reports of the updater (kiosk/updater/handoff).
type Status = handoff.Status

// StatusFile is the name of the status file in the updater's directory.
const StatusFile = handoff.StatusFile

func (u *Updater) writeStatus(j Journal) error {
	running, err := u.CurrentVersion()
	if err != nil {
		running = ""
	}
	st := Status{State: j.State, Running: running, Target: j.To, Progress: u.progress, Last: j.Last, Bad: j.Bad,
		LastError: j.LastError, Updated: u.cfg.Clock.Now().UTC()}
	if j.State == StateIdle && j.Last == "" {
		st.Target = ""
	}
	switch j.State {
	case StateDownloading, StateStaging:
		st.TotalBytes, st.DoneBytes = u.total, u.done
	case StateTrying:
		st.Gate = u.gate
	}
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("updater: status: %w", err)
	}
	// World-readable: the agent runs as its own user.
	return atomicfile.WriteFile(filepath.Join(u.cfg.Dir, StatusFile), data, 0o644)
}
