//go:build cgo

package main

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/cli"
	"github.com/quartierhub/quartierhub/kiosk/display"
	"github.com/quartierhub/quartierhub/kiosk/internal/sdnotify"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// The window needs cgo (OpenGL, X11); a CGO_ENABLED=0 build of this
// command is the headless agent and CLI only.
func init() { cli.Window = runWindow }

// windowMemoryLimit is the window process's soft heap limit. Its live
// heap is about 20 MiB, but laying out the first screens at 1920×1080
// briefly needs twice that, and with the default GOGC the heap would stay
// at that high-water mark. The limit makes the collector give it back;
// being soft, it never fails an allocation, only collects sooner. An
// explicit GOMEMLIMIT wins. Once the first screen stands, the start-up
// garbage is returned to the system at once (releaseStartupMemory).
const windowMemoryLimit = 40 << 20

func releaseStartupMemory() { debug.FreeOSMemory() }

func runWindow(ctx context.Context, opts cli.WindowOpts) error {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(windowMemoryLimit)
	}
	cat, err := assets.Catalog()
	if err != nil {
		return err
	}
	easy, err := assets.EasyCatalog()
	if err != nil {
		return err
	}
	a := app.NewWithID("org.quartierhub.kiosk")
	w := a.NewWindow("Quartierhub")
	w.SetPadded(false)
	if !opts.Windowed {
		w.SetFullScreen(true)
	} else {
		w.Resize(ui.WindowedSize)
	}
	// No way out but the service menu: closing is refused.
	w.SetCloseIntercept(func() {})
	client := localapi.NewClient(opts.DataDir)
	var speaker a11y.Speaker // nil, not a nil *Espeak: silent
	spk := startSpeech(ctx, opts.Speech, opts.Logger.With("component", "speech"))
	if spk != nil {
		speaker = spk
	}
	u := ui.New(a, w, client, ui.Opts{Speaker: speaker, Catalog: cat, EasyCatalog: easy, Version: opts.Version, Logger: opts.Logger, HideCursor: !opts.Windowed,
		OnStarted: func() {
			// systemd starts the window's dependents and counts it
			// started only once the resident can see it.
			afterPaint(ctx, w)
			releaseStartupMemory()
			if err := sdnotify.Ready(); err != nil {
				opts.Logger.Warn("systemd notify", "err", err)
			}
			opts.Logger.Info("first screen painted")
		},
		DisplaySettings: func(ctx context.Context) (*api.DisplaySettings, error) {
			rc, err := client.RemoteConfig(ctx)
			if err != nil {
				return nil, err
			}
			return display.FromDocument(rc.Document)
		},
		Backlight:   &display.Panel{Dir: "/sys/class/backlight"},
		SessionLock: session.NewLock(filepath.Join(opts.DataDir, session.LockFile), opts.Logger)})
	// Something calm to look at until the agent answers (ui.Start).
	u.ShowStarting()
	if !opts.Windowed {
		// The UI keeps Fyne's pointer hidden from the first mouse motion on
		// (ui.Opts.HideCursor); until then GLFW shows X's pointer, so
		// hide it in GLFW as soon as the window exists.
		fyne.Do(func() { hideCursor(w, opts) })
	}
	go u.Start(ctx)
	// The UI's reader lives on the Fyne goroutine.
	go watchJack(ctx, opts.Speech, spk, func(plugged bool) { fyne.Do(func() { u.Headphones(plugged) }) }, opts.Logger.With("component", "speech"))
	go feedWatchdog(ctx, opts)
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
	return nil
}

// hideCursor sets GLFW's cursor mode of w to hidden. Fyne gives no
// *glfw.Window, but its GLFW window runs code with its GL context
// current (RunWithContext), and that context is the window.
func hideCursor(w fyne.Window, opts cli.WindowOpts) {
	rc, ok := w.(interface{ RunWithContext(func()) })
	if !ok {
		opts.Logger.Warn("cursor: not a GLFW window; hidden from the first touch on")
		return
	}
	rc.RunWithContext(func() {
		if gw := glfw.GetCurrentContext(); gw != nil {
			gw.SetInputMode(glfw.CursorMode, glfw.CursorHidden)
		}
	})
}

// afterPaint returns once the window has painted its content as it is
// now (or ctx ended): a 1×1 transparent raster goes on top of it, the GL
// painter calls a raster's generator only while it paints a frame, and
// the next function the Fyne loop runs after that comes after the frame
// was swapped onto the screen.
func afterPaint(ctx context.Context, w fyne.Window) {
	painted := make(chan struct{})
	var once sync.Once
	marker := canvas.NewRaster(func(int, int) image.Image {
		once.Do(func() { close(painted) })
		return image.NewNRGBA(image.Rect(0, 0, 1, 1))
	})
	marker.Resize(fyne.NewSize(1, 1))
	fyne.DoAndWait(func() {
		w.SetContent(container.NewStack(w.Content(), container.NewWithoutLayout(marker)))
	})
	select {
	case <-painted:
		fyne.DoAndWait(func() {})
	case <-ctx.Done():
	}
}

// feedWatchdog feeds systemd's watchdog (WatchdogSec= of the window
// unit) from the Fyne loop: a UI thread that hangs stops the feeding and
// systemd restarts the window. Outside systemd it returns at once.
func feedWatchdog(ctx context.Context, opts cli.WindowOpts) {
	every, err := sdnotify.WatchdogInterval()
	if err != nil || every <= 0 {
		if err != nil {
			opts.Logger.Warn("systemd watchdog", "err", err)
		}
		return
	}
	opts.Logger.Info("feeding systemd's watchdog", "every", every.String())
	f := &sdnotify.Feeder{OnUIThread: fyne.Do}
	if err := f.Run(ctx, every); err != nil {
		opts.Logger.Error("systemd watchdog", "err", err)
	}
}
