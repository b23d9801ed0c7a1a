package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// Maintenance windows: when a quarter's terminals may install an update
// (api.MaintenanceWindow); the row of quarter "" is the default for
// quarters without their own. The rollout engine hands a terminal its
// quarter's window with the update offer.

// windowForm is one window's form: as stored, or as a person sent it.
type windowForm struct {
	Quarter  string
	Days     []string
	Start    string
	Duration string // minutes, as typed
	TimeZone string
	// Updated is the stored row's update time (unix nanoseconds, "0":
	// none) the form was loaded with; a save on another is a conflict.
	Updated   string
	UpdatedBy string
	// New: the form adds a quarter's window (the add form).
	New   bool
	Error *Message
}

func (f windowForm) HasDay(d string) bool { return slices.Contains(f.Days, d) }

type windowListData struct {
	// Default is the default window's form (New when there is none);
	// Windows the quarters' own.
	Default windowForm
	Windows []windowForm
	// Add is the form for a quarter's own window; Quarters the quarters
	// of the fleet without one, offered there.
	Add      windowForm
	Quarters []string
	Weekdays []string
	Error    *Message
}

// defaultWindowForm is a new window's form: nights from 02:00 for two
// hours, every day, in the hub's city's time zone.
func defaultWindowForm(quarter string) windowForm {
	return windowForm{Quarter: quarter, Days: weekdays, Start: "02:00", Duration: "120", TimeZone: "Europe/Berlin", Updated: "0", New: true}
}

func windowFormOf(w store.MaintenanceWindow) windowForm {
	return windowForm{Quarter: w.Quarter, Days: w.Days, Start: w.Start, Duration: strconv.Itoa(w.DurationMinutes), TimeZone: w.TimeZone,
		Updated: strconv.FormatInt(w.UpdatedAt.UnixNano(), 10), UpdatedBy: w.UpdatedBy}
}

func (c *Console) windowList(w http.ResponseWriter, r *http.Request) {
	c.showWindows(w, r, http.StatusOK, nil)
}

// showWindows shows the windows; sent, when set, is a refused form
// shown in place of its quarter's with its error.
func (c *Console) showWindows(w http.ResponseWriter, r *http.Request, status int, sent *windowForm) {
	ctx := r.Context()
	ws, err := c.st.MaintenanceWindows(ctx)
	if err != nil {
		c.serverError(w, r, "windows", err)
		return
	}
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		c.serverError(w, r, "windows", err)
		return
	}
	d := windowListData{Default: defaultWindowForm(""), Add: defaultWindowForm(""), Weekdays: weekdays}
	own := map[string]bool{}
	for _, win := range ws {
		if win.Quarter == "" {
			d.Default = windowFormOf(win)
			continue
		}
		own[win.Quarter] = true
		d.Windows = append(d.Windows, windowFormOf(win))
	}
	quarters, _ := quartersAndTags(ts)
	for _, q := range quarters {
		if !own[q] {
			d.Quarters = append(d.Quarters, q)
		}
	}
	if sent != nil {
		// A conflict shows the person's entries on the version now
		// stored, so saving them again replaces it knowingly.
		take := func(stored *windowForm) {
			f := *sent
			f.New, f.UpdatedBy = stored.New, stored.UpdatedBy
			if status == http.StatusConflict {
				f.Updated = stored.Updated
			}
			*stored = f
		}
		switch i := slices.IndexFunc(d.Windows, func(f windowForm) bool { return f.Quarter == sent.Quarter }); {
		case sent.New && i >= 0:
			// Added meanwhile by someone else: show it as theirs, with the
			// person's entries in the add form.
			d.Add = *sent
			d.Add.Updated = d.Windows[i].Updated
		case sent.New || (sent.Quarter != "" && i < 0):
			d.Add = *sent
		case sent.Quarter == "":
			take(&d.Default)
		default:
			take(&d.Windows[i])
		}
	}
	c.render(w, r, status, "windows", msg("windows.title"), "updates", d)
}

// windowSave sets (op=save) or removes (op=delete) one quarter's window,
// or the default (quarter ""). The form carries the row's update time it
// was loaded with; another admin's change in between is a conflict,
// never overwritten.
func (c *Console) windowSave(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f := windowForm{Quarter: strings.TrimSpace(r.PostFormValue("quarter")), Days: r.PostForm["days"],
		Start: strings.TrimSpace(r.PostFormValue("start")), Duration: strings.TrimSpace(r.PostFormValue("duration")),
		TimeZone: strings.TrimSpace(r.PostFormValue("time_zone")), Updated: r.PostFormValue("updated"), New: r.PostFormValue("add") == "yes"}
	refuse := func(status int, problem *Message) {
		f.Error = problem
		c.showWindows(w, r, status, &f)
	}
	if len(f.Quarter) > 100 || strings.IndexFunc(f.Quarter, unicode.IsControl) >= 0 || (f.New && f.Quarter == "") {
		refuse(http.StatusBadRequest, msg("windows.error.quarter"))
		return
	}
	ws, err := c.st.MaintenanceWindows(ctx)
	if err != nil {
		c.serverError(w, r, "windows", err)
		return
	}
	loaded := "0"
	if i := slices.IndexFunc(ws, func(x store.MaintenanceWindow) bool { return x.Quarter == f.Quarter }); i >= 0 {
		loaded = strconv.FormatInt(ws[i].UpdatedAt.UnixNano(), 10)
	}
	if f.Updated != loaded {
		c.o.Logger.Info("console: window edit conflict")
		refuse(http.StatusConflict, msg("windows.error.conflict"))
		return
	}
	subject := "window:" + f.Quarter
	if f.Quarter == "" {
		subject = "window:default"
	}
	if r.PostFormValue("op") == "delete" {
		err := c.st.DeleteMaintenanceWindow(ctx, f.Quarter, c.auditEntry(ctx, "window.delete", subject, ""))
		if errors.Is(err, store.ErrNotFound) {
			refuse(http.StatusConflict, msg("windows.error.conflict"))
			return
		} else if err != nil {
			c.serverError(w, r, "window delete", err)
			return
		}
		c.redirect(w, r, "/console/windows", "window")
		return
	}
	minutes, err := strconv.Atoi(f.Duration)
	if err != nil {
		minutes = -1
	}
	win := store.MaintenanceWindow{Quarter: f.Quarter, MaintenanceWindow: api.MaintenanceWindow{Days: weekdaysInOrder(f.Days), Start: f.Start,
		DurationMinutes: minutes, TimeZone: f.TimeZone}, UpdatedAt: c.o.Now(), UpdatedBy: actor(ctx)}
	if problem := windowProblem(win.MaintenanceWindow); problem != nil {
		refuse(http.StatusBadRequest, problem)
		return
	}
	detail := fmt.Sprintf("%s from %s for %d min, %s", strings.Join(win.Days, ","), win.Start, win.DurationMinutes, win.TimeZone)
	if err := c.st.PutMaintenanceWindow(ctx, win, c.auditEntry(ctx, "window.set", subject, detail)); err != nil {
		c.serverError(w, r, "window save", err)
		return
	}
	c.redirect(w, r, "/console/windows", "window")
}

// weekdays are api.Weekdays as a European week runs, Monday first.
var weekdays = append(slices.Clone(api.Weekdays[1:]), api.Weekdays[0])

// weekdaysInOrder is days in the week's order, each once; an unknown day
// is kept, for Validate to name it.
func weekdaysInOrder(days []string) []string {
	var out []string
	for _, d := range weekdays {
		if slices.Contains(days, d) {
			out = append(out, d)
		}
	}
	for _, d := range days {
		if !slices.Contains(api.Weekdays, d) && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// windowProblem is what is wrong with a window, field by field in the
// reader's language, then anything else api.MaintenanceWindow.Validate
// finds, as it says it; nil when nothing is.
func windowProblem(w api.MaintenanceWindow) *Message {
	if len(w.Days) == 0 {
		return msg("windows.error.days")
	}
	if _, err := time.Parse("15:04", w.Start); err != nil || len(w.Start) != 5 {
		return msg("windows.error.start")
	}
	if w.DurationMinutes < 1 || w.DurationMinutes > api.MaxWindowMinutes {
		return msg("windows.error.duration", "max", api.MaxWindowMinutes)
	}
	if w.TimeZone == "" || len(w.TimeZone) > 64 {
		return msg("windows.error.time_zone", "zone", w.TimeZone)
	}
	if _, err := time.LoadLocation(w.TimeZone); err != nil {
		return msg("windows.error.time_zone", "zone", w.TimeZone)
	}
	if err := w.Validate(); err != nil {
		return verbatim(err.Error())
	}
	return nil
}
