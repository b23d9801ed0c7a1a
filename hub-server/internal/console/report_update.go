package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// MaxPublicNote is the longest public note on a report.
const MaxPublicNote = 1000

// reportUpdate stores a report's workflow state, only on the state the
// form was loaded with (form field version): of two moderators working on
// one report, the second is told and keeps their entries.
func (c *Console) reportUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rep, ok := c.reportAt(w, r)
	if !ok {
		return
	}
	to := r.PostFormValue("status")
	note := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("public_note"), "\r\n", "\n"))
	publish := r.PostFormValue("publish_text") == "yes"
	posted := &reportForm{Status: to, Note: note, Publish: publish, Version: formVersion(r)}
	conflict := func(rep reportView) {
		c.o.Logger.Info("console: report edit conflict", "report", rep.TerminalName+"/"+rep.RecordID, "base", posted.Version, "current", rep.Version)
		if err := c.st.AppendAudit(ctx, c.auditEntry(ctx, "report.conflict", "report:"+rep.TerminalName+"/"+rep.RecordID,
			fmt.Sprintf("not saved: based on version %d, version %d was saved meanwhile", posted.Version, rep.Version))); err != nil {
			c.o.Logger.Error("console: audit", "action", "report.conflict", "err", err)
		}
		kept := *posted
		kept.Version = rep.Version
		c.showReport(w, r, http.StatusConflict, rep, msg("report.error.conflict"), &kept)
	}
	switch {
	case posted.Version != rep.Version:
		conflict(rep)
		return
	case !CanMove(rep.Status, to):
		c.showReport(w, r, http.StatusBadRequest, rep, msg("report.error.transition", "from", label(rep.Status), "to", label(to)), posted)
		return
	case len([]rune(note)) > MaxPublicNote:
		c.showReport(w, r, http.StatusBadRequest, rep, msg("report.error.note_too_long", "max", MaxPublicNote), posted)
		return
	}
	st := store.ReportStatus{TerminalID: rep.TerminalID, RecordID: rep.RecordID, Status: to, PublicNote: note, PublishText: publish,
		UpdatedAt: c.o.Now(), UpdatedBy: actor(ctx), Version: rep.Version}
	detail := fmt.Sprintf("%s → %s; public note %d characters; resident's text public: %t", rep.Status, to, len([]rune(note)), publish)
	err := c.st.SetReportStatus(ctx, st, c.auditEntry(ctx, "report.status", "report:"+rep.TerminalName+"/"+rep.RecordID, detail))
	if errors.Is(err, store.ErrVersionConflict) {
		if rep, ok = c.reportAt(w, r); ok {
			conflict(rep)
		}
		return
	} else if err != nil {
		c.serverError(w, r, "report", err)
		return
	}
	c.redirect(w, r, reportPath(rep.Report), "report")
}
