//go:build cgo

package main

import (
	"context"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

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
		w.Resize(fyne.NewSize(1280, 800))
	}
	// No way out but the service menu: closing is refused.
	w.SetCloseIntercept(func() {})
	u := ui.New(a, w, localapi.NewClient(opts.DataDir), ui.Opts{Catalog: cat, Version: opts.Version, Logger: opts.Logger, HideCursor: !opts.Windowed})
	go func() {
		// The agent may still be starting: try until the content loads.
		for ctx.Err() == nil {
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			c, st, err := u.Fetch(lctx)
			cancel()
			if err == nil {
				fyne.Do(func() { u.Apply(c, st) })
				u.Run(ctx)
				return
			}
			opts.Logger.Warn("waiting for the agent", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	go func() {
		<-ctx.Done()
		fyne.Do(a.Quit)
	}()
	w.ShowAndRun()
	return nil
}
