package store

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/internal/air"
	"github.com/quartierhub/quartierhub/internal/userr"
)

// MaxPlaceLen bounds Site.Place (characters).
const MaxPlaceLen = 200

// SiteFieldError is the cause of ValidateSite's *userr.Error: the field a
// form shows the error at ("latitude", "longitude", "place", "publish").
type SiteFieldError struct{ Field string }

func (e *SiteFieldError) Error() string { return "store: bad site " + e.Field }

// ValidateSite checks what a person entered for a site; its error is a
// *userr.Error (English, safe to show) whose cause is a *SiteFieldError.
func ValidateSite(s Site) error {
	bad := func(field, msg string) error { return userr.New(msg, &SiteFieldError{Field: field}) }
	if math.IsNaN(s.Latitude) || s.Latitude < -90 || s.Latitude > 90 {
		return bad("latitude", "latitude must be between -90 and 90 degrees")
	}
	if math.IsNaN(s.Longitude) || s.Longitude < -180 || s.Longitude > 180 {
		return bad("longitude", "longitude must be between -180 and 180 degrees")
	}
	if !utf8.ValidString(s.Place) || utf8.RuneCountInString(s.Place) > MaxPlaceLen {
		return bad("place", fmt.Sprintf("the place is at most %d characters of text", MaxPlaceLen))
	}
	for _, r := range s.Place {
		if unicode.IsControl(r) {
			return bad("place", "the place must not contain control characters (line breaks, tabs)")
		}
	}
	for q, r := range s.Publish {
		if _, ok := air.QuantityByID(q); !ok {
			return bad("publish", fmt.Sprintf("unknown quantity %.32q", q))
		}
		if r != ResolutionMinute && r != ResolutionHour && r != ResolutionOff {
			return bad("publish", fmt.Sprintf("publish %s per minute, hour or off, not %.32q", q, r))
		}
	}
	return nil
}

// EncodePublish is the stored form of Site.Publish (terminal_sites.publish):
// a JSON object with sorted keys, "{}" for none.
func EncodePublish(p map[string]string) string {
	if len(p) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(p) // map[string]string always marshals; keys sorted
	return string(b)
}

// DecodePublish parses EncodePublish's form.
func DecodePublish(s string) (map[string]string, error) {
	var p map[string]string
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("store: site publish: %w", err)
	}
	if len(p) == 0 {
		return nil, nil
	}
	return p, nil
}

// PublishedQuantities lists the quantities a site's resolution applies to
// (humidity is never published).
func PublishedQuantities() []string {
	out := make([]string, len(air.Quantities))
	for i, q := range air.Quantities {
		out[i] = q.ID
	}
	return out
}

// DatastreamResolution is what is published of a datastream of quantity
// at a terminal whose site is s (nil: no site): off without a site and
// for quantities that are not published (humidity).
func DatastreamResolution(s *Site, quantity string) string {
	if s == nil || !slices.Contains(PublishedQuantities(), quantity) {
		return ResolutionOff
	}
	return s.Resolution(quantity)
}

// UnixMinute is t as stored in observations.minute: minutes since the
// epoch, rounded down.
func UnixMinute(t time.Time) int64 {
	sec := t.Unix()
	if sec < 0 && sec%60 != 0 {
		return sec/60 - 1
	}
	return sec / 60
}

// unixMinuteCeil is t in minutes rounded up: the first whole minute at or
// after t, for from bounds.
func unixMinuteCeil(t time.Time) int64 {
	m := UnixMinute(t)
	if time.Unix(m*60, 0).Before(t) {
		m++
	}
	return m
}

// MinuteBounds turns [from, to) into unix minutes [lo, hi): the minutes
// whose start lies in the interval.
func MinuteBounds(from, to time.Time) (lo, hi int64) {
	return unixMinuteCeil(from), unixMinuteCeil(to)
}

// FromUnixMinute is the inverse of UnixMinute (UTC).
func FromUnixMinute(m int64) time.Time { return time.Unix(m*60, 0).UTC() }
