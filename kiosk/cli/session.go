package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
	"github.com/quartierhub/quartierhub/kiosk/display"
)

// maxWestonINI bounds the base weston.ini read (an administrator's file).
const maxWestonINI = 64 << 10

// cmdSession holds what the locked-down session's units run besides the
// window: `kiosk session weston-ini` writes the compositor's weston.ini
// (the compositor unit's ExecStartPre).
func cmdSession(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "weston-ini" {
		return errors.New("usage: kiosk session weston-ini --data DIR --base FILE --out FILE [--output NAME]…")
	}
	fs := newFlags("session weston-ini", stderr)
	dir := fs.String("data", "", "the agent's data directory (its compositor.json has the hub's rotation)")
	base := fs.String("base", "/etc/quartierhub/weston.ini", "the weston.ini to start from")
	out := fs.String("out", "", "where to write the compositor's weston.ini")
	sysDRM := fs.String("sys-drm", "/sys/class/drm", "where the kernel lists display connectors")
	var outputs outputNames
	fs.Var(&outputs, "output", "an output name to rotate besides the DRM connectors (repeatable; x11 backend: X1)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	d, err := needDir(*dir)
	if err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out FILE is required")
	}
	f, err := os.Open(*base)
	if err != nil {
		return fmt.Errorf("session: base weston.ini: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxWestonINI+1))
	f.Close()
	if err != nil {
		return fmt.Errorf("session: base weston.ini: %w", err)
	}
	if len(b) > maxWestonINI {
		return fmt.Errorf("session: base weston.ini %s is larger than %d bytes", *base, maxWestonINI)
	}
	// A compositor that does not start leaves a black screen: with an
	// unreadable compositor.json it starts unrotated and says why.
	c, err := display.ReadCompositor(d)
	if err != nil {
		fmt.Fprintf(stderr, "kiosk session: %v; starting without rotation\n", err)
		c = display.Compositor{}
	}
	ini, err := display.WestonINI(b, c, append(display.Connectors(*sysDRM), outputs...))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := atomicfile.WriteFile(*out, ini, 0o644); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	fmt.Fprintf(stdout, "%s: rotation %d\n", *out, c.Rotation)
	return nil
}

type outputNames []string

func (o *outputNames) String() string { return strings.Join(*o, ",") }

func (o *outputNames) Set(v string) error {
	*o = append(*o, v)
	return nil
}
