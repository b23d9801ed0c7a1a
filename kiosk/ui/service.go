package ui

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/a11y"
	"github.com/quartierhub/quartierhub/kiosk/session"
	"github.com/quartierhub/quartierhub/kiosk/ui/backend"
)

// ServiceIdle closes the PIN pad or the service menu when nobody uses it.
const ServiceIdle = 2 * time.Minute

// maxPINTries before the PIN pad closes.
const maxPINTries = 3

// sbutton is a service-menu button: its taps keep the menu open.
func (u *UI) sbutton(label string, icon fyne.Resource, imp widget.Importance, f func()) fyne.CanvasObject {
	b := widget.NewButtonWithIcon(label, icon, func() { u.serviceLast = u.opts.Now(); f() })
	b.Importance = imp
	u.addTarget(b, func() string { return b.Text })
	u.node(accNode{Node: a11y.Node{Role: a11y.RoleButton, Action: b.OnTapped, Back: icon == theme.NavigateBackIcon(), Target: b},
		live: func() string { return b.Text }})
	return touch(b)
}

// pinButton is a digit of the PIN pad: said only into headphones (a
// PIN's digits heard from the loudspeaker would be anyone's).
func (u *UI) pinButton(k string) fyne.CanvasObject {
	o := u.sbutton(k, nil, widget.MediumImportance, func() { u.pinKey(k) })
	if n := len(u.nodes); n > 0 && !u.buildingWarn {
		u.nodes[n-1].Role, u.nodes[n-1].Private = a11y.RoleKey, true
	}
	return o
}

func (u *UI) serviceTick() {
	if u.opts.Now().Sub(u.serviceLast) >= ServiceIdle {
		u.closeService()
	}
}

// askPIN ends whatever runs and asks for the PIN of the card with hash:
// the service PIN, or with moderator the moderator's PIN, which opens
// only the workshop's screen (workshop.go).
func (u *UI) askPIN(hash string, moderator bool) {
	u.sess.End(session.EndDone)
	u.hideWarning()
	u.pin, u.serviceMsg, u.serviceLast = "", "", u.opts.Now()     // wrong tries count on until the pad closes
	u.ws.modCard, u.ws.modPIN, u.ws.modOnly = hash, "", moderator // a moderator's switch needs the card and PIN
	u.show(ScreenPIN, u.pinScreen)
}

func (u *UI) closeService() {
	u.pin, u.pinTries, u.serviceMsg = "", 0, ""
	u.ws.modCard, u.ws.modPIN, u.ws.modMsg, u.ws.modOnly = "", "", "", false
	if u.outOfOrder {
		u.show(ScreenOutOfOrder, u.outOfOrderScreen)
		return
	}
	u.showAttract()
}

// pinScreen asks for the service PIN after a service card, or for the
// moderator's PIN after a moderator's card.
func (u *UI) pinScreen() fyne.CanvasObject {
	if u.serviceLast.IsZero() || u.name != ScreenPIN {
		u.serviceLast = u.opts.Now()
	}
	// Not an item of its own: "black circle, white circle" says nothing
	// a digit key's answer does not.
	dots := widget.NewLabel(strings.Repeat("●", len(u.pin)) + strings.Repeat("○", max(0, 4-len(u.pin))))
	dots.SizeName, dots.TextStyle.Bold = theme.SizeNameHeadingText, true
	dots.Alignment = fyne.TextAlignCenter
	pad := container.NewGridWithColumns(3)
	digits := strings.Split("1234567890", "")
	for _, k := range digits[:9] {
		pad.Add(u.pinButton(k))
	}
	pad.Add(u.sbutton(u.tr("keyboard.delete"), theme.ContentUndoIcon(), widget.MediumImportance, func() {
		if u.pin != "" {
			u.pin = u.pin[:len(u.pin)-1]
		}
		u.render()
	}))
	pad.Add(u.pinButton(digits[9]))
	pad.Add(u.sbutton(u.tr("service.pin.ok"), theme.ConfirmIcon(), widget.HighImportance, u.checkPIN))
	title := u.tr("service.pin.title")
	if u.ws.modOnly {
		title = u.tr("workshop.mod.pin_title")
	}
	box := container.NewVBox(u.heading(title), dots)
	if u.serviceMsg != "" {
		box.Add(u.notice(theme.WarningIcon(), u.serviceMsg))
	}
	box.Add(pad)
	box.Add(u.sbutton(u.tr("service.close"), theme.CancelIcon(), widget.MediumImportance, u.closeService))
	return centre(480, box)
}

func (u *UI) pinKey(k string) {
	if len(u.pin) < api.MaxPINLen {
		u.pin += k
	}
	u.render()
}

func (u *UI) checkPIN() {
	pin, hash, moderator := u.pin, u.content.ServicePIN, u.ws.modOnly
	if moderator {
		hash = u.content.ModeratorPIN
	}
	u.pin = ""
	var ok bool
	u.opts.Async(func() { ok = hash != "" && api.CheckPIN(hash, pin) }, func() {
		if u.name != ScreenPIN {
			return
		}
		if ok {
			u.pinTries, u.serviceMsg = 0, ""
			u.ws.modPIN = pin // for a moderator's workshop switch, while the menu is open
			if moderator {
				u.showWorkshopModerator()
				return
			}
			u.show(ScreenService, u.serviceScreen)
			return
		}
		u.pinTries++
		if u.pinTries >= maxPINTries {
			u.log.Warn("service menu: too many wrong PINs")
			u.closeService()
			return
		}
		u.serviceMsg = u.tr("service.pin.wrong")
		u.render()
	})
}

// serviceScreen is the service menu for IT staff.
func (u *UI) serviceScreen() fyne.CanvasObject {
	st := u.status
	yes := func(b bool) string {
		if b {
			return u.tr("service.yes")
		}
		return u.tr("service.no")
	}
	info := widget.NewForm(
		widget.NewFormItem(u.tr("service.version"), u.wrapped(st.Version)),
		widget.NewFormItem(u.tr("service.enrolled"), u.wrapped(yes(st.Terminal.Enrolled)+" "+st.Terminal.Name+" "+st.Terminal.Quarter+" "+st.Terminal.TerminalID)),
		widget.NewFormItem(u.tr("service.hub"), u.wrapped(st.Terminal.HubURL+" – "+u.tr("service.reachable")+": "+yes(st.Sync.HubReachable))),
		widget.NewFormItem(u.tr("service.last_sync"), u.wrapped(stamp(st.Sync.LastSync))),
		widget.NewFormItem(u.tr("service.content"), u.wrapped(u.content.Version)),
	)
	if st.Sync.LastError != "" {
		info.Append(u.tr("service.last_error"), u.wrapped(st.Sync.LastError))
	}
	var classes []string
	for c := range st.Outbox.Classes {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, c := range classes {
		cs := st.Outbox.Classes[c]
		info.Append(u.tr("service.outbox", "class", c), u.wrapped(u.tr("service.outbox_value", "count", cs.Count, "bytes", cs.Bytes)))
	}
	devs := widget.NewForm()
	for _, d := range st.Devices {
		line := d.State
		if d.Error != "" {
			line += " – " + d.Error
		}
		var keys []string
		for k := range d.Detail {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			line += fmt.Sprintf("\n%s: %v", k, d.Detail[k])
		}
		devs.Append(d.Name+" ("+d.Kind+")", u.wrapped(line))
	}
	sensors := container.NewVBox()
	for _, q := range session.Quantities {
		if r, ok := u.latest[q]; ok {
			sensors.Add(u.airLine(q, r.Value))
		}
	}
	actions := newColumns(0, 5,
		u.sbutton(u.tr("service.refresh"), theme.ViewRefreshIcon(), widget.MediumImportance, u.refreshService),
		u.sbutton(u.tr("service.test_print"), theme.DocumentPrintIcon(), widget.MediumImportance, u.testPrint),
		u.sbutton(u.tr("service.sync_now"), theme.UploadIcon(), widget.MediumImportance, u.syncNow),
		u.sbutton(u.tr("workshop.mod.open"), theme.ListIcon(), widget.MediumImportance, u.showWorkshopModerator),
		u.sbutton(u.tr("service.close"), theme.CancelIcon(), widget.HighImportance, u.closeService))
	top := container.NewVBox(u.heading(u.tr("service.title")))
	if u.serviceMsg != "" {
		top.Add(u.notice(theme.InfoIcon(), u.serviceMsg))
	}
	cols := newColumns(18*theme.TextSize(), 2,
		container.NewVBox(u.subheading(u.tr("service.terminal")), info, u.subheading(u.tr("service.sensors")), sensors),
		container.NewVBox(u.subheading(u.tr("service.devices")), devs))
	return container.NewBorder(top, actions, nil, nil, u.vscroll(cols))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func (u *UI) refreshService() {
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if st, err := u.be.Status(ctx); err == nil {
			u.pendingStatus = &st
		}
	}, func() {
		if u.pendingStatus != nil {
			u.setStatus(*u.pendingStatus)
			u.pendingStatus = nil
		}
		if u.name == ScreenService {
			u.render()
		}
	})
}

func (u *UI) testPrint() {
	r := session.TestReceipt(session.Tr(u.tr), u.status.Terminal.Name, u.opts.Now())
	var err error
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = u.be.Print(ctx, backend.Receipt(r))
	}, func() {
		u.serviceMsg = u.tr("service.printed")
		if err != nil {
			u.serviceMsg = u.tr("service.print_failed", "error", err.Error())
		}
		if u.name == ScreenService {
			u.render()
		}
	})
}

func (u *UI) syncNow() {
	var sent int
	var err error
	u.opts.Async(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r, e := u.be.SyncNow(ctx)
		sent, err = r.Sent, e
	}, func() {
		u.serviceMsg = u.tr("service.synced", "n", strconv.Itoa(sent))
		if err != nil {
			u.serviceMsg = u.tr("service.sync_failed", "error", err.Error())
		}
		u.refreshService()
	})
}
