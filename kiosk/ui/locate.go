package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// AttractArea is the label Locate takes for the attract screen's tap area.
const AttractArea = "attract-area"

// target is something a resident can tap on the screen shown, registered
// when the screen is built so Locate need not walk widget renderers.
type target struct {
	label func() string // read when located: keyboard keys change with shift
	obj   fyne.CanvasObject
}

func (u *UI) addTarget(obj fyne.CanvasObject, label func() string) {
	if u.buildingWarn {
		u.warnTargets = append(u.warnTargets, target{label, obj})
		return
	}
	u.targets = append(u.targets, target{label, obj})
}

// Locate finds what a resident taps to choose label on the screen shown:
// a button or tile whose text is label — a translation key is translated
// into the current language first — or the attract screen's tap area
// (AttractArea). It returns the tappable and its centre in canvas
// coordinates. The end-to-end test runs the same layout in Fyne's test
// driver at the real window's size and clicks the real window there.
func (u *UI) Locate(label string) (fyne.Tappable, fyne.Position, error) {
	if u.cat.HasKey(label) {
		label = u.tr(label)
	}
	list := u.targets
	if u.warn != nil { // a modal popup: only its buttons can be tapped
		list = u.warnTargets
	}
	var found []target
	for _, t := range list {
		if t.label() != label || !t.obj.Visible() {
			continue
		}
		if b, ok := t.obj.(*widget.Button); ok && b.Disabled() {
			continue
		}
		if tl, ok := t.obj.(*tile); ok && tl.disabled {
			continue
		}
		found = append(found, t)
	}
	switch {
	case len(found) == 0:
		return nil, fyne.Position{}, fmt.Errorf("ui: nothing to tap labelled %q on screen %s", label, u.name)
	case len(found) > 1:
		return nil, fyne.Position{}, fmt.Errorf("ui: %d things labelled %q on screen %s", len(found), label, u.name)
	}
	o := found[0].obj
	pos := u.app.Driver().AbsolutePositionForObject(o).Add(fyne.NewPos(o.Size().Width/2, o.Size().Height/2))
	if cs := u.win.Canvas().Size(); pos.X <= 0 || pos.Y <= 0 || pos.X >= cs.Width || pos.Y >= cs.Height {
		return nil, fyne.Position{}, fmt.Errorf("ui: %q on screen %s is outside the window (%v)", label, u.name, pos)
	}
	return o.(fyne.Tappable), pos, nil
}

// Fleet states the window reports to the agent (POST /v1/screen), which
// passes them on in its heartbeat. They say what kind of screen is up,
// never what a resident does on it.
const (
	FleetAttract    = "attract"
	FleetSession    = "session"
	FleetService    = "service"
	FleetOutOfOrder = "out_of_order"
)

func fleetState(screen string) string {
	switch screen {
	case ScreenAttract:
		return FleetAttract
	case ScreenOutOfOrder, ScreenStarting, ScreenFirstRun, ScreenEnrolled: // not (yet) serving residents
		return FleetOutOfOrder
	case ScreenWorkshop: // the workshop's attract screen: nobody's session
		return FleetAttract
	case ScreenPIN, ScreenService, ScreenWorkshopModerator:
		return FleetService
	}
	return FleetSession
}

// screenSetter is implemented by *localapi.Client; a backend without it
// (tests' fakes) is simply not told.
type screenSetter interface {
	SetScreen(ctx context.Context, state string) error
}

// noteScreen is called on the Fyne goroutine when a screen is shown: a
// debug log line with the screen's name (the end-to-end test waits on
// it), and the fleet state for the reporter, latest value only.
func (u *UI) noteScreen(prev, name string) {
	if prev != name {
		u.log.Debug("screen", "screen", name)
	}
	st := fleetState(name)
	if st == u.fleetSent {
		return
	}
	u.fleetSent = st
	select {
	case <-u.fleetCh: // drop a state not yet sent: only the latest matters
	default:
	}
	u.fleetCh <- st
}

// reportScreens sends fleet states to the agent until ctx ends.
func (u *UI) reportScreens(ctx context.Context) {
	ss, ok := u.be.(screenSetter)
	if !ok {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case st := <-u.fleetCh:
			for ctx.Err() == nil {
				sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := ss.SetScreen(sctx, st)
				cancel()
				if err == nil || errors.Is(err, context.Canceled) {
					break
				}
				u.log.Warn("screen state not reported", "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Second):
				}
				if len(u.fleetCh) > 0 {
					break // a newer state waits
				}
			}
		}
	}
}
