// Package a11ytest has the one shared fake Speaker: a Recorder that keeps
// what would have been said, for tests that assert the spoken sequence.
package a11ytest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/quartierhub/quartierhub/kiosk/a11y"
)

// Recorder is an a11y.Speaker that records every utterance and every
// Stop, in order.
type Recorder struct {
	mu      sync.Mutex
	said    []a11y.Utterance
	stops   int
	changed chan struct{}
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// Say records u.
func (r *Recorder) Say(u a11y.Utterance) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.said = append(r.said, u)
	close(r.changed)
	r.changed = make(chan struct{})
}

// Stop records a stop.
func (r *Recorder) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stops++
}

// Said returns the utterances so far.
func (r *Recorder) Said() []a11y.Utterance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]a11y.Utterance(nil), r.said...)
}

// Texts returns the texts said so far.
func (r *Recorder) Texts() []string {
	var out []string
	for _, u := range r.Said() {
		out = append(out, u.Text)
	}
	return out
}

// Last is the last text said, or "".
func (r *Recorder) Last() string {
	s := r.Said()
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1].Text
}

// Stops is how many times Stop was called.
func (r *Recorder) Stops() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stops
}

// Reset forgets what was said.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.said, r.stops = nil, 0
}

// WaitFor waits until an utterance containing sub has been said (counting
// those said before the call) and returns it, or ctx's error with what
// was said.
func (r *Recorder) WaitFor(ctx context.Context, sub string) (a11y.Utterance, error) {
	for {
		r.mu.Lock()
		for _, u := range r.said {
			if strings.Contains(u.Text, sub) {
				r.mu.Unlock()
				return u, nil
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return a11y.Utterance{}, fmt.Errorf("a11ytest: %q never said (said: %q): %w", sub, r.Texts(), ctx.Err())
		}
	}
}

var _ a11y.Speaker = (*Recorder)(nil)
