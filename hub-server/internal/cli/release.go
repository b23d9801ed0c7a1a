package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo"
	"github.com/quartierhub/quartierhub/hub-server/internal/tufrepo/tufhttp"
)

// The release commands publish kiosk releases as TUF targets (package
// tufrepo). Who runs which, and where, follows the keys: keys and sign
// run offline where the root and targets keys are; init, add and list
// run on the hub, which holds only the snapshot and timestamp keys.

// plainFlags is a flag set for a command that opens no store.
func plainFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parsePlain(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpError{fs}
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// releaseKeys is the offline key ceremony.
func releaseKeys(args []string, o Opts) error {
	fs := plainFlags("release keys")
	out := fs.String("out", "", "new directory for the keys and the first metadata (must not exist)")
	if err := parsePlain(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"release keys: --out DIR is required"}
	}
	if err := tufrepo.Ceremony(*out, o.Now(), o.Rand); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("release keys: %s exists already; the ceremony writes only into a new directory, so no key in use is ever replaced", *out)
		}
		return err
	}
	p := func(f string) string { return filepath.Join(*out, f) }
	_, err := fmt.Fprintf(o.Stdout, `keys and first metadata written to %s. What to do with each file:
  %s, %s, %s
      root keys, any 2 of 3 sign a new root: each to its own offline medium (a USB stick
      in a different safe, different holders); then delete them here
  %s
      the release signer's key (release sign): to the signer's offline medium; then delete it here
  %s, %s
      the hub's online keys: copy to the hub for release init, then delete them here
  %s
      the trusted root: to the hub for release init, and pinned on every terminal
      (/usr/share/quartierhub/tuf-root.json, which the updater reads); keep a copy with the signer
  %s
      the first (empty) release list, signed: to the hub for release init, and to the
      signer as --previous for the first release
next, on the hub:
  hub-server release init --data HUBDIR --root root.json --targets targets.json --snapshot-key snapshot.key --timestamp-key timestamp.key
`, *out, p(tufrepo.RootKeyFile(1)), p(tufrepo.RootKeyFile(2)), p(tufrepo.RootKeyFile(3)), p(tufrepo.TargetsKeyFile),
		p(tufrepo.SnapshotKeyFile), p(tufrepo.TimestampKeyFile), p(tufrepo.RootFile), p(tufrepo.FirstTargetsFile))
	return err
}

// keysDir checks that a hub command that signs knows the data directory
// holding the online keys (also with --db).
func keysDir(cmd string, data *storeLoc) error {
	if data.DataDir == "" {
		return usageError{cmd + ": --data HUBDIR is required: the hub's online TUF keys live in HUBDIR/tuf (also with --db)"}
	}
	return nil
}

// readFile reads a file of at most limit bytes.
func readFile(what, path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes", what, path, limit)
	}
	return b, nil
}

// releaseInit sets up the hub's repository from the ceremony's files.
func releaseInit(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("release init")
	rootFile := fs.String("root", "", "the ceremony's root.json")
	targetsFile := fs.String("targets", "", "the ceremony's targets.json")
	snapKey := fs.String("snapshot-key", "", "the ceremony's snapshot.key (copied to HUBDIR/tuf)")
	stampKey := fs.String("timestamp-key", "", "the ceremony's timestamp.key (copied to HUBDIR/tuf)")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *rootFile == "" || *targetsFile == "" || *snapKey == "" || *stampKey == "" {
		return usageError{"release init: --root, --targets, --snapshot-key and --timestamp-key are required"}
	}
	if err := keysDir("release init", data); err != nil {
		return err
	}
	root, err := readFile("release init: root", *rootFile, tufrepo.MaxMetadataBytes)
	if err != nil {
		return err
	}
	targets, err := readFile("release init: targets", *targetsFile, tufrepo.MaxMetadataBytes)
	if err != nil {
		return err
	}
	var keys tufrepo.OnlineKeys
	if keys.Snapshot, err = tufrepo.ReadKey(*snapKey); err != nil {
		return err
	}
	if keys.Timestamp, err = tufrepo.ReadKey(*stampKey); err != nil {
		return err
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	now := o.Now()
	err = tufrepo.New(st, keys).Init(ctx, root, targets, now)
	switch {
	case errors.Is(err, tufrepo.ErrInitialised):
		// Init may have succeeded before the keys could be installed:
		// install them if the published root is this one.
		pub, perr := st.TUFMetadata(ctx, metadata.ROOT, 1)
		if perr != nil || !bytes.Equal(pub.Body, root) {
			return errors.New("release init: the hub's repository is initialised already, with another root.json")
		}
	case err != nil:
		return fmt.Errorf("release init: %w", err)
	default:
		if err := st.AppendAudit(ctx, store.Audit{At: now, Actor: o.Actor, Action: "release.init", Subject: "tuf:root",
			Detail: fmt.Sprintf("root.json sha256 %s", sha256Hex(root))}); err != nil {
			return err
		}
	}
	if err := tufrepo.InstallOnlineKeys(data.DataDir, *snapKey, *stampKey); err != nil {
		return fmt.Errorf("release init: %w", err)
	}
	_, err = fmt.Fprintf(o.Stdout, `TUF repository initialised; online keys installed in %s.
A running hub re-signs the timestamp (valid %s) within the hour; no restart needed.
Delete snapshot.key and timestamp.key from the medium they came on.
Terminals read it at <hub URL>%s
`, tufrepo.KeyDir(data.DataDir), tufrepo.TimestampLifetime, tufhttp.Prefix)
	return err
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// releaseSign signs a new targets.json offline.
func releaseSign(ctx context.Context, args []string, o Opts) error {
	fs := plainFlags("release sign")
	rootFile := fs.String("root", "", "the trusted root.json (from the ceremony)")
	keyFile := fs.String("targets-key", "", "the offline targets.key")
	previous := fs.String("previous", "", "the targets.json published now (the ceremony's for the first release)")
	hubURL := fs.String("hub", "", "instead of --previous: fetch the published targets.json from this hub, e.g. https://hub.example.org")
	file := fs.String("file", "", "the release artifact (quartierhub-kiosk_V_amd64.tar.gz)")
	version := fs.String("version", "", "the release's version, e.g. 1.4.0")
	minVersion := fs.String("min-version", "", "oldest running version that may update to this one (empty: any)")
	expires := fs.Duration("expires", tufrepo.TargetsLifetime, "how long the signed targets.json is valid; sign a new one before")
	out := fs.String("out", "", "write the new targets.json here (must not exist)")
	renew := fs.Bool("renew", false, "instead of --file and --version: the same releases, one version higher, with a new expiry")
	if err := parsePlain(fs, args); err != nil {
		return err
	}
	if *rootFile == "" || *keyFile == "" || *out == "" || (!*renew && (*file == "" || *version == "")) {
		return usageError{"release sign: --root, --targets-key, --out and either --file and --version or --renew are required"}
	}
	if *renew && (*file != "" || *version != "" || *minVersion != "") {
		return usageError{"release sign: --renew takes no --file, --version or --min-version"}
	}
	if (*previous == "") == (*hubURL == "") {
		return usageError{"release sign: give --previous targets.json or --hub URL"}
	}
	if *expires <= 0 {
		return usageError{"release sign: --expires must be positive"}
	}
	root, err := readFile("release sign: root", *rootFile, tufrepo.MaxMetadataBytes)
	if err != nil {
		return err
	}
	key, err := tufrepo.ReadKey(*keyFile)
	if err != nil {
		return err
	}
	var art []byte
	if !*renew {
		if art, err = readFile("release sign: artifact", *file, tufrepo.MaxArtifactBytes); err != nil {
			return err
		}
	}
	var prev []byte
	if *previous != "" {
		prev, err = readFile("release sign: previous", *previous, tufrepo.MaxMetadataBytes)
	} else {
		prev, err = tufhttp.FetchTargets(ctx, &http.Client{Timeout: time.Minute}, *hubURL)
	}
	if err != nil {
		return fmt.Errorf("release sign: %w", err)
	}
	now := o.Now()
	var tj []byte
	if *renew {
		tj, err = tufrepo.RenewTargets(root, prev, key, now.Add(*expires))
	} else {
		tj, err = tufrepo.SignTargets(tufrepo.SignRequest{Root: root, Previous: prev, TargetsKey: key, Artifact: art,
			Custom: tufrepo.Custom{Version: *version, MinVersion: *minVersion}, Expires: now.Add(*expires)})
	}
	if err != nil {
		return fmt.Errorf("release sign: %w", err)
	}
	if err := writeNew(*out, tj); err != nil {
		return fmt.Errorf("release sign: %w", err)
	}
	parsed, err := tufrepo.ParseTargets(tj)
	if err != nil {
		return err
	}
	if *renew {
		_, err = fmt.Fprintf(o.Stdout, `signed targets.json version %d (expires %s, the same %d releases) to %s
next, on the hub (copy %s there):
  hub-server release add --data HUBDIR --targets %s
`, parsed.Signed.Version, parsed.Signed.Expires.Format(time.RFC3339), len(parsed.Signed.Targets), *out, *out, filepath.Base(*out))
		return err
	}
	name, _ := tufrepo.TargetName(*version)
	_, err = fmt.Fprintf(o.Stdout, `signed targets.json version %d (expires %s) to %s
  target %s
  sha256 %s, %d bytes
next, on the hub (copy the artifact and %s there):
  hub-server release add --data HUBDIR --file %s --targets %s --version %s
`, parsed.Signed.Version, parsed.Signed.Expires.Format(time.RFC3339), *out, name, sha256Hex(art), len(art), *out,
		filepath.Base(*file), filepath.Base(*out), *version)
	return err
}

// releaseAdd publishes a release signed offline.
func releaseAdd(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("release add")
	file := fs.String("file", "", "the release artifact (quartierhub-kiosk_V_amd64.tar.gz)")
	targetsFile := fs.String("targets", "", "the targets.json release sign wrote for it (signed offline: the hub cannot sign releases)")
	version := fs.String("version", "", "the release's version, as signed")
	rootFile := fs.String("root", "", "instead: publish a root.json that release root renewed")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *rootFile != "" {
		if *targetsFile != "" || *file != "" || *version != "" {
			return usageError{"release add: --root goes alone"}
		}
		if err := keysDir("release add", data); err != nil {
			return err
		}
		return rootAdd(ctx, data, *rootFile, o)
	}
	if *targetsFile == "" || (*file == "") != (*version == "") {
		return usageError{"release add: --file, --targets and --version are required (the hub alone cannot sign a release: sign targets.json offline with release sign first); only --targets publishes a renewed targets.json"}
	}
	if err := keysDir("release add", data); err != nil {
		return err
	}
	if *file == "" {
		return renewAdd(ctx, data, *targetsFile, o)
	}
	name, err := tufrepo.TargetName(*version)
	if err != nil {
		return usageError{"release add: " + err.Error()}
	}
	tj, err := readFile("release add: targets", *targetsFile, tufrepo.MaxMetadataBytes)
	if err != nil {
		return err
	}
	art, err := readFile("release add: artifact", *file, tufrepo.MaxArtifactBytes)
	if err != nil {
		return err
	}
	if err := checkSignedFor(tj, name, *version, art); err != nil {
		return fmt.Errorf("release add: %w", err)
	}
	repo, st, err := openRepo(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	now := o.Now()
	published := "published"
	// Run again after a failure between the two steps, the same
	// targets.json is published already: only the release is recorded.
	if cur, err := st.TUFMetadata(ctx, metadata.TARGETS, 0); err == nil && bytes.Equal(cur.Body, tj) {
		published = "was published already"
	} else if _, err := repo.AddTarget(ctx, art, tj, now); err != nil {
		return fmt.Errorf("release add: %w", err)
	}
	err = st.AddRelease(ctx, store.Release{Version: *version, Target: name, AddedAt: now, AddedBy: o.Actor},
		store.Audit{At: now, Actor: o.Actor, Action: "release.add", Subject: "release:" + *version,
			Detail: fmt.Sprintf("%s sha256 %s, %d bytes", name, sha256Hex(art), len(art))})
	if err != nil {
		return fmt.Errorf("release add: %w", err)
	}
	_, err = fmt.Fprintf(o.Stdout, "release %s %s (%s, %d bytes); a rollout may now name it\n", *version, published, name, len(art))
	return err
}

// releaseRoot renews the root offline with two of the three root keys.
func releaseRoot(args []string, o Opts) error {
	fs := plainFlags("release root")
	previous := fs.String("previous", "", "the root.json published now (the ceremony's, or the one release root wrote last)")
	var keyFiles []string
	fs.Func("root-key", "a root key file (give two of the three: the root's threshold)", func(v string) error {
		keyFiles = append(keyFiles, v)
		return nil
	})
	expires := fs.Duration("expires", tufrepo.RootLifetime, "how long the new root.json is valid; renew it before")
	out := fs.String("out", "", "write the new root.json here (must not exist)")
	if err := parsePlain(fs, args); err != nil {
		return err
	}
	if *previous == "" || len(keyFiles) == 0 || *out == "" {
		return usageError{"release root: --previous, --root-key (two of them) and --out are required"}
	}
	if *expires <= 0 {
		return usageError{"release root: --expires must be positive"}
	}
	prev, err := readFile("release root: previous", *previous, tufrepo.MaxMetadataBytes)
	if err != nil {
		return err
	}
	var keys []ed25519.PrivateKey
	for _, f := range keyFiles {
		k, err := tufrepo.ReadKey(f)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	root, err := tufrepo.RenewRoot(prev, keys, o.Now().Add(*expires))
	if err != nil {
		return fmt.Errorf("release root: %w", err)
	}
	if err := writeNew(*out, root); err != nil {
		return fmt.Errorf("release root: %w", err)
	}
	parsed, err := tufrepo.ParseRoot(root)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Stdout, `signed root.json version %d (expires %s, the same keys) to %s
next, on the hub (copy %s there):
  hub-server release add --data HUBDIR --root %s
terminals fetch it from the hub; build later kiosk packages with it (make packages TUF_ROOT=%s)
`, parsed.Signed.Version, parsed.Signed.Expires.Format(time.RFC3339), *out, *out, filepath.Base(*out), filepath.Base(*out))
	return err
}

// writeNew writes b to a new file at path.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// openRepo opens the hub's repository for release add: its online keys
// and its store, which the caller closes.
func openRepo(ctx context.Context, data *storeLoc) (*tufrepo.Repo, store.Store, error) {
	keys, err := tufrepo.LoadOnlineKeys(data.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("release add: %w (run release init first)", err)
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return nil, nil, err
	}
	return tufrepo.New(st, keys), st, nil
}

// rootAdd publishes a renewed root.json.
func rootAdd(ctx context.Context, data *storeLoc, rootFile string, o Opts) error {
	root, err := readFile("release add: root", rootFile, tufrepo.MaxMetadataBytes)
	if err != nil {
		return err
	}
	repo, st, err := openRepo(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	now := o.Now()
	v, err := repo.AddRoot(ctx, root, now)
	if err != nil {
		return fmt.Errorf("release add: %w", err)
	}
	if err := st.AppendAudit(ctx, store.Audit{At: now, Actor: o.Actor, Action: "release.root", Subject: "tuf:root",
		Detail: fmt.Sprintf("root.json version %d sha256 %s", v, sha256Hex(root))}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Stdout, "root.json version %d published\n", v)
	return err
}

// renewAdd publishes a renewed targets.json (release sign --renew): no
// new artifact, every target it lists must be stored already.
func renewAdd(ctx context.Context, data *storeLoc, targetsFile string, o Opts) error {
	tj, err := readFile("release add: targets", targetsFile, tufrepo.MaxMetadataBytes)
	if err != nil {
		return err
	}
	repo, st, err := openRepo(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	now := o.Now()
	added, err := repo.AddTarget(ctx, nil, tj, now)
	if err != nil {
		return fmt.Errorf("release add: %w", err)
	}
	if err := st.AppendAudit(ctx, store.Audit{At: now, Actor: o.Actor, Action: "release.renew", Subject: "tuf:targets",
		Detail: fmt.Sprintf("targets.json version %d", added.Targets)}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.Stdout, "targets.json version %d published, listing the same releases\n", added.Targets)
	return err
}

// checkSignedFor reports, before anything is stored, whether targetsJSON
// lists art as version's target, so a mixed-up file is named plainly.
func checkSignedFor(targetsJSON []byte, name, version string, art []byte) error {
	t, err := tufrepo.ParseTargets(targetsJSON)
	if err != nil {
		return err
	}
	tf := t.Signed.Targets[name]
	if tf == nil {
		return fmt.Errorf("targets.json does not list version %s (target %s); sign it with release sign --version %s", version, name, version)
	}
	sum := sha256.Sum256(art)
	if tf.Length != int64(len(art)) || !bytes.Equal(tf.Hashes["sha256"], sum[:]) {
		return fmt.Errorf("the artifact (sha256 %s, %d bytes) is not the one targets.json signs for %s (sha256 %s, %d bytes)",
			hex.EncodeToString(sum[:]), len(art), version, hex.EncodeToString(tf.Hashes["sha256"]), tf.Length)
	}
	return nil
}

// releaseList lists the published releases.
func releaseList(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("release list")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	rels, err := tufrepo.Releases(ctx, st)
	if errors.Is(err, tufrepo.ErrNotInitialised) {
		return errors.New("release list: no TUF repository on this hub yet (release keys, then release init)")
	} else if err != nil {
		return err
	}
	known, err := st.Releases(ctx)
	if err != nil {
		return err
	}
	rollout := map[string]bool{}
	for _, r := range known {
		rollout[r.Target] = true
	}
	tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tMIN VERSION\tTARGET\tSIZE\tSHA256\tADDED\tROLLOUT")
	for _, r := range rels {
		added := "-"
		if !r.AddedAt.IsZero() {
			added = r.AddedAt.UTC().Format(time.RFC3339)
		}
		can := "no (release add again)"
		if rollout[r.Target] {
			can = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Version, dash(r.MinVersion), r.Target, r.Length, r.SHA256, added, can)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
