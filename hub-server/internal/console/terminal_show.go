package console

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// historyRow is one health sample; the page writes its summary so
// every part of it is in the reader's language.
type historyRow struct {
	At     time.Time
	Reason string
	State  *api.Heartbeat // nil when the stored state cannot be read
}

type terminalData struct {
	Row             terminalRow
	Now             time.Time
	EffectiveConfig string // version the hub would send
	ConfigCurrent   bool   // the terminal runs it
	History         []historyRow
	Commands        []store.Command
	Alerts          []store.AlertEntry
	Mutes           []store.AlertMute // active now
	PastMutes       []store.AlertMute // ended, newest first (a few)
	MuteForm        muteForm
	Diagnostics     []diagnosticsRow
	Screenshot      *store.ScreenshotInfo // the newest, if any
	ScreenshotSize  string
	Audit           []store.Audit
	CommandKinds    []string
	Air             terminalAir // its air charts (air_show.go)
}

type diagnosticsRow struct {
	store.DiagnosticsInfo
	Size string
}

// terminalNamed loads the terminal of the {name} path value; it answers
// 404 itself when there is none.
func (c *Console) terminalNamed(w http.ResponseWriter, r *http.Request) (store.Terminal, bool) {
	t, err := c.st.TerminalByName(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, msg("common.no_such_terminal"))
		return t, false
	} else if err != nil {
		c.serverError(w, r, "terminal", err)
		return t, false
	}
	return t, true
}

func (c *Console) terminalShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	now := c.o.Now()
	var hb *api.Heartbeat
	if h, err := c.st.Health(ctx, t.ID); err == nil {
		hb = parseHealth(h)
	} else if !errors.Is(err, store.ErrNotFound) {
		c.serverError(w, r, "terminal health", err)
		return
	}
	alerts, err := c.st.AlertEntries(ctx, store.AlertFilter{TerminalID: t.ID, Limit: 20}, now)
	if err != nil {
		c.serverError(w, r, "terminal alerts", err)
		return
	}
	var open []store.Alert
	for _, a := range alerts {
		if a.State == store.AlertOpen {
			open = append(open, a.Alert)
		}
	}
	d := terminalData{Row: c.row(t, hb, open, now), Now: now, Alerts: alerts, CommandKinds: api.CommandKinds, MuteForm: newMuteForm(now)}
	mutes, err := c.st.AlertMutes(ctx, store.MuteFilter{TerminalID: t.ID, Limit: 20})
	if err != nil {
		c.serverError(w, r, "terminal mutes", err)
		return
	}
	for _, m := range mutes {
		if m.ActiveAt(now) {
			d.Mutes = append(d.Mutes, m)
		} else if !m.CreatedAt.After(now) && len(d.PastMutes) < 5 {
			d.PastMutes = append(d.PastMutes, m)
		}
	}
	if p := principalFrom(ctx); Can(p.user.Role, ViewDiags) {
		ds, err := c.st.DiagnosticsList(ctx, t.ID, 10)
		if err != nil {
			c.serverError(w, r, "terminal diagnostics", err)
			return
		}
		for _, di := range ds {
			d.Diagnostics = append(d.Diagnostics, diagnosticsRow{DiagnosticsInfo: di, Size: sizeText(di.Size)})
		}
	}
	if p := principalFrom(ctx); Can(p.user.Role, ViewScreens) {
		shots, err := c.st.Screenshots(ctx, t.ID, 1)
		if err != nil {
			c.serverError(w, r, "terminal screenshots", err)
			return
		}
		if len(shots) > 0 {
			d.Screenshot, d.ScreenshotSize = &shots[0], sizeText(shots[0].Size)
		}
	}
	hist, err := c.st.HealthHistory(ctx, t.ID, now.Add(-7*24*time.Hour), 0)
	if err != nil {
		c.serverError(w, r, "terminal history", err)
		return
	}
	for _, h := range hist[max(0, len(hist)-20):] {
		d.History = append(d.History, historyRow{At: h.At, Reason: h.Reason, State: parseHealth(store.Health{State: h.State})})
	}
	slices.Reverse(d.History)
	if d.Commands, err = c.st.Commands(ctx, store.CommandFilter{TerminalID: t.ID, Limit: 20}); err != nil {
		c.serverError(w, r, "terminal commands", err)
		return
	}
	if p := principalFrom(ctx); Can(p.user.Role, ViewAudit) {
		if d.Audit, err = c.st.AuditEntries(ctx, store.AuditFilter{Subject: "terminal:" + t.Name, Limit: 20}); err != nil {
			c.serverError(w, r, "terminal audit", err)
			return
		}
	}
	if d.Air, err = c.terminalAirOf(ctx, c.lang(r, principalFrom(ctx), false), t, now); err != nil {
		c.serverError(w, r, "terminal air", err)
		return
	}
	layers, err := c.st.ConfigLayers(ctx)
	if err != nil {
		c.serverError(w, r, "terminal config", err)
		return
	}
	own := false
	for _, l := range layers {
		own = own || slices.Contains(fleet.Scopes(t.Quarter, t.Name), l.Scope)
	}
	if doc, err := c.configs.For(ctx, t.Quarter, t.Name); err == nil && own {
		d.EffectiveConfig = doc.Version
		d.ConfigCurrent = hb != nil && hb.ConfigVersion == doc.Version
	}
	c.render(w, r, http.StatusOK, "terminal", verbatim(t.Name), "fleet", d)
}
