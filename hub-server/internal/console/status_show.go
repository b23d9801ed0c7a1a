package console

import (
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// publicReport is everything the public status page may show: no
// terminal, no place, no text unless a moderator approved it.
type publicReport struct {
	Ref, Category, Quarter, Status, Note, Text string
	Submitted, Updated                         time.Time
}

type statusData struct {
	Asked   string
	Ref     string
	Invalid bool
	Found   []publicReport
}

// statusShow is the public, read-only status page of a report (/status/REF,
// opened by the receipt's QR code) and the form to type a reference.
func (c *Console) statusShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	asked := r.PathValue("ref")
	if asked == "" {
		asked = r.URL.Query().Get("ref")
	}
	d := statusData{Asked: asked}
	if asked != "" {
		ref, ok := api.ParseReference(asked)
		if !ok {
			d.Invalid = true
		} else {
			d.Ref = ref
			rs, err := c.st.Reports(ctx, store.ReportFilter{Ref: ref, Limit: 5})
			if err != nil {
				c.serverError(w, r, "status", err)
				return
			}
			for _, v := range viewReports(rs, c.categoryLabels(ctx)) {
				pr := publicReport{Ref: v.Ref, Category: v.CategoryLabel, Quarter: v.Quarter, Status: v.Status, Note: v.PublicNote,
					Submitted: v.CreatedAt, Updated: v.UpdatedAt}
				if v.PublishText {
					pr.Text = v.P.Text
				}
				d.Found = append(d.Found, pr)
			}
		}
	}
	status := http.StatusOK
	if asked != "" && len(d.Found) == 0 {
		status = http.StatusNotFound
	}
	w.Header().Set("X-Robots-Tag", "noindex")
	c.renderPublic(w, r, status, d)
}

func (c *Console) renderPublic(w http.ResponseWriter, r *http.Request, status int, d statusData) {
	c.render(w, r, status, "status", "Report status", "", d)
}
