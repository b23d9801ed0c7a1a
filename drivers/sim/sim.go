// Package sim runs simulated serial devices on pseudo-terminals, so tests and
// the demo exercise the real serial code path (tarm/serial on a tty) without
// hardware. A Port owns one pty pair: the device speaks on the master side,
// the driver opens the slave side (or a symlink to it, as udev would make).
//
// Faults every simulator can produce (docs/protocols.md, "Rules for every
// driver"): garbage before a frame, a frame split across writes, two frames
// in one write, a bad checksum, a truncated frame, silence, and a vanished
// port (Unplug, then Replug).
//
// Device protocols live in the subpackages (rdm6300sim, pn532sim, escpossim,
// sds011sim, mhz19sim); each implements Device.
package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"
)

// Device is a simulated device protocol.
type Device interface {
	// Name is the device kind, e.g. "sds011".
	Name() string
	// Serve speaks the protocol on l until ctx ends or l fails. It is
	// started again on a fresh Line after every Replug.
	Serve(ctx context.Context, l *Line) error
	// Do applies one device-specific script command, e.g.
	// []string{"present", "01004CA53B"}. Unknown commands are an error.
	Do(args []string) error
	// Help describes the device's script commands, one per line.
	Help() string
}

// Answerer is a Device some of whose script commands answer with text
// (escpossim's "transcript"): DoTo is Do with the answer written to w, so
// it reaches whoever sent the command rather than the device's own output.
type Answerer interface {
	DoTo(args []string, w io.Writer) error
}

// Opts configures a Port. Zero values take the documented defaults.
type Opts struct {
	// Link, if set, is a symlink kept pointing at the current slave tty,
	// removed on Unplug and re-created on Replug (as udev does).
	Link string
	// Seed seeds the garbage generator; 0 means 1, so runs repeat.
	Seed uint64
	// SplitGap is the pause between the parts of a split frame. Default 20ms,
	// long enough that the reader sees separate reads.
	SplitGap time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Port is one simulated device on a pty pair.
type Port struct {
	dev  Device
	opts Opts
	line *Line // fault settings survive replugs

	mu      sync.Mutex
	master  *os.File
	slave   *os.File
	tty     string
	cancel  context.CancelFunc
	done    chan struct{}
	serveEr error
	parent  context.Context
}

// Start opens a pty pair for dev and starts serving on it.
func Start(ctx context.Context, dev Device, opts Opts) (*Port, error) {
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.SplitGap == 0 {
		opts.SplitGap = 20 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Port{dev: dev, opts: opts, parent: ctx}
	p.line = &Line{rnd: rand.New(rand.NewPCG(opts.Seed, 0x5157)), splitGap: opts.SplitGap}
	if err := p.plug(); err != nil {
		return nil, err
	}
	return p, nil
}

// Device returns the simulated device.
func (p *Port) Device() Device { return p.dev }

// Line returns the fault injector shared by all plug cycles.
func (p *Port) Line() *Line { return p.line }

// Path is what a driver should open: the link if configured, else the tty.
func (p *Port) Path() string {
	if p.opts.Link != "" {
		return p.opts.Link
	}
	return p.TTY()
}

// TTY is the current slave device, e.g. /dev/pts/7; empty while unplugged.
func (p *Port) TTY() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tty
}

func (p *Port) String() string {
	return fmt.Sprintf("sim.Port(%s on %s)", p.dev.Name(), p.Path())
}

// Plugged reports whether the device is currently attached.
func (p *Port) Plugged() bool { return p.TTY() != "" }

func (p *Port) plug() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty != "" {
		return nil
	}
	m, s, err := pty.Open()
	if err != nil {
		return fmt.Errorf("sim: open pty: %w", err)
	}
	if err := makeRaw(s); err != nil {
		m.Close()
		s.Close()
		return fmt.Errorf("sim: raw mode: %w", err)
	}
	pm, err := pollable(m)
	if err != nil {
		s.Close()
		return fmt.Errorf("sim: pty master: %w", err)
	}
	if p.opts.Link != "" {
		if err := relink(s.Name(), p.opts.Link); err != nil {
			pm.Close()
			s.Close()
			return err
		}
	}
	p.master, p.slave, p.tty = pm, s, s.Name()
	ctx, cancel := context.WithCancel(p.parent)
	p.cancel = cancel
	p.done = make(chan struct{})
	p.line.attach(pm)
	go func(done chan struct{}) {
		defer close(done)
		err := p.dev.Serve(ctx, p.line)
		if err != nil && ctx.Err() == nil {
			p.opts.Logger.Warn("simulator stopped", "device", p.dev.Name(), "err", err)
			p.mu.Lock()
			p.serveEr = err
			p.mu.Unlock()
		}
	}(p.done)
	p.opts.Logger.Debug("simulator plugged", "device", p.dev.Name(), "tty", p.tty, "link", p.opts.Link)
	return nil
}

// Unplug makes the device vanish: the pty closes (reads and writes on the
// driver's side fail) and the link disappears.
func (p *Port) Unplug() error {
	p.mu.Lock()
	if p.tty == "" {
		p.mu.Unlock()
		return nil
	}
	cancel, done, m, s := p.cancel, p.done, p.master, p.slave
	p.tty, p.master, p.slave = "", nil, nil
	p.mu.Unlock()

	var errs []error
	if p.opts.Link != "" {
		if err := os.Remove(p.opts.Link); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	cancel()
	p.line.detach()
	errs = append(errs, m.Close(), s.Close())
	<-done
	return errors.Join(errs...)
}

// Replug attaches the device again on a new pty.
func (p *Port) Replug() error { return p.plug() }

// Close unplugs the device for good.
func (p *Port) Close() error { return p.Unplug() }

// Do applies one script command: a generic one (see Help) or the device's.
// A device's answer (see Answerer) goes to the device's own output.
func (p *Port) Do(line string) error { return p.DoTo(line, nil) }

// DoTo is Do with a command's answer written to w (nil: the device's own
// output).
func (p *Port) DoTo(line string, w io.Writer) error {
	args := strings.Fields(line)
	if len(args) == 0 {
		return nil
	}
	switch args[0] {
	case "unplug":
		return p.Unplug()
	case "replug":
		return p.Replug()
	case "garbage", "split", "double", "badsum", "truncate":
		n := 1
		if len(args) > 1 {
			v, err := strconv.Atoi(args[1])
			if err != nil || v < 1 {
				return fmt.Errorf("sim: %s: count %q is not a positive number", args[0], args[1])
			}
			n = v
		}
		for range n {
			p.line.Inject(Fault(args[0]))
		}
		return nil
	case "silence":
		if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
			return errors.New("sim: usage: silence on|off")
		}
		p.line.SetSilent(args[1] == "on")
		return nil
	}
	var err error
	if a, ok := p.dev.(Answerer); ok && w != nil {
		err = a.DoTo(args, w)
	} else {
		err = p.dev.Do(args)
	}
	if err != nil {
		return fmt.Errorf("sim: %s: %w", p.dev.Name(), err)
	}
	return nil
}

// Help lists every script command this port understands.
func (p *Port) Help() string {
	return `wait DURATION        pause the script (e.g. wait 2s)
unplug | replug      make the port vanish / come back
garbage [N]          random bytes before the next N frames
split [N]            next N frames written in pieces
double [N]           next N frames sent together with the one after
badsum [N]           next N frames with a wrong checksum
truncate [N]         next N frames cut short
silence on|off       stop / resume sending anything
` + p.dev.Help()
}

// RunScript executes a script: one command per line, '#' starts a comment,
// "wait DURATION" pauses and a final "loop" starts over. Each executed line
// is echoed to log if it is not nil.
func (p *Port) RunScript(ctx context.Context, script string, log io.Writer) error {
	lines := strings.Split(script, "\n")
	for {
		looped := false
		for i, raw := range lines {
			line := strings.TrimSpace(raw)
			if j := strings.IndexByte(line, '#'); j >= 0 {
				line = strings.TrimSpace(line[:j])
			}
			if line == "" {
				continue
			}
			if log != nil {
				fmt.Fprintf(log, "%s: %s\n", p.dev.Name(), line)
			}
			args := strings.Fields(line)
			switch args[0] {
			case "loop":
				looped = true
				continue
			case "wait":
				if len(args) != 2 {
					return fmt.Errorf("sim: script line %d: usage: wait DURATION", i+1)
				}
				d, err := time.ParseDuration(args[1])
				if err != nil {
					return fmt.Errorf("sim: script line %d: %w", i+1, err)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(d):
				}
				continue
			}
			if err := p.Do(line); err != nil {
				return fmt.Errorf("sim: script line %d: %w", i+1, err)
			}
		}
		if !looped || ctx.Err() != nil {
			return nil
		}
	}
}

// relink points link at target atomically, creating its directory.
func relink(target, link string) error {
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fmt.Errorf("sim: link dir: %w", err)
	}
	// renameio replaces the link through a uniquely named temporary one,
	// so simulators sharing a directory never take each other's.
	if err := renameio.Symlink(target, link); err != nil {
		return fmt.Errorf("sim: link: %w", err)
	}
	return nil
}

// makeRaw puts the tty in raw mode, 8N1, so bytes pass unchanged before the
// driver opens it (it sets raw mode itself when it does).
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// pollable re-opens the master fd in non-blocking mode so that Close
// interrupts a pending Read (creack/pty hands out a blocking file).
func pollable(m *os.File) (*os.File, error) {
	fd, err := syscall.Dup(int(m.Fd()))
	m.Close()
	if err != nil {
		return nil, err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "/dev/ptmx"), nil
}
