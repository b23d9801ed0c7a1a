package console

import (
	"context"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/fleet"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// alertKinds are the kinds a mute may name (besides every kind).
var alertKinds = []string{fleet.AlertOffline, fleet.AlertPaperNearEnd, fleet.AlertPaperOut, fleet.AlertSensorFault,
	fleet.AlertSensorSilent, fleet.AlertDeviceFault, fleet.AlertBacklogGrowing, fleet.AlertBacklogOld, fleet.AlertDiskLow,
	fleet.AlertRevokedCalling, fleet.AlertRolloutHalted}

// mutePeriod is one choice of the mute form.
type mutePeriod struct {
	Value string
	Label *Message
	For   time.Duration // 0: until the date and time given
}

var mutePeriods = []mutePeriod{
	{"1h", msg("alerts.mute_1_hour"), time.Hour},
	{"1d", msg("alerts.mute_1_day"), 24 * time.Hour},
	{"1w", msg("alerts.mute_1_week"), 7 * 24 * time.Hour},
	{"until", msg("alerts.mute_until_date"), 0},
}

// maxMute bounds a mute: longer silence means the terminal needs fixing
// or revoking, not muting.
const maxMute = 90 * 24 * time.Hour

// muteForm is what the mute form of a terminal page needs.
type muteForm struct {
	Kinds   []string
	Periods []mutePeriod
	Min     string // datetime-local bounds for "until"
	Max     string
}

const dateTimeLocal = "2006-01-02T15:04"

func newMuteForm(now time.Time) muteForm {
	return muteForm{Kinds: alertKinds, Periods: mutePeriods,
		Min: now.Local().Format(dateTimeLocal), Max: now.Add(maxMute).Local().Format(dateTimeLocal)}
}

// alertsByTerminal loads the open alerts with their acknowledgement and
// mute state, by terminal ID.
func (c *Console) alertsByTerminal(ctx context.Context, now time.Time) (map[string][]store.AlertEntry, error) {
	es, err := c.st.AlertEntries(ctx, store.AlertFilter{State: store.AlertOpen}, now)
	if err != nil {
		return nil, err
	}
	m := map[string][]store.AlertEntry{}
	for _, e := range es {
		m[e.TerminalID] = append(m[e.TerminalID], e)
	}
	return m, nil
}

// unacked counts the entries nobody acknowledged.
func unacked(es []store.AlertEntry) int {
	n := 0
	for i := range es {
		if !es[i].Acked() {
			n++
		}
	}
	return n
}
