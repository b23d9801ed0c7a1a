// Package backend is the window's side of the local API: Backend, all
// the window needs of the agent, and the conversions between the API's
// wire types (kiosk/localapi) and the types the session logic speaks
// (kiosk/session, kiosk/receipt). It has no Fyne, so tests of the agent
// and the end-to-end tests read the agent's answers as the window does.
//
// Why the window's Backend speaks localapi types: the window is a client
// of the agent's local API, like the kiosk CLI, and *localapi.Client is
// its implementation; an interface in the wire's terms needs no adapter
// in the real app and lets UI tests fake the agent exactly as it
// answers. What the session logic builds or reads (receipts, survey
// responses, the printer's state) is converted here, at the client's
// edge, so kiosk/session never imports kiosk/localapi; the agent
// converts the same way on its side (kiosk/agent/api.go).
package backend

import (
	"context"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/receipt"
	"github.com/quartierhub/quartierhub/kiosk/session"
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

	// The workshop the terminal takes part in (kiosk/localapi/workshop.go;
	// the screens see it through WorkshopOf).
	Workshop(ctx context.Context, voter string) (localapi.WorkshopView, error)
	WorkshopCheckin(ctx context.Context, req localapi.WorkshopCheckinRequest) (localapi.WorkshopCheckin, error)
	WorkshopIdea(ctx context.Context, req localapi.WorkshopIdeaRequest) (localapi.WorkshopIdeaResponse, error)
	WorkshopDot(ctx context.Context, req localapi.WorkshopDotRequest) (localapi.WorkshopDotResponse, error)
	WorkshopDotTake(ctx context.Context, req localapi.WorkshopDotTakeRequest) (localapi.WorkshopDotResponse, error)
	WorkshopDone(ctx context.Context, req localapi.WorkshopDoneRequest) error
	WorkshopPrint(ctx context.Context, req localapi.WorkshopPrintRequest) (localapi.PrintResponse, error)
	WorkshopSwitch(ctx context.Context, req localapi.WorkshopSwitchRequest) (localapi.WorkshopView, error)
	WorkshopLeave(ctx context.Context, req localapi.WorkshopLeaveRequest) (localapi.WorkshopView, error)
}

var _ Backend = (*localapi.Client)(nil)

// Enroller is what the first-run screen needs of the agent: POST
// /v1/enrol, answered only while the terminal has no identity. A backend
// without it (a read-only one in tests) cannot enrol.
type Enroller interface {
	Enrol(ctx context.Context, req localapi.EnrolRequest) (localapi.EnrolResponse, error)
}

var _ Enroller = (*localapi.Client)(nil)

// Receipt is r as the local API carries it.
func Receipt(r receipt.Receipt) localapi.Receipt {
	out := localapi.Receipt{Blocks: make([]localapi.ReceiptBlock, len(r.Blocks))}
	for i, b := range r.Blocks {
		out.Blocks[i] = localapi.ReceiptBlock{Kind: string(b.Kind), Text: b.Text, Align: b.Align, Bold: b.Bold, Size: b.Size, Lines: b.Lines}
	}
	return out
}

// SurveyResponse is r as the local API carries it.
func SurveyResponse(r session.SurveyResponse) localapi.SurveyResponse {
	out := localapi.SurveyResponse{Survey: r.Survey, Respondent: r.Respondent, Once: r.Once, Language: r.Language}
	if r.Answers != nil {
		out.Answers = make(map[string]localapi.Answer, len(r.Answers))
		for id, a := range r.Answers {
			out.Answers[id] = localapi.Answer{Choices: a.Choices, Scale: a.Scale, Text: a.Text}
		}
	}
	return out
}

// PrinterState tells from the agent's device list whether printing works,
// and if not, the translation key of the explanation
// (session.PrinterState).
func PrinterState(devs []localapi.Device) (ok bool, reason string) {
	sd := make([]session.Device, len(devs))
	for i, d := range devs {
		sd[i] = session.Device{Name: d.Name, State: d.State, Detail: d.Detail}
	}
	return session.PrinterState(sd)
}

// PrinterFromEvent updates a printer state from a device event
// (session.PrinterFromEvent).
func PrinterFromEvent(e localapi.DeviceEvent) (ok bool, reason string, relevant bool) {
	return session.PrinterFromEvent(e.Device, e.State)
}
