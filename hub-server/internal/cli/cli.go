// Package cli is the hub-server command line: serve, token create, export,
// terminal list/revoke, card hash, pin hash, release
// keys/init/sign/add/list, workshop create/list/phase/export.
// cmd/hub-server only calls Main.
package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Opts are the process's surroundings. Zero values are the defaults.
type Opts struct {
	Stdin  io.Reader // default os.Stdin (user add --password-stdin)
	Stdout io.Writer // default os.Stdout
	Stderr io.Writer // default os.Stderr; also where logs go
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is the entropy for tokens and IDs. Default crypto/rand.
	Rand io.Reader
	// OnListening is passed to server.Opts (tests serve on port 0).
	OnListening func(net.Addr)
	// Actor is who runs the command, for the audit log. Default the OS
	// user's name.
	Actor string
}

const usage = `usage:
  hub-server serve --data HUBDIR|--db URL [--listen ADDR] [--tls-cert F --tls-key F] [--trusted-proxy CIDR]... [--pprof ADDR]
      [--webhook URL] [--offline-after 10m] [alert thresholds, see serve -h]
      --db postgres://… (or $QUARTIERHUB_DB): several hub processes on one PostgreSQL database
      [--public-url URL] [--open-data-licence dl-de/zero-2.0|dl-de/by-2.0|cc-zero|cc-by-4.0] [--open-data-publisher NAME]
      [--open-data-contact EMAIL] [--open-data-title TITLE] [--open-data-geocoding URI] [--open-data-contributor URI]
      (the open data catalogue under /open-data/)
      [--sta-statement-timeout 5s] [--sta-max-concurrent 8]   (the SensorThings API under /sta/v1.1)
      [--air-map-tiles URL-TEMPLATE | --air-map-wms URL --air-map-wms-layer L] [--air-map-attribution TEXT] [--air-map-max-zoom 17]
      (the public air page /air: the terminals on a map; without it, a list by quarter)
  hub-server token create --data HUBDIR|--db URL --terminal NAME --quarter Q [--ttl 24h]
  hub-server token bulk --data HUBDIR|--db URL --prefix NAME --count N [--first 0] --quarter Q [--ttl 24h]   (prints NAME TOKEN lines)
  hub-server export --data HUBDIR|--db URL [--type TYPE] [--format jsonl|csv]
  hub-server export --data HUBDIR|--db URL --open-data DIR --public-url URL [--from YYYY-MM-DD --to YYYY-MM-DD]
      [--open-data-licence ID] [--open-data-publisher NAME] [--open-data-contact EMAIL] [--open-data-title TITLE]
      [--open-data-geocoding URI] [--open-data-contributor URI]
      (the open data files as /open-data/ serves them, for portals that harvest files: air/YYYY-MM-DD.csv.gz per
      finished day, default the last 31, stations.geojson, catalog.jsonld; each replaced atomically)
  hub-server backup --data HUBDIR --to FILE   (a consistent copy of hub.db while the hub runs)
  hub-server terminal list --data HUBDIR|--db URL [--online-within 90s]
  hub-server terminal show --data HUBDIR|--db URL --terminal NAME [--history 20]
  hub-server terminal tag --data HUBDIR|--db URL --terminal NAME --tags a,b   (replaces; "" clears)
  hub-server terminal revoke --data HUBDIR|--db URL (--terminal NAME | --id TERMINAL_ID)
  hub-server terminal site NAME --data HUBDIR|--db URL [--lat 51.05 --lon 13.74 --place P] [--indoor] [--publish co2=off,pm25=hour]
      [--co2-minute-indoors] | --clear   (where it stands and what of its air is published as open data; no settings: shows it; --clear stops it)
  hub-server user add --data HUBDIR|--db URL --name NAME --role admin|moderator|viewer --password-stdin
  hub-server user password --data HUBDIR|--db URL --name NAME --password-stdin [--enable]
  hub-server user list --data HUBDIR|--db URL
  hub-server config set --data HUBDIR|--db URL --scope global|quarter:NAME|terminal:NAME --file F.json
  hub-server config show --data HUBDIR|--db URL (--scope SCOPE | --effective TERMINAL)
  hub-server config example   (prints a complete example layer, the demo content, to start from)
  hub-server card hash --data HUBDIR|--db URL (--stdin | UID...)
      (a layer's service_cards and moderator_cards: one hash a line, keyed with the deployment's card key, which
      it makes if the hub has none yet; --stdin reads the UIDs one a line, out of shell history)
  hub-server pin hash   (a layer's service_pin or moderator_pin: reads the PIN, 4 to 12 digits, from standard input:
      read -rs PIN && echo "$PIN" | hub-server pin hash)
  hub-server command send --data HUBDIR|--db URL (--terminal NAME|--quarter Q|--tag T) --kind KIND [--message M] [--ttl 24h]
      KIND: maintenance_on maintenance_off restart sync_now test_print collect_diagnostics
            screenshot (one terminal; the console's terminal page shows the picture)
  hub-server command list --data HUBDIR|--db URL [--terminal NAME] [--state S] [--limit 50]
  hub-server alert list --data HUBDIR|--db URL [--all] [--terminal NAME]
  hub-server alert ack --data HUBDIR|--db URL --terminal NAME (--id ALERT | --kind KIND) [--note N]
  hub-server alert mute --data HUBDIR|--db URL --terminal NAME [--kind KIND] (--for 24h | --until RFC3339) --reason R
  hub-server alert unmute --data HUBDIR|--db URL --terminal NAME [--id MUTE]   (without --id: lists active mutes)
  hub-server diagnostics show --data HUBDIR|--db URL --id ID
  hub-server release keys --out DIR   (offline, not on the hub: the key ceremony; root 2-of-3, targets, snapshot, timestamp)
  hub-server release init --data HUBDIR [--db URL] --root root.json --targets targets.json --snapshot-key F --timestamp-key F
      (on the hub: publishes the ceremony's metadata, installs the online keys in HUBDIR/tuf)
  hub-server release sign --root root.json --targets-key F (--previous targets.json | --hub URL) --file ARTIFACT --version V
      [--min-version V] [--expires 2160h] --out targets.json
      (offline, by the release signer: a new targets.json listing ARTIFACT; the hub cannot sign one itself;
      --renew instead of --file and --version re-signs the same releases before targets.json expires)
  hub-server release add --data HUBDIR [--db URL] --file ARTIFACT --targets targets.json --version V
      (on the hub: publishes ARTIFACT with the targets.json release sign made for it; rollouts may then name V;
      given only --targets: publishes a targets.json that release sign renewed; given only --root: a root.json
      that release root renewed)
  hub-server release root --previous root.json --root-key F --root-key F [--expires 8760h] --out root.json
      (offline, by two of the three root key holders: the same root, one version higher, before it expires)
  hub-server release list --data HUBDIR|--db URL
  hub-server workshop example   (prints a workshop's plan with every field, to start SPEC.json from)
  hub-server workshop create --data HUBDIR|--db URL --file SPEC.json   (a draft workshop; prints its ID and join code)
  hub-server workshop list --data HUBDIR|--db URL
  hub-server workshop phase --data HUBDIR|--db URL --id W --to PHASE
      PHASE: an index (from 0), a phase kind when one phase is of it (ideas cluster vote results), next, or end
  hub-server workshop export --data HUBDIR|--db URL --id W --format json|csv|log [--out FILE]
      (log: the event log, gzip'd JSON Lines in hub order; the SHA-256 of what was written is printed)`

// Main runs the command line args (without the program name) and returns
// the exit status. Errors are one line on Stderr.
func Main(ctx context.Context, args []string, o Opts) int {
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	if o.Actor == "" {
		o.Actor = osUser()
	}
	err := run(ctx, args, o)
	var he helpError
	if errors.As(err, &he) {
		fmt.Fprint(o.Stderr, he.text())
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(o.Stderr, usage)
		return 2
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(o.Stderr, "hub-server: %s\n%s\n", ue.msg, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(o.Stderr, "hub-server: %s\n", oneLine(err.Error()))
		return 1
	}
	return 0
}

type usageError struct{ msg string }

// helpError asks for a command's help (-h): its usage lines, then every
// flag it takes, so what the usage only sums up ("alert thresholds") is
// spelled out.
type helpError struct{ fs *flag.FlagSet }

func (e helpError) Error() string { return e.fs.Name() + ": help requested" }

func (e helpError) Unwrap() error { return flag.ErrHelp }

func (e helpError) text() string {
	var b strings.Builder
	b.WriteString("usage:\n")
	in := false
	for _, l := range strings.Split(usage, "\n") {
		switch {
		case strings.HasPrefix(l, "  hub-server "):
			in = strings.HasPrefix(l+" ", "  hub-server "+e.fs.Name()+" ")
		case !strings.HasPrefix(l, "      "):
			in = false
		}
		if in {
			b.WriteString(l + "\n")
		}
	}
	b.WriteString("flags:\n")
	e.fs.SetOutput(&b)
	e.fs.PrintDefaults()
	return b.String()
}

func (e usageError) Error() string { return e.msg }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func run(ctx context.Context, args []string, o Opts) error {
	cmd := func(n int) string { return strings.Join(args[:min(n, len(args))], " ") }
	switch {
	case len(args) == 0:
		return usageError{"missing command"}
	case args[0] == "serve":
		return serve(ctx, args[1:], o)
	case cmd(2) == "token create":
		return tokenCreate(ctx, args[2:], o)
	case cmd(2) == "token bulk":
		return tokenBulk(ctx, args[2:], o)
	case args[0] == "export":
		return export(ctx, args[1:], o)
	case args[0] == "backup":
		return backup(ctx, args[1:], o)
	case cmd(2) == "terminal list":
		return terminalList(ctx, args[2:], o)
	case cmd(2) == "terminal revoke":
		return terminalRevoke(ctx, args[2:], o)
	case cmd(2) == "terminal show":
		return terminalShow(ctx, args[2:], o)
	case cmd(2) == "terminal tag":
		return terminalTag(ctx, args[2:], o)
	case cmd(2) == "terminal site":
		return terminalSite(ctx, args[2:], o)
	case cmd(2) == "config set":
		return configSet(ctx, args[2:], o)
	case cmd(2) == "config show":
		return configShow(ctx, args[2:], o)
	case cmd(2) == "config example":
		return configExample(o)
	case cmd(2) == "card hash":
		return cardHash(ctx, args[2:], o)
	case cmd(2) == "pin hash":
		return pinHash(args[2:], o)
	case cmd(2) == "command send":
		return commandSend(ctx, args[2:], o)
	case cmd(2) == "command list":
		return commandList(ctx, args[2:], o)
	case cmd(2) == "alert list":
		return alertList(ctx, args[2:], o)
	case cmd(2) == "alert ack":
		return alertAck(ctx, args[2:], o)
	case cmd(2) == "alert mute":
		return alertMute(ctx, args[2:], o)
	case cmd(2) == "alert unmute":
		return alertUnmute(ctx, args[2:], o)
	case cmd(2) == "user add":
		return userAdd(ctx, args[2:], o)
	case cmd(2) == "user password":
		return userPassword(ctx, args[2:], o)
	case cmd(2) == "user list":
		return userList(ctx, args[2:], o)
	case cmd(2) == "diagnostics show":
		return diagnosticsShow(ctx, args[2:], o)
	case cmd(2) == "release keys":
		return releaseKeys(args[2:], o)
	case cmd(2) == "release init":
		return releaseInit(ctx, args[2:], o)
	case cmd(2) == "release sign":
		return releaseSign(ctx, args[2:], o)
	case cmd(2) == "release add":
		return releaseAdd(ctx, args[2:], o)
	case cmd(2) == "release root":
		return releaseRoot(args[2:], o)
	case cmd(2) == "release list":
		return releaseList(ctx, args[2:], o)
	case cmd(2) == "workshop example":
		return workshopExample(args[2:], o)
	case cmd(2) == "workshop create":
		return workshopCreate(ctx, args[2:], o)
	case cmd(2) == "workshop list":
		return workshopList(ctx, args[2:], o)
	case cmd(2) == "workshop phase":
		return workshopPhase(ctx, args[2:], o)
	case cmd(2) == "workshop export":
		return workshopExport(ctx, args[2:], o)
	case args[0] == "help" || args[0] == "-h" || args[0] == "--help":
		return flag.ErrHelp
	}
	if subs := subcommands[args[0]]; subs != "" {
		return usageError{fmt.Sprintf("%s: want a subcommand: %s", args[0], subs)}
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd(2))}
}

// subcommands names each command group's subcommands, for a group given
// without one (or with one it does not have).
var subcommands = map[string]string{
	"token": "create, bulk", "terminal": "list, show, tag, revoke, site", "config": "set, show, example",
	"card": "hash", "pin": "hash", "command": "send, list", "alert": "list, ack, mute, unmute",
	"user": "add, password, list", "diagnostics": "show", "release": "keys, init, sign, add, root, list",
	"workshop": "example, create, list, phase, export",
}

func flags(name string) (*flag.FlagSet, *storeLoc) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // Main prints the usage once
	data := &storeLoc{}
	data.register(fs)
	return fs, data
}

func parse(fs *flag.FlagSet, args []string, data *storeLoc) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpError{fs}
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return data.check(fs.Name())
}

// NewToken returns a fresh enrolment token: "qht_" and 160 random bits,
// URL-safe base64.
func NewToken(r io.Reader) (string, error) {
	b := make([]byte, 20)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return "qht_" + base64.RawURLEncoding.EncodeToString(b), nil
}

func tokenCreate(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("token create")
	name := fs.String("terminal", "", "name of the terminal to enrol")
	quarter := fs.String("quarter", "", "quarter the terminal stands in")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token stays valid")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if *name == "" || *quarter == "" {
		return usageError{"token create: --terminal and --quarter are required"}
	}
	if *ttl <= 0 {
		return usageError{"token create: --ttl must be positive"}
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	tok, err := NewToken(o.Rand)
	if err != nil {
		return err
	}
	now := o.Now()
	err = st.CreateEnrolToken(ctx, store.EnrolToken{Hash: sha256.Sum256([]byte(tok)), TerminalName: *name, Quarter: *quarter,
		CreatedAt: now, ExpiresAt: now.Add(*ttl)})
	if errors.Is(err, store.ErrNameTaken) {
		return fmt.Errorf("a terminal named %q is already enrolled", *name)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.Stdout, tok)
	return err
}

// ExportJSONLine is one line of `export --format jsonl`.
type ExportJSONLine struct {
	ID         string          `json:"id"`
	Terminal   string          `json:"terminal"`
	Type       string          `json:"type"`
	CreatedAt  string          `json:"created_at"`
	ReceivedAt string          `json:"received_at"`
	Payload    json.RawMessage `json:"payload"`
}

// ExportCSVHeader is the header row of `export --format csv`.
var ExportCSVHeader = []string{"id", "terminal", "type", "created_at", "received_at", "payload"}

// Export writes the records matching f to w as jsonl or csv, streaming.
func Export(ctx context.Context, st store.Store, f store.ExportFilter, format string, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var write func(*store.ExportedRecord) error
	flush := bw.Flush
	switch format {
	case "jsonl":
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		write = func(r *store.ExportedRecord) error {
			return enc.Encode(ExportJSONLine{ID: r.ID, Terminal: r.Terminal, Type: r.Type,
				CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339Nano), ReceivedAt: r.ReceivedAt.UTC().Format(time.RFC3339Nano),
				Payload: r.Payload})
		}
	case "csv":
		cw := csv.NewWriter(bw)
		if err := cw.Write(ExportCSVHeader); err != nil {
			return err
		}
		row := make([]string, len(ExportCSVHeader))
		write = func(r *store.ExportedRecord) error {
			row[0], row[1], row[2] = r.ID, r.Terminal, r.Type
			row[3], row[4] = r.CreatedAt.UTC().Format(time.RFC3339Nano), r.ReceivedAt.UTC().Format(time.RFC3339Nano)
			row[5] = string(r.Payload)
			return cw.Write(row)
		}
		flush = func() error {
			cw.Flush()
			return errors.Join(cw.Error(), bw.Flush())
		}
	default:
		return usageError{fmt.Sprintf("export: --format must be jsonl or csv, not %q", format)}
	}
	if err := st.ExportRecords(ctx, f, write); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func export(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("export")
	typ := fs.String("type", "", "export only records of this type (default all)")
	format := fs.String("format", "jsonl", "jsonl or csv")
	od := openDataFlags(fs)
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if od.dir != "" {
		return exportOpenData(ctx, fs, data, od, o)
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	return Export(ctx, st, store.ExportFilter{Type: *typ}, *format, o.Stdout)
}

func terminalList(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("terminal list")
	within := fs.Duration("online-within", DefaultOnlineWithin, "a terminal seen within this is online")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	ts, err := st.Terminals(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tQUARTER\tVERSION\tENROLLED\tLAST SEEN\tONLINE\tSTATUS\tTAGS")
	now := o.Now()
	for _, t := range ts {
		online := "offline"
		if fleet.Online(t.LastSeenAt, now, *within) {
			online = "online"
		}
		status := "active"
		if t.Revoked() {
			status = "revoked " + t.RevokedAt.Format(time.RFC3339)
		}
		seen := "never"
		if !t.LastSeenAt.IsZero() {
			seen = t.LastSeenAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Quarter, t.SoftwareVersion, t.EnrolledAt.Format(time.RFC3339), seen, online, status,
			strings.Join(t.Tags, ","))
	}
	return tw.Flush()
}

func terminalRevoke(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("terminal revoke")
	id := fs.String("id", "", "terminal ID")
	name := fs.String("terminal", "", "terminal name")
	if err := parse(fs, args, data); err != nil {
		return err
	}
	if (*id == "") == (*name == "") {
		return usageError{"terminal revoke: give --terminal NAME or --id TERMINAL_ID"}
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	if *name != "" {
		t, err := terminalByName(ctx, st, *name)
		if err != nil {
			return err
		}
		*id = t.ID
	}
	t, err := st.Terminal(ctx, *id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no terminal with ID %q", *id)
	} else if err != nil {
		return err
	}
	if err := st.RevokeTerminal(ctx, t.ID, o.Now()); err != nil {
		return err
	}
	if err := st.AppendAudit(ctx, store.Audit{At: o.Now(), Actor: o.Actor, Action: "terminal.revoke", Subject: "terminal:" + t.Name}); err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "revoked %s (%s)\n", t.Name, t.ID)
	return nil
}
