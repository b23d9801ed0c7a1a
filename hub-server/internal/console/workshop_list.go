package console

import (
	"errors"
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// workshopListData is the workshops page: drafts, open and ended ones.
type workshopListData struct {
	Service bool
	Drafts  []store.Workshop
	Open    []store.Workshop
	Ended   []store.Workshop
	// All are the workshops one may copy from, newest first.
	All []store.Workshop
}

// workshopList shows every workshop by status, with "new" and "copy from".
func (c *Console) workshopList(w http.ResponseWriter, r *http.Request) {
	d := workshopListData{Service: c.o.Workshops != nil}
	if d.Service {
		all, err := c.o.Workshops.List(r.Context())
		if err != nil {
			c.serverError(w, r, "workshops", err)
			return
		}
		d.All = all
		for _, ws := range all {
			switch ws.Status {
			case workshopDraft:
				d.Drafts = append(d.Drafts, ws)
			case workshopOpen:
				d.Open = append(d.Open, ws)
			default:
				d.Ended = append(d.Ended, ws)
			}
		}
	}
	c.render(w, r, http.StatusOK, "workshops", msg("workshops.title"), "workshops", d)
}

// workshopCopy makes a new draft from an earlier workshop's spec and
// opens it for editing.
func (c *Console) workshopCopy(w http.ResponseWriter, r *http.Request) {
	if c.o.Workshops == nil {
		c.fail(w, r, http.StatusNotFound, msg("workshops.error.no_service"))
		return
	}
	ctx := r.Context()
	// The service audits the copy with the new draft.
	ws, err := c.o.Workshops.Copy(ctx, r.PostFormValue("from"), actor(ctx))
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, msg("workshops.error.not_found"))
		return
	} else if err != nil {
		c.serverError(w, r, "workshop copy", err)
		return
	}
	c.redirect(w, r, "/console/workshops/"+ws.ID+"/edit", "workshop_saved")
}
