package agent

import (
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	kws "github.com/quartierhub/quartierhub/kiosk/workshop"
)

// workshopHub is the hub's workshop API for the engine: Opts.Workshop.Hub
// if set, else kiosk/hubsync's client signed with this terminal's key.
func (a *Agent) workshopHub() kws.Hub {
	if a.opts.Workshop.Hub != nil {
		return a.opts.Workshop.Hub
	}
	return kws.HubClient(hubsync.NewWorkshopClient(a.credentials, hubsync.WorkshopClientOpts{Now: a.opts.Now}))
}
