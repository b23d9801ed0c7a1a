package display

import (
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// Night is the hours of the day the screen is dark while nobody uses it.
type Night struct {
	// From and To are offsets from local midnight; From after To spans
	// midnight. Equal (both zero) means no night.
	From, To time.Duration
}

// NightOf reads the night hours of d (none when d has none or is invalid;
// the agent refuses an invalid document before the window sees it).
func NightOf(d *api.DisplaySettings) Night {
	from, to, ok, err := d.Night()
	if !ok || err != nil {
		return Night{}
	}
	return Night{From: from, To: to}
}

// Active tells whether t falls in the night hours, in t's location: a
// wall-clock time, so a change to or from daylight saving time moves the
// night with the clocks.
func (n Night) Active(t time.Time) bool {
	if n.From == n.To {
		return false
	}
	h, m, s := t.Clock()
	now := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	if n.From < n.To {
		return now >= n.From && now < n.To
	}
	return now >= n.From || now < n.To
}

// DefaultWakeFor is how long a touch keeps the screen on at night.
const DefaultWakeFor = 2 * time.Minute

// Blanker decides whether the screen is dark: in the night hours, unless
// a touch woke it less than WakeFor ago. It is not safe for concurrent
// use (the window calls it on its UI goroutine).
type Blanker struct {
	// WakeFor defaults to DefaultWakeFor.
	WakeFor time.Duration

	night Night
	awake time.Time // dark again from then on
}

// SetNight replaces the night hours.
func (b *Blanker) SetNight(n Night) { b.night = n }

// Night returns the night hours in effect.
func (b *Blanker) Night() Night { return b.night }

// Wake keeps the screen on for WakeFor from now.
func (b *Blanker) Wake(now time.Time) {
	d := b.WakeFor
	if d <= 0 {
		d = DefaultWakeFor
	}
	b.awake = now.Add(d)
}

// Dark tells whether the screen should be dark at now.
func (b *Blanker) Dark(now time.Time) bool {
	return b.night.Active(now) && !now.Before(b.awake)
}
