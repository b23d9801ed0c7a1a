// Command devprobe is the on-site diagnostic for a terminal's serial
// devices. It talks to one device through the same drivers the kiosk uses
// and prints one JSON object per line.
//
//	devprobe --device sds011|mhz19|rdm6300|pn532|escpos --port PATH [flags]
//
// A missing port, a wrong device or a timeout gives a one-line error on
// stderr and a non-zero exit.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/drivers/serialport"
)

// probeArgs are the parsed flags every probe receives.
type probeArgs struct {
	device   string
	port     string
	baud     int // 0: the device's default
	count    int
	interval time.Duration
	timeout  time.Duration
	status   bool
	print    string
	qr       string
	codepage string
	table    int // -1: the code page's Epson default
}

// probeFunc probes one device kind, writing JSON lines to out.
type probeFunc func(ctx context.Context, a probeArgs, out *json.Encoder) error

// probes maps --device names to their probe. Each lives in probe_NAME.go.
var probes = map[string]probeFunc{
	"escpos":  probeESCPOS,
	"mhz19":   probeMHZ19,
	"pn532":   probePN532,
	"rdm6300": probeRDM6300,
	"sds011":  probeSDS011,
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devprobe:", err)
		os.Exit(1)
	}
}

func run(argv []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devprobe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var a probeArgs
	fs.StringVar(&a.device, "device", "", "device kind: "+strings.Join(names(), "|"))
	fs.StringVar(&a.port, "port", "", "serial port path, e.g. /dev/quartierhub/sds011")
	fs.IntVar(&a.baud, "baud", 0, "baud rate (default: the device's own)")
	fs.IntVar(&a.count, "count", 0, "exit 0 after N readings or card presentations (0: run until interrupted)")
	fs.DurationVar(&a.interval, "interval", 0, "poll period for polled devices (default: the device's own)")
	fs.DurationVar(&a.timeout, "timeout", 10*time.Second, "give up when the device sends nothing valid for this long")
	fs.BoolVar(&a.status, "status", false, "escpos: print one status object")
	fs.StringVar(&a.print, "print", "", `escpos: print TEXT (UTF-8; newline or literal \n starts a new line), then cut`)
	fs.StringVar(&a.qr, "qr", "", "escpos: add a QR code with DATA")
	fs.StringVar(&a.codepage, "codepage", "cp858", "escpos: cp858|cp437|cp850|cp1252")
	fs.IntVar(&a.table, "table", -1, "escpos: ESC t table number for the code page (default: Epson's)")
	verbose := fs.Bool("v", false, "log port events to stderr")
	if err := fs.Parse(argv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	probe, ok := probes[a.device]
	if !ok {
		return fmt.Errorf("--device must be one of %s", strings.Join(names(), ", "))
	}
	if a.port == "" {
		return errors.New("--port is required")
	}
	if _, err := os.Stat(a.port); err != nil {
		return fmt.Errorf("port %s: %w", a.port, errors.Unwrap(err))
	}
	if a.count < 0 {
		return errors.New("--count must not be negative")
	}
	level := slog.LevelError
	if *verbose {
		level = slog.LevelInfo
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false) // readable reasons such as "pm2.5 above pm10 (50 > 40)"
	return probe(ctx, a, enc)
}

func names() []string {
	var n []string
	for k := range probes {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// errDone ends a probe successfully (count reached).
var errDone = errors.New("done")

// onPort runs session on a's port through serialport, failing fast: a
// diagnostic reports a lost port instead of waiting for it to come back.
// session returns errDone when it has printed what was asked.
func onPort(parent context.Context, a probeArgs, baud int, session serialport.Session) error {
	if a.baud != 0 {
		baud = a.baud
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	port := serialport.New(serialport.Opts{
		Path: a.port,
		Baud: baud,
		OnEvent: func(e serialport.Event) {
			if e.State == serialport.StateLost || e.State == serialport.StateFault {
				cancel(e.Err)
			}
		},
		Logger: slog.Default(),
	})
	if err := port.Run(ctx, func(ctx context.Context, rw io.ReadWriter) error {
		err := session(ctx, rw)
		if err != nil {
			cancel(err)
		}
		return err
	}); err != nil {
		return err
	}
	if cause := context.Cause(ctx); !errors.Is(cause, errDone) && parent.Err() == nil {
		return cause
	}
	return nil
}

// timeoutError says that nothing valid came from the device in time.
func timeoutError(a probeArgs) error {
	return fmt.Errorf("timeout: no valid %s reply on %s within %s (wrong device, wrong port or unplugged?)", a.device, a.port, a.timeout)
}
