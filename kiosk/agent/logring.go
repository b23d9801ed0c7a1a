package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// logRing keeps the agent's most recent log records in memory for
// diagnostics bundles. The agent logs no personal data (see
// CONVENTIONS.md), so the ring holds none either.
type logRing struct {
	mu    sync.Mutex
	lines []api.LogLine
	next  int
	full  bool
}

func newLogRing(n int) *logRing { return &logRing{lines: make([]api.LogLine, n)} }

func (r *logRing) add(l api.LogLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines[r.next] = l
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
}

// Lines returns the kept records, oldest first.
func (r *logRing) Lines() []api.LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]api.LogLine(nil), r.lines[:r.next]...)
	}
	return append(append([]api.LogLine(nil), r.lines[r.next:]...), r.lines[:r.next]...)
}

// ringHandler passes records on to the next handler and copies them into
// the ring (Info and above, whatever the next handler's level).
type ringHandler struct {
	next  slog.Handler
	ring  *logRing
	attrs []slog.Attr
	group string
}

func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *ringHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelInfo {
		line := api.LogLine{Time: r.Time.UTC().Truncate(time.Millisecond), Level: r.Level.String(), Message: r.Message}
		if n := len(h.attrs) + r.NumAttrs(); n > 0 {
			line.Attrs = make(map[string]string, n)
			for _, a := range h.attrs {
				line.Attrs[a.Key] = a.Value.String()
			}
			r.Attrs(func(a slog.Attr) bool {
				k := a.Key
				if h.group != "" {
					k = h.group + "." + k
				}
				line.Attrs[k] = a.Value.String()
				return true
			})
		}
		h.ring.add(line)
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	if h.group != "" {
		for i := len(h.attrs); i < len(c.attrs); i++ {
			c.attrs[i].Key = h.group + "." + c.attrs[i].Key
		}
	}
	return &c
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}
