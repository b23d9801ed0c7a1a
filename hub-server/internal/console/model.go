package console

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// terminalRow is one terminal as the console shows it.
type terminalRow struct {
	store.Terminal
	Status     string   // online, offline, never, revoked
	Seen       *Message // "3 min ago"
	Health     *api.Heartbeat
	Problems   []*Message // devices not working, paper
	Backlog    int64
	OpenAlerts []store.Alert
}

// status is a terminal's state in one word.
func (c *Console) status(t store.Terminal, now time.Time) string {
	switch {
	case t.Revoked():
		return "revoked"
	case t.LastSeenAt.IsZero():
		return "never"
	case fleet.Online(t.LastSeenAt, now, c.o.OnlineWithin):
		return "online"
	default:
		return "offline"
	}
}

func parseHealth(h store.Health) *api.Heartbeat {
	var hb api.Heartbeat
	if json.Unmarshal(h.State, &hb) != nil {
		return nil
	}
	return &hb
}

func (c *Console) row(t store.Terminal, h *api.Heartbeat, alerts []store.Alert, now time.Time) terminalRow {
	r := terminalRow{Terminal: t, Status: c.status(t, now), Seen: ago(now, t.LastSeenAt), Health: h, OpenAlerts: alerts}
	if h != nil {
		for _, d := range h.Devices {
			switch {
			case !d.Healthy():
				r.Problems = append(r.Problems, msg("fleet.problem.device", "device", d.Name, "state", label(d.State)))
			case d.Paper == "out" || d.Paper == "near_end":
				r.Problems = append(r.Problems, msg("fleet.problem.paper", "device", d.Name, "paper", label(d.Paper)))
			}
		}
		for _, b := range h.Outbox {
			r.Backlog += b.Count
		}
	}
	return r
}

// fleetRows loads every terminal with its health and open alerts.
func (c *Console) fleetRows(ctx context.Context) ([]terminalRow, error) {
	ts, err := c.st.Terminals(ctx)
	if err != nil {
		return nil, err
	}
	hs, err := c.st.Healths(ctx)
	if err != nil {
		return nil, err
	}
	health := map[string]*api.Heartbeat{}
	for _, h := range hs {
		health[h.TerminalID] = parseHealth(h)
	}
	als, err := c.st.Alerts(ctx, store.AlertFilter{State: store.AlertOpen})
	if err != nil {
		return nil, err
	}
	alerts := map[string][]store.Alert{}
	for _, a := range als {
		alerts[a.TerminalID] = append(alerts[a.TerminalID], a)
	}
	now := c.o.Now()
	rows := make([]terminalRow, len(ts))
	for i, t := range ts {
		rows[i] = c.row(t, health[t.ID], alerts[t.ID], now)
	}
	return rows, nil
}

// quartersAndTags lists the distinct quarters and tags of terminals.
func quartersAndTags(ts []store.Terminal) (quarters, tags []string) {
	for _, t := range ts {
		if !slices.Contains(quarters, t.Quarter) {
			quarters = append(quarters, t.Quarter)
		}
		for _, g := range t.Tags {
			if !slices.Contains(tags, g) {
				tags = append(tags, g)
			}
		}
	}
	slices.Sort(quarters)
	slices.Sort(tags)
	return quarters, tags
}
