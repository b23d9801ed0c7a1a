package console

import (
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

type auditData struct {
	Entries                []store.Audit
	Actor, Action, Subject string
}

func (c *Console) auditList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := auditData{Actor: q.Get("actor"), Action: q.Get("action"), Subject: q.Get("subject")}
	var err error
	d.Entries, err = c.st.AuditEntries(r.Context(), store.AuditFilter{Actor: d.Actor, Action: d.Action, Subject: d.Subject, Limit: 500})
	if err != nil {
		c.serverError(w, r, "audit", err)
		return
	}
	c.render(w, r, http.StatusOK, "audit", msg("common.audit_log"), "audit", d)
}
