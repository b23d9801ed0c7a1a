package console

import (
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

type reportShowData struct {
	R      reportView
	Next   []string
	Public string
	Audit  []store.Audit
	Error  *Message
	Form   reportForm // what the form shows: the stored state, or what was posted
	// RefShared: another report's record ID ends like this one's, so
	// they share the public reference; RefOwner: the public page shows
	// this one (store.ReportByRef), without the resident's text.
	RefShared, RefOwner bool
}

// reportForm is the workflow form's content.
type reportForm struct {
	Status, Note string
	Publish      bool
	Version      int64 // the state's version the form saves over
}

// reportAt loads the report of the {terminal}/{record} path; it answers
// 404 itself.
func (c *Console) reportAt(w http.ResponseWriter, r *http.Request) (reportView, bool) {
	ctx := r.Context()
	t, err := c.st.TerminalByName(ctx, r.PathValue("terminal"))
	if err == nil {
		var rs []store.Report
		if rs, err = c.st.Reports(ctx, store.ReportFilter{TerminalID: t.ID, RecordID: r.PathValue("record")}); err == nil {
			if len(rs) == 1 {
				return viewReports(rs, c.categoryLabels(ctx, c.lang(r, principalFrom(ctx), false)))[0], true
			}
			err = store.ErrNotFound
		}
	}
	if err == store.ErrNotFound {
		c.fail(w, r, http.StatusNotFound, msg("report.error.not_found"))
	} else {
		c.serverError(w, r, "report", err)
	}
	return reportView{}, false
}

func (c *Console) reportShow(w http.ResponseWriter, r *http.Request) {
	rep, ok := c.reportAt(w, r)
	if !ok {
		return
	}
	c.showReport(w, r, http.StatusOK, rep, nil, nil)
}

// showReport shows rep; form, when not nil, is what the person posted
// (kept after a refusal), otherwise the form shows rep's state.
func (c *Console) showReport(w http.ResponseWriter, r *http.Request, status int, rep reportView, problem *Message, form *reportForm) {
	d := reportShowData{R: rep, Public: c.hubURL(r) + "/status/" + rep.Ref, Error: problem,
		Form: reportForm{Status: rep.Status, Note: rep.PublicNote, Publish: rep.PublishText, Version: rep.Version}}
	if form != nil {
		d.Form = *form
	}
	owner, shared, err := c.st.ReportByRef(r.Context(), rep.Ref)
	if err != nil {
		c.serverError(w, r, "report", err)
		return
	}
	d.RefShared = shared
	d.RefOwner = owner.TerminalID == rep.TerminalID && owner.RecordID == rep.RecordID
	for _, s := range ReportStatuses {
		if CanMove(rep.Status, s) {
			d.Next = append(d.Next, s)
		}
	}
	if p := principalFrom(r.Context()); Can(p.user.Role, ViewAudit) {
		d.Audit, _ = c.st.AuditEntries(r.Context(), store.AuditFilter{Subject: "report:" + rep.TerminalName + "/" + rep.RecordID, Limit: 20})
	}
	c.render(w, r, status, "report", msg("report.title", "ref", rep.Ref), "reports", d)
}
