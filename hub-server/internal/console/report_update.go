package console

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// MaxPublicNote is the longest public note on a report.
const MaxPublicNote = 1000

func (c *Console) reportUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rep, ok := c.reportAt(w, r)
	if !ok {
		return
	}
	to := r.PostFormValue("status")
	note := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("public_note"), "\r\n", "\n"))
	publish := r.PostFormValue("publish_text") == "yes"
	switch {
	case !CanMove(rep.Status, to):
		c.showReport(w, r, http.StatusBadRequest, rep, fmt.Sprintf(T("A report cannot go from %s to %s."), label(rep.Status), label(to)))
		return
	case len([]rune(note)) > MaxPublicNote:
		c.showReport(w, r, http.StatusBadRequest, rep, fmt.Sprintf(T("The public note may have at most %d characters."), MaxPublicNote))
		return
	}
	st := store.ReportStatus{TerminalID: rep.TerminalID, RecordID: rep.RecordID, Status: to, PublicNote: note, PublishText: publish,
		UpdatedAt: c.o.Now(), UpdatedBy: actor(ctx)}
	detail := fmt.Sprintf("%s → %s; public note %d characters; resident's text public: %t", rep.Status, to, len([]rune(note)), publish)
	if err := c.st.SetReportStatus(ctx, st, c.auditEntry(ctx, "report.status", "report:"+rep.TerminalName+"/"+rep.RecordID, detail)); err != nil {
		c.serverError(w, r, "report", err)
		return
	}
	c.redirect(w, r, reportPath(rep.Report), "report")
}
