package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// alertMute mutes a terminal's alert notices (form fields kind: "" for
// every kind or one kind; period: one of mutePeriods; until: a
// datetime-local when period is "until"; reason, required). Alerts still
// open, resolve and show; the webhook hears nothing of them meanwhile.
func (c *Console) alertMute(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	kind := r.PostFormValue("kind")
	if kind != "" && !slices.Contains(alertKinds, kind) {
		c.fail(w, r, http.StatusBadRequest, msg("alerts.error.choose_kind"))
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || utf8.RuneCountInString(reason) > 200 {
		c.fail(w, r, http.StatusBadRequest, msg("alerts.error.reason_missing"))
		return
	}
	now := c.o.Now()
	var until time.Time
	i := slices.IndexFunc(mutePeriods, func(p mutePeriod) bool { return p.Value == r.PostFormValue("period") })
	switch {
	case i < 0:
		c.fail(w, r, http.StatusBadRequest, msg("alerts.error.choose_period"))
		return
	case mutePeriods[i].For > 0:
		until = now.Add(mutePeriods[i].For)
	default:
		u, err := time.ParseInLocation(dateTimeLocal, r.PostFormValue("until"), time.Local)
		if err != nil || !u.After(now) || u.Sub(now) > maxMute {
			c.fail(w, r, http.StatusBadRequest, msg("alerts.error.until_not_future"))
			return
		}
		until = u
	}
	id, err := ulid.New(ulid.Timestamp(now), c.o.Rand)
	if err != nil {
		c.serverError(w, r, "mute", err)
		return
	}
	what := kind
	if what == "" {
		what = "all alerts"
	}
	m := store.AlertMute{ID: id.String(), TerminalID: t.ID, Kind: kind, Reason: reason, CreatedAt: now, CreatedBy: actor(ctx), Until: until}
	a := c.auditEntry(ctx, "alert.mute", "terminal:"+t.Name, fmt.Sprintf("%s until %s: %s", what, until.UTC().Format(time.RFC3339), reason))
	if err := c.st.CreateAlertMute(ctx, m, a); errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, msg("common.no_such_terminal"))
		return
	} else if err != nil {
		c.serverError(w, r, "mute", err)
		return
	}
	http.Redirect(w, r, "/console/terminals/"+url.PathEscape(t.Name)+"?done=alert_mute#alerts", http.StatusSeeOther)
}

// alertUnmute lifts a mute before its end.
func (c *Console) alertUnmute(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	id := r.PathValue("mute")
	err := c.st.LiftAlertMute(ctx, t.ID, id, c.o.Now(), actor(ctx), c.auditEntry(ctx, "alert.unmute", "terminal:"+t.Name, id))
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, msg("alerts.error.mute_ended"))
		return
	} else if err != nil {
		c.serverError(w, r, "unmute", err)
		return
	}
	http.Redirect(w, r, "/console/terminals/"+url.PathEscape(t.Name)+"?done=alert_unmute#alerts", http.StatusSeeOther)
}
