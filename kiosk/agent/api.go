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

	"github.com/quartierhub/quartierhub/kiosk/devices"
	"github.com/quartierhub/quartierhub/kiosk/hubsync"
	"github.com/quartierhub/quartierhub/kiosk/identity"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
	"github.com/quartierhub/quartierhub/kiosk/outbox"
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
