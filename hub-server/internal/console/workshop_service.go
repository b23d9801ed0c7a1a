package console

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/workshops"
	"github.com/quartierhub/quartierhub/internal/workshop"
)

// WorkshopService is the hub's workshop service (workshops.Service) as
// the console uses it: every staff action is an event the service
// checks against the workshop's rules, stores and audits (the actor's
// name, the event's type and ID) in one transaction; the console renders
// what it folds.
type WorkshopService interface {
	// List is every workshop, newest first.
	List(ctx context.Context) ([]store.Workshop, error)
	// Create stores a new draft prepared by user by; Copy one with the
	// plan of workshop from. Errors a person may read are userr errors.
	Create(ctx context.Context, spec workshop.Spec, by string) (store.Workshop, error)
	Copy(ctx context.Context, from, by string) (store.Workshop, error)
	// UpdateSpec saves a draft's plan only on version (compare-and-swap):
	// store.ErrVersionConflict when it was saved meanwhile,
	// workshops.ErrNotDraft once it opened.
	UpdateSpec(ctx context.Context, id string, spec workshop.Spec, version int64, by string) (store.Workshop, error)
	// Get is a workshop's record and folded state (store.ErrNotFound).
	Get(ctx context.Context, id string) (workshops.View, error)
	// Act authors an event of type t by actor; a refusal is a
	// *workshops.Refused with the fold's reason.
	Act(ctx context.Context, id, actor string, t workshop.Type, data any) (workshop.Event, error)
	// Subscribe notifies of a workshop's new cursor; it never blocks the
	// publisher (notifications coalesce). cancel ends it.
	Subscribe(id string) (ch <-chan uint64, cancel func())
	// Export writes format "json", "csv" or "log" and returns the
	// SHA-256 (hex) of what it wrote.
	Export(ctx context.Context, id, format string, w io.Writer) (string, error)
}

// The hub wires the service itself.
var _ WorkshopService = (*workshops.Service)(nil)

// Workshop statuses.
const (
	workshopDraft = workshops.StatusDraft
	workshopOpen  = workshops.StatusOpen
	workshopEnded = workshops.StatusEnded
)

// workshopRefusal is the reason in a refusal of the service, if err is one.
func workshopRefusal(err error) (workshop.Reason, bool) {
	r := workshops.Reason(err)
	return r, r != ""
}

// workshopOf loads the workshop named by the path's {id}; it answers the
// request itself (404, 500) when it returns false.
func (c *Console) workshopOf(w http.ResponseWriter, r *http.Request) (workshops.View, bool) {
	if c.o.Workshops == nil {
		c.fail(w, r, http.StatusNotFound, msg("workshops.error.no_service"))
		return workshops.View{}, false
	}
	v, err := c.o.Workshops.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, msg("workshops.error.not_found"))
		return v, false
	} else if err != nil {
		c.serverError(w, r, "workshop", err)
		return v, false
	}
	if v.State == nil {
		c.serverError(w, r, "workshop", errors.New("no state"))
		return v, false
	}
	return v, true
}

// moderatorActor is the event actor of the console user in ctx.
func moderatorActor(ctx context.Context) string {
	return workshop.ActorModeratorPrefix + actor(ctx)
}

// workshopLabelCodes are the workshop codes the console names
// (label "ws_"+code; the template function wsLabel).
var workshopLabelCodes = func() []string {
	codes := []string{workshopDraft, workshopOpen, workshopEnded, workshop.OnIdeas, workshop.OnThemes}
	codes = append(codes, workshopMethods...)
	codes = append(codes, phaseKinds...)
	for _, r := range []workshop.Reason{workshop.ReasonNotOpen, workshop.ReasonWrongPhase, workshop.ReasonNotCheckedIn, workshop.ReasonJoinClosed,
		workshop.ReasonRemoved, workshop.ReasonTooMany, workshop.ReasonUnknownItem, workshop.ReasonNotAllowed, workshop.ReasonInvalid,
		workshop.ReasonDuplicate, workshop.ReasonNoPhones} {
		codes = append(codes, "reason_"+string(r))
	}
	for _, s := range []workshop.DotStatus{workshop.DotCounted, workshop.DotPending, workshop.DotOverLimit, workshop.DotLate,
		workshop.DotRejected, workshop.DotTaken, workshop.DotVoid} {
		codes = append(codes, "dot_"+string(s))
	}
	for i, c := range codes {
		codes[i] = "ws_" + c
	}
	return codes
}()

// refusalMessage says why the service refused an action.
func refusalMessage(r workshop.Reason) *Message {
	return msg("workshops.error.refused", "reason", label("ws_reason_"+string(r)))
}
