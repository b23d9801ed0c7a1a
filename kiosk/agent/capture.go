package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/localapi"
)

// A screenshot command is answered by the window, not the agent: only
// the window knows, at the moment it would take the picture, whether a
// resident's session is open (kiosk/ui: capture.go). The agent asks it
// with a capture event on the local API's stream and waits for its
// answer on POST /v1/captures/{id} (a PNG) or …/refusal, at most
// FleetOpts.CaptureTimeout; without a window on the stream it fails at
// once.

// captureAnswer is the window's answer to one capture.
type captureAnswer struct {
	png     []byte
	refusal *localapi.CaptureRefusal
}

// captureDesk matches the window's answers to the captures waited for.
type captureDesk struct {
	mu      sync.Mutex
	waiting map[string]chan captureAnswer
}

// wait registers capture id; done ends the wait (a late answer is then
// not asked for).
func (d *captureDesk) wait(id string) (answers <-chan captureAnswer, done func()) {
	ch := make(chan captureAnswer, 1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.waiting == nil {
		d.waiting = map[string]chan captureAnswer{}
	}
	d.waiting[id] = ch
	return ch, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.waiting[id] == ch {
			delete(d.waiting, id)
		}
	}
}

// answer delivers the first answer to capture id; there is no second.
func (d *captureDesk) answer(id string, a captureAnswer) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ch, ok := d.waiting[id]
	if !ok {
		return localapi.ErrNotAsked
	}
	delete(d.waiting, id)
	ch <- a
	return nil
}

// captureFailure is why a capture gave no picture: a result reason the
// console translates (api.ResultReasons), or "" with a detail only.
type captureFailure struct {
	reason, detail string
}

// capture asks the window for a picture of what it shows.
func (a *Agent) capture(ctx context.Context, id string) ([]byte, *captureFailure) {
	if a.win.events.Subscribers() == 0 {
		return nil, &captureFailure{reason: api.ReasonNoWindow, detail: api.ReasonText(api.ReasonNoWindow)}
	}
	answers, done := a.win.captures.wait(id)
	defer done()
	a.win.events.Publish(localapi.Event{Type: localapi.EventCapture, Time: a.opts.Now(), Capture: &localapi.CaptureRequest{ID: id}})
	timeout := time.NewTimer(a.fleet.o.CaptureTimeout)
	defer timeout.Stop()
	select {
	case <-ctx.Done():
		return nil, &captureFailure{detail: "agent stopping: " + ctx.Err().Error()}
	case <-timeout.C:
		return nil, &captureFailure{reason: api.ReasonWindowSilent, detail: api.ReasonText(api.ReasonWindowSilent)}
	case ans := <-answers:
		switch {
		case ans.refusal == nil:
			return ans.png, nil
		case ans.refusal.Reason == localapi.RefusedResidentSession:
			return nil, &captureFailure{reason: api.ReasonResidentSession, detail: api.ReasonText(api.ReasonResidentSession)}
		default:
			return nil, &captureFailure{detail: fmt.Sprintf("refused: the window shows its %q screen, which it does not capture", ans.refusal.Screen)}
		}
	}
}

var _ localapi.CaptureBackend = (*Agent)(nil)

// CaptureTaken implements localapi.CaptureBackend (the local API checked
// the PNG against the hub's limits).
func (a *Agent) CaptureTaken(_ context.Context, id string, png []byte) error {
	return a.win.captures.answer(id, captureAnswer{png: png})
}

// CaptureRefused implements localapi.CaptureBackend.
func (a *Agent) CaptureRefused(_ context.Context, id string, r localapi.CaptureRefusal) error {
	return a.win.captures.answer(id, captureAnswer{refusal: &r})
}

// screenshot runs a screenshot command: the window's picture, uploaded
// for the command, or why there is none.
func (f *fleetPart) screenshot(ctx context.Context, commandID string) api.CommandResult {
	png, failed := f.a.capture(ctx, commandID)
	if failed != nil {
		f.a.log.Info("screenshot not taken", "command", commandID, "reason", failed.reason, "detail", failed.detail)
		return api.CommandResult{OK: false, Reason: failed.reason, Detail: failed.detail}
	}
	w, h, err := api.CheckScreenshot(png)
	if err != nil {
		return api.CommandResult{OK: false, Detail: err.Error()}
	}
	id, err := f.client.UploadScreenshot(ctx, commandID, png)
	if err != nil {
		return api.CommandResult{OK: false, Detail: fmt.Sprintf("screenshot upload: %v", err)}
	}
	return api.CommandResult{OK: true, Detail: fmt.Sprintf("%d × %d pixels, %d bytes", w, h, len(png)), ScreenshotID: id}
}
