package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/netlimit"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// publicReport is everything the public status page may show: no
// terminal, no place, no text unless a moderator approved it.
type publicReport struct {
	Ref, Category, Quarter, Status, Note, Text string
	Explain                                    *Message // what the status means, in plain words
	Submitted, Updated                         time.Time
}

// statusExplain says what each status means for the resident.
var statusExplain = map[string]*Message{
	store.ReportNew:        msg("status.explain.new"),
	store.ReportInProgress: msg("status.explain.in_progress"),
	store.ReportResolved:   msg("status.explain.resolved"),
	store.ReportRejected:   msg("status.explain.rejected"),
}

type statusData struct {
	Asked   string
	Ref     string
	Invalid bool
	Found   []publicReport
	Limited bool // too many lookups from this network: try again later
}

// statusShow is the public, read-only status page of a report (/status/REF,
// opened by the receipt's QR code) and the form to type a reference.
//
// A reference is only the last 8 characters of a record ID, which any
// terminal may upload, so several reports can end alike. The page shows
// exactly one: the report that owns the reference (store.ReportByRef,
// the one received first). While another report shares the reference,
// the resident's text is not shown even if published: the person holding
// the receipt may have made the other report.
func (c *Console) statusShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	asked := r.PathValue("ref")
	if asked == "" {
		asked = r.URL.Query().Get("ref")
	}
	d := statusData{Asked: asked}
	if len(asked) > 64 { // a reference has 9 characters; this is not one, nor echoed
		asked, d.Asked = "-", ""
	}
	// References are short and the page is open to anyone, so lookups
	// are limited per client network (clientNet, as the login throttle;
	// behind trusted proxies the real client's): a burst, then one every
	// few seconds (Opts.StatusLookup*). A resident opening a receipt's QR
	// code, or typing a number a few times, never notices; guessing from
	// one network goes at a few per minute.
	if asked != "" {
		if ok, wait := c.lookups.Allow(c.clientNet(r), c.o.Now()); !ok {
			d.Limited = true
			w.Header().Set("Retry-After", netlimit.RetryAfter(wait))
			w.Header().Set("X-Robots-Tag", "noindex")
			c.renderPublic(w, r, http.StatusTooManyRequests, d)
			return
		}
	}
	if asked != "" {
		ref, ok := api.ParseReference(asked)
		if !ok {
			d.Invalid = true
		} else {
			d.Ref = ref
			rep, shared, err := c.st.ReportByRef(ctx, ref)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				c.serverError(w, r, "status", err)
				return
			}
			if err == nil {
				v := viewReports([]store.Report{rep}, c.categoryLabels(ctx, c.lang(r, nil, true)))[0]
				pr := publicReport{Ref: v.Ref, Category: v.CategoryLabel, Quarter: v.Quarter, Status: v.Status, Note: v.PublicNote,
					Explain: statusExplain[v.Status], Submitted: v.CreatedAt, Updated: v.UpdatedAt}
				if v.PublishText && !shared {
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
	c.render(w, r, status, "status", msg("status.title"), "", d)
}
