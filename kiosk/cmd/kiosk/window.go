//go:build cgo

package main

import (
	"context"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/quartierhub/quartierhub/assets"
	"github.com/quartierhub/quartierhub/kiosk/cli"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/session/i18n"
	"github.com/quartierhub/quartierhub/kiosk/ui"
)

// The window needs cgo (OpenGL, X11); a CGO_ENABLED=0 build of this
// command is the headless agent and CLI only.
func init() { cli.Window = runWindow }

func runWindow(ctx context.Context, opts cli.WindowOpts) error {
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
	u := ui.New(a, w, localapi.NewClient(opts.DataDir), ui.Opts{Catalog: cat, Version: opts.Version, Logger: opts.Logger, HideCursor: !opts.Windowed})
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
