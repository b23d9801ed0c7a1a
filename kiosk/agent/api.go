package agent

// The local API's edge: the agent answers kiosk/localapi's Backend,
// SessionBackend and FleetBackend (fleet.go) here, and only here turns
// the engine's types (devices.State, hubsync.Status, outbox.Stats...)
// into the API's wire types and back. The parts behind it speak the
// engine's language; the errors they return carry localapi's sentinels,
// which pick the answer's HTTP status.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/aggregate"
	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
	"github.com/quartierhub/quartierhub/kiosk/receipt"
)

var _ localapi.Backend = (*Agent)(nil)

// Submit implements localapi.Backend: it returns once the record is durable.
func (a *Agent) Submit(ctx context.Context, req localapi.SubmitRequest) (localapi.SubmitResponse, error) {
	ob, _, err := a.parts()
	if err != nil {
		return localapi.SubmitResponse{}, err
	}
	rec, err := SubmitTo(ctx, ob, req)
	if err != nil {
		return localapi.SubmitResponse{}, err
	}
	return localapi.SubmitResponse{ID: rec.ID, Type: rec.Type, Class: rec.Class.String(), CreatedAt: rec.CreatedAt}, nil
}

// SyncNow implements localapi.Backend.
func (a *Agent) SyncNow(ctx context.Context) localapi.SyncResponse {
	_, s, err := a.parts()
	if err != nil {
		return localapi.SyncResponse{Error: err.Error()}
	}
	res := s.SyncNow(ctx)
	out := localapi.SyncResponse{Sent: res.Sent, Batches: res.Batches}
	if res.Err != nil {
		out.Error = res.Err.Error()
	}
	return out
}

// Status implements localapi.Backend.
func (a *Agent) Status(ctx context.Context) (localapi.Status, error) {
	ob, s, err := a.parts()
	if err != nil {
		return localapi.Status{}, err
	}
	st := localapi.Status{Version: a.opts.Version, DataDir: a.opts.DataDir, Started: a.started, Devices: apiDevices(a.devices().States()), Fleet: a.fleet.status()}
	if id, err := a.ids.Get(); err == nil {
		st.Terminal = localapi.Terminal{Enrolled: true, TerminalID: id.TerminalID, Name: id.Name, Quarter: id.Quarter, HubURL: id.HubURL}
	} else if !errors.Is(err, identity.ErrNotEnrolled) {
		st.Terminal.Error = err.Error()
	}
	st.Sync = apiSyncStatus(s.Status())
	os, err := ob.Stats()
	if err != nil {
		return st, fmt.Errorf("agent: %w", err)
	}
	st.Outbox = OutboxStatus(os)
	return st, nil
}

// OutboxStatus converts outbox stats for the local API.
func OutboxStatus(s outbox.Stats) localapi.OutboxStatus {
	out := localapi.OutboxStatus{Classes: map[string]localapi.ClassStatus{}, UsedBytes: s.UsedBytes, MaxBytes: s.MaxBytes, FileBytes: s.FileBytes}
	for _, c := range outbox.Classes {
		cs := s.Class(c)
		out.Classes[c.String()] = localapi.ClassStatus{
			Count: cs.Count, Bytes: cs.Bytes, Oldest: cs.Oldest, OldestAgeSeconds: cs.OldestAge.Seconds(),
			Thinned: cs.Thinned, Evicted: cs.Evicted,
		}
	}
	return out
}

// apiSyncStatus is the sync state in the status.
func apiSyncStatus(s hubsync.Status) localapi.SyncStatus {
	return localapi.SyncStatus{
		HubReachable: s.Reachable, Unauthorized: s.Unauthorized, LastAttempt: s.LastAttempt,
		LastSync: s.LastSuccess, LastError: s.LastError, ConsecutiveFailures: s.Failures,
		NextAttempt: s.NextAttempt, SentRecords: s.SentRecords, Duplicates: s.Duplicates,
	}
}

// apiDevices is the device list in the status.
func apiDevices(states []devices.State) []localapi.Device {
	out := make([]localapi.Device, len(states))
	for i, d := range states {
		out[i] = localapi.Device{Name: d.Name, Kind: d.Kind, Path: d.Path, State: d.State, Since: d.Since, Error: d.Error, Detail: d.Detail}
	}
	return out
}

// The window's endpoints (localapi.SessionBackend).

var _ localapi.SessionBackend = (*Agent)(nil)

// Content implements localapi.SessionBackend (content.go).
func (a *Agent) Content(context.Context) (api.Content, error) { return a.content() }

// Print implements localapi.SessionBackend.
func (a *Agent) Print(ctx context.Context, r localapi.Receipt) (localapi.PrintResponse, error) {
	n, err := a.win.printer.print(ctx, engineReceipt(r))
	if err != nil {
		return localapi.PrintResponse{}, err
	}
	return localapi.PrintResponse{Bytes: n}, nil
}

// Ticket implements localapi.SessionBackend: the next number for today,
// durable before it is printed (tickets.go).
func (a *Agent) Ticket(ctx context.Context, req localapi.TicketRequest) (localapi.Ticket, error) {
	t, err := a.issueTicket(ctx, engineReceipt(req.Receipt))
	if err != nil {
		return localapi.Ticket{}, err
	}
	return localapi.Ticket{Number: t.Number, Day: t.Day, RecordID: t.RecordID}, nil
}

// Sensors implements localapi.SessionBackend.
func (a *Agent) Sensors(context.Context) (localapi.SensorHistory, error) {
	latest, minutes := a.win.sensors.snapshot()
	h := localapi.SensorHistory{Minutes: make([]localapi.Minute, len(minutes))}
	for i, e := range minutes {
		h.Minutes[i] = localapi.Minute{Sensor: e.Sensor, Quantity: e.Quantity, Unit: e.Unit, Minute: e.Minute, Mean: e.Mean, Min: e.Min, Max: e.Max}
	}
	for _, r := range latest {
		h.Latest = append(h.Latest, apiReading(r))
	}
	return h, nil
}

// Respond implements localapi.SessionBackend: one response per survey and
// respondent (surveys.go). The record's payload is the response as the
// window sent it: the local API's body is the hub's survey_response
// payload, as the body of POST /v1/records is any record's.
func (a *Agent) Respond(ctx context.Context, r localapi.SurveyResponse) (localapi.SubmitResponse, error) {
	var rec outbox.Record
	err := a.win.surveys.answer(r.Survey, r.Respondent, func() error {
		ob, _, err := a.parts()
		if err != nil {
			return err
		}
		rec, err = storeRecord(ctx, ob, api.RecordSurveyResponse, "", r)
		return err
	})
	if err != nil {
		return localapi.SubmitResponse{}, err
	}
	return localapi.SubmitResponse{ID: rec.ID, Type: rec.Type, Class: outbox.ClassResident.String(), CreatedAt: rec.CreatedAt}, nil
}

// Subscribe implements localapi.SessionBackend. A new subscriber first
// gets the current sync state and mode.
func (a *Agent) Subscribe() (<-chan localapi.Event, func()) {
	st, mode := a.win.state.current()
	now := a.opts.Now()
	return a.win.events.Subscribe(syncEvent(now, st), modeEvent(now, mode))
}

// engineReceipt is a receipt from the local API in the engine's model.
func engineReceipt(r localapi.Receipt) receipt.Receipt {
	out := receipt.Receipt{Blocks: make([]receipt.Block, len(r.Blocks))}
	for i, b := range r.Blocks {
		out.Blocks[i] = receipt.Block{Kind: receipt.Kind(b.Kind), Text: b.Text, Align: b.Align, Bold: b.Bold, Size: b.Size, Lines: b.Lines}
	}
	return out
}

func apiReading(r aggregate.Reading) localapi.Reading {
	return localapi.Reading{Sensor: r.Sensor, Quantity: r.Quantity, Unit: r.Unit, Value: r.Value, WarmUp: r.WarmUp, At: r.At}
}

// The events of GET /v1/events, converted once when published.

func cardEvent(s cardSeen) localapi.Event {
	return localapi.Event{Type: localapi.EventCard, Time: s.Time, Card: &localapi.CardEvent{Presented: s.Presented, Hash: s.Hash}}
}

func readingEvent(r aggregate.Reading) localapi.Event {
	lr := apiReading(r)
	return localapi.Event{Type: localapi.EventReading, Time: r.At, Reading: &lr}
}

func deviceEvent(e devices.Event) localapi.Event {
	return localapi.Event{Type: localapi.EventDevice, Time: e.Time,
		Device: &localapi.DeviceEvent{Device: e.Device, Kind: e.Kind, State: e.State, Detail: e.Detail}}
}

// syncEvent carries what the window shows of the sync state.
func syncEvent(now time.Time, s hubsync.Status) localapi.Event {
	st := localapi.SyncStatus{HubReachable: s.Reachable, Unauthorized: s.Unauthorized, LastSync: s.LastSuccess,
		ConsecutiveFailures: s.Failures, LastAttempt: s.LastAttempt}
	return localapi.Event{Type: localapi.EventSync, Time: now, Sync: &st}
}

func modeEvent(now time.Time, m Mode) localapi.Event {
	return localapi.Event{Type: localapi.EventMode, Time: now, Mode: &localapi.Mode{OutOfOrder: m.OutOfOrder, Reason: m.Reason}}
}
