package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// alertAck acknowledges a terminal's open alert (form field note,
// optional). The alert stays open until its condition clears.
func (c *Console) alertAck(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, ok := c.terminalNamed(w, r)
	if !ok {
		return
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if utf8.RuneCountInString(note) > 500 {
		c.fail(w, r, http.StatusBadRequest, msg("alerts.error.note_too_long"))
		return
	}
	id := r.PathValue("alert")
	now := c.o.Now()
	// The kind makes the audit entry readable; the store checks again.
	es, err := c.st.AlertEntries(ctx, store.AlertFilter{TerminalID: t.ID, State: store.AlertOpen}, now)
	if err != nil {
		c.serverError(w, r, "alert ack", err)
		return
	}
	kind := ""
	for _, e := range es {
		if e.ID == id {
			kind = e.Kind
		}
	}
	detail := kind + " " + id
	if note != "" {
		detail += ": " + note
	}
	err = c.st.AckAlert(ctx, t.ID, id, store.AlertAck{At: now, By: actor(ctx), Note: note}, c.auditEntry(ctx, "alert.ack", "terminal:"+t.Name, detail))
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.fail(w, r, http.StatusNotFound, msg("alerts.error.no_such_alert"))
		return
	case errors.Is(err, store.ErrAlertResolved):
		c.fail(w, r, http.StatusConflict, msg("alerts.error.already_resolved"))
		return
	case err != nil:
		c.serverError(w, r, "alert ack", err)
		return
	}
	// done=KEY names a flash message (render.go flashes) once one is added.
	back := "/console/terminals/" + url.PathEscape(t.Name) + "?done=alert_ack#alerts"
	if r.PostFormValue("back") == "alerts" {
		back = "/console/alerts?done=alert_ack"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
