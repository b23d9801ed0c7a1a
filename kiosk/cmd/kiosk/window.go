//go:build cgo

package main

import (
	"context"
	"os"
	"runtime/debug"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/internal/i18n"
	"github.com/quartierhub/quartierhub/kiosk/cli"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
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
	cat, err := i18n.Load(assets.I18n(), "de")
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
	u := ui.New(a, w, localapi.NewClient(opts.DataDir), ui.Opts{Catalog: cat, Version: opts.Version, Logger: opts.Logger, HideCursor: !opts.Windowed,
		OnStarted: releaseStartupMemory})
	// Something calm to look at until the agent answers (ui.Start).
	u.ShowStarting()
	if !opts.Windowed {
		// The UI keeps Fyne's pointer hidden from the first mouse motion on
		// (ui.Opts.HideCursor); until then GLFW shows X's pointer, so
		// hide it in GLFW as soon as the window exists.
		fyne.Do(func() { hideCursor(w, opts) })
	}
	go u.Start(ctx)
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
