// Command devsim runs simulated serial devices on pseudo-terminals until
// interrupted, printing each device's path.
//
//	devsim [--link PATH] [--script FILE] [--control SOCK] DEVICE[=LINK] ...
//
// Each DEVICE (sds011, mhz19, rdm6300, pn532, escpos) gets its own pty; with
// =LINK (or --link for a single device) a symlink is kept pointing at it, as
// udev would. Commands — device-specific ones such as "present 01004CA53B"
// and faults such as "garbage" or "unplug" — come from --script files, from
// standard input and from the unix socket given with --control, as lines of
// the form "DEVICE COMMAND ARGS..." (the device may be left out when only
// one runs). "help" lists them.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/quartierhub/quartierhub/drivers/sim"
	"github.com/quartierhub/quartierhub/drivers/sim/escpossim"
	"github.com/quartierhub/quartierhub/drivers/sim/mhz19sim"
	"github.com/quartierhub/quartierhub/drivers/sim/pn532sim"
	"github.com/quartierhub/quartierhub/drivers/sim/rdm6300sim"
	"github.com/quartierhub/quartierhub/drivers/sim/sds011sim"
)

// devices maps device names to simulator constructors.
var devices = map[string]func() sim.Device{
	"escpos":  func() sim.Device { return escpossim.New(escpossim.Opts{}) },
	"mhz19":   func() sim.Device { return mhz19sim.New(mhz19sim.Opts{}) },
	"pn532":   func() sim.Device { return pn532sim.New(pn532sim.Opts{}) },
	"rdm6300": func() sim.Device { return rdm6300sim.New(rdm6300sim.Opts{}) },
	"sds011":  func() sim.Device { return sds011sim.New(sds011sim.Opts{}) },
}

type scriptFlag []string

func (s *scriptFlag) String() string     { return strings.Join(*s, ",") }
func (s *scriptFlag) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devsim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: devsim [flags] DEVICE[=LINK] ...\ndevices: %s\n", strings.Join(names(), ", "))
		fs.PrintDefaults()
	}
	link := fs.String("link", "", "symlink to keep pointing at the pty (single device only)")
	device := fs.String("device", "", "device to simulate (alternative to the positional form)")
	control := fs.String("control", "", "unix socket accepting command lines")
	var scripts scriptFlag
	fs.Var(&scripts, "script", "[DEVICE=]FILE with commands to run at start (repeatable)")
	noStdin := fs.Bool("no-stdin", false, "do not read commands from standard input")
	send := fs.String("send", "", "send one command LINE to the devsim listening on --control, print its reply and exit")
	verbose := fs.Bool("v", false, "log simulator events to stderr")
	if err := fs.Parse(argv); err != nil {
		return err
	}
	if *send != "" {
		return sendLine(*control, *send, stdout)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	specs := fs.Args()
	if *device != "" {
		specs = append(specs, *device)
	}
	if len(specs) == 0 {
		fs.Usage()
		return errors.New("no device given")
	}
	if *link != "" {
		if len(specs) != 1 || strings.Contains(specs[0], "=") {
			return errors.New("--link needs exactly one device without =LINK")
		}
		specs[0] += "=" + *link
	}

	// The control socket listens before the devices' paths are printed, so
	// a script that has read them can send commands at once.
	var ln net.Listener
	if *control != "" {
		var err error
		if ln, err = listenUnix(*control); err != nil {
			return err
		}
		defer os.Remove(*control)
		defer ln.Close()
	}
	ports := map[string]*sim.Port{}
	var order []string
	defer func() {
		for _, p := range ports {
			p.Close()
		}
	}()
	for _, spec := range specs {
		name, lnk, _ := strings.Cut(spec, "=")
		mk, ok := devices[name]
		if !ok {
			return fmt.Errorf("unknown device %q (have %s)", name, strings.Join(names(), ", "))
		}
		if _, dup := ports[name]; dup {
			return fmt.Errorf("device %q given twice", name)
		}
		p, err := sim.Start(ctx, mk(), sim.Opts{Link: lnk, Logger: log})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		ports[name] = p
		order = append(order, name)
		if lnk != "" {
			fmt.Fprintf(stdout, "%s %s -> %s\n", name, lnk, p.TTY())
		} else {
			fmt.Fprintf(stdout, "%s %s\n", name, p.TTY())
		}
	}
	c := &console{ports: ports, order: order}

	var wg sync.WaitGroup
	errc := make(chan error, len(scripts)+1)
	for _, s := range scripts {
		name, file, ok := strings.Cut(s, "=")
		if !ok {
			name, file = "", s
		}
		p, err := c.port(name)
		if err != nil {
			return fmt.Errorf("--script %s: %w", s, err)
		}
		text, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("--script: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.RunScript(ctx, string(text), stdout); err != nil {
				errc <- err
			}
		}()
	}
	if ln != nil {
		go func() { <-ctx.Done(); ln.Close() }()
		go c.serve(ln, log)
	}
	if !*noStdin {
		go func() {
			// Standard input ending (e.g. </dev/null) just stops reading.
			c.session(stdin, stdout)
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	wg.Wait()
	return nil
}

// sendLine is the client side of --control, for scripts and the demo.
func sendLine(sock, line string, stdout io.Writer) error {
	if sock == "" {
		return errors.New("--send needs --control SOCK")
	}
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return fmt.Errorf("--send: %w", err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintln(conn, line); err != nil {
		return fmt.Errorf("--send: %w", err)
	}
	if uc, ok := conn.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
	reply, err := io.ReadAll(conn)
	if err != nil {
		return fmt.Errorf("--send: %w", err)
	}
	fmt.Fprint(stdout, string(reply))
	if strings.HasPrefix(string(reply), "error:") {
		return errors.New(strings.TrimSpace(strings.TrimPrefix(string(reply), "error:")))
	}
	return nil
}

func names() []string {
	var n []string
	for k := range devices {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func listenUnix(path string) (net.Listener, error) {
	_ = os.Remove(path) // a stale socket from a killed run
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("--control: %w", err)
	}
	return ln, nil
}

// console executes command lines against the running simulators.
type console struct {
	mu    sync.Mutex // one command at a time, in arrival order
	ports map[string]*sim.Port
	order []string
}

func (c *console) port(name string) (*sim.Port, error) {
	if name == "" {
		if len(c.ports) == 1 {
			return c.ports[c.order[0]], nil
		}
		return nil, errors.New("several devices run: name one")
	}
	p, ok := c.ports[name]
	if !ok {
		return nil, fmt.Errorf("device %q is not running", name)
	}
	return p, nil
}

// exec runs one line and returns the reply: the command's answer (the
// printer's transcript), else "ok", or "error: ...".
func (c *console) exec(line string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := strings.Fields(line)
	if len(f) == 0 {
		return ""
	}
	if f[0] == "help" {
		var b strings.Builder
		for _, n := range c.order {
			fmt.Fprintf(&b, "%s:\n%s", n, c.ports[n].Help())
		}
		return strings.TrimRight(b.String(), "\n")
	}
	if f[0] == "list" {
		var b strings.Builder
		for _, n := range c.order {
			fmt.Fprintf(&b, "%s %s plugged=%v\n", n, c.ports[n].Path(), c.ports[n].Plugged())
		}
		return strings.TrimRight(b.String(), "\n")
	}
	name := ""
	if _, ok := c.ports[f[0]]; ok {
		name, f = f[0], f[1:]
	}
	p, err := c.port(name)
	if err != nil {
		return "error: " + err.Error()
	}
	var answer strings.Builder
	if err := p.DoTo(strings.Join(f, " "), &answer); err != nil {
		return "error: " + err.Error()
	}
	if answer.Len() > 0 {
		return strings.TrimRight(answer.String(), "\n")
	}
	return "ok"
}

func (c *console) session(r io.Reader, w io.Writer) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if reply := c.exec(sc.Text()); reply != "" {
			fmt.Fprintln(w, reply)
		}
	}
}

func (c *console) serve(ln net.Listener, log *slog.Logger) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			c.session(conn, conn)
		}()
	}
}
