package session

import (
	"context"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// Backend is all the window needs of the agent. *localapi.Client
// implements it over the agent's socket; UI tests use a fake.
type Backend interface {
	Status(ctx context.Context) (localapi.Status, error)
	Content(ctx context.Context) (api.Content, error)
	Events(ctx context.Context) (<-chan localapi.Event, error)
	Submit(ctx context.Context, req localapi.SubmitRequest) (localapi.SubmitResponse, error)
	Print(ctx context.Context, r localapi.Receipt) (localapi.PrintResponse, error)
	Ticket(ctx context.Context, req localapi.TicketRequest) (localapi.Ticket, error)
	Sensors(ctx context.Context) (localapi.SensorHistory, error)
	Respond(ctx context.Context, r localapi.SurveyResponse) (localapi.SubmitResponse, error)
	SyncNow(ctx context.Context) (localapi.SyncResponse, error)
}

var _ Backend = (*localapi.Client)(nil)
