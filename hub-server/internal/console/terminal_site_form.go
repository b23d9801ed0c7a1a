package console

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/internal/air"
)

// Bounds of the site form's fields.
const (
	// maxCoordText bounds a coordinate field as typed: a pasted pair with
	// fifteen decimals each fits.
	maxCoordText = 64
	// maxSitePlace is the public place description's length in
	// characters (the store's bound).
	maxSitePlace = 200
)

// Publication choices of the form: "default" stores no override, so the
// site's default applies (store.Site.Resolution: indoors CO2 hourly).
const publishDefault = "default"

var publishChoices = []string{publishDefault, store.ResolutionMinute, store.ResolutionHour, store.ResolutionOff}

// siteInput is the site form as typed, kept whole for the page that
// shows it again (an error, a conflict).
type siteInput struct {
	Lat, Lon, Place string
	Indoor          bool
	// Publish is the choice per quantity ID (publishChoices).
	Publish map[string]string
	// ConfirmCO2 is the tick that indoor CO2 per minute is meant.
	ConfirmCO2 bool
}

// siteInputFrom reads the form of r.
func siteInputFrom(r *http.Request) siteInput {
	in := siteInput{Lat: r.PostFormValue("latitude"), Lon: r.PostFormValue("longitude"), Place: r.PostFormValue("place"),
		Indoor: r.PostFormValue("indoor") == "yes", ConfirmCO2: r.PostFormValue("confirm_co2_minute") == "yes",
		Publish: map[string]string{}}
	for _, q := range air.Quantities {
		in.Publish[q.ID] = r.PostFormValue("publish_" + q.ID)
	}
	return in
}

// siteInputOf is the form filled with a stored site.
func siteInputOf(s store.Site) siteInput {
	in := siteInput{Lat: formatDegrees(s.Latitude), Lon: formatDegrees(s.Longitude), Place: s.Place, Indoor: s.Indoor, Publish: map[string]string{}}
	for _, q := range air.Quantities {
		in.Publish[q.ID] = publishDefault
		if r, ok := s.Publish[q.ID]; ok {
			in.Publish[q.ID] = r
		}
	}
	return in
}

func formatDegrees(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// site checks the input and makes the site it describes (TerminalID and
// Version are the caller's), or returns what to tell the person.
func (in siteInput) site() (store.Site, *Message) {
	var s store.Site
	lat, lon, m := parseCoordinates(in.Lat, in.Lon)
	if m != nil {
		return s, m
	}
	s.Latitude, s.Longitude = lat, lon
	place := strings.TrimSpace(in.Place)
	switch {
	case place == "":
		return s, msg("site.error.place_missing")
	case !utf8.ValidString(place) || utf8.RuneCountInString(place) > maxSitePlace:
		return s, msg("site.error.place_too_long", "max", maxSitePlace)
	case strings.IndexFunc(place, unicode.IsControl) >= 0:
		return s, msg("site.error.place_control")
	}
	s.Place, s.Indoor = place, in.Indoor
	for _, q := range air.Quantities {
		switch c := in.Publish[q.ID]; c {
		case publishDefault, "":
		case store.ResolutionMinute, store.ResolutionHour, store.ResolutionOff:
			if s.Publish == nil {
				s.Publish = map[string]string{}
			}
			s.Publish[q.ID] = c
		default:
			return s, msg("site.error.publish_choice", "quantity", q.Name)
		}
	}
	if s.Indoor && s.Resolution("co2") == store.ResolutionMinute && !in.ConfirmCO2 {
		return s, msg("site.error.confirm_co2_minute")
	}
	return s, nil
}

// parseCoordinates reads latitude and longitude in decimal degrees as a
// person types or pastes them: each in its field, or both in the
// latitude field as a map copies them ("51.05, 13.74", "51.05;13.74",
// "51.05 13.74"); a decimal comma in a field of its own ("51,05"); a
// degree sign and a hemisphere letter (N, S, E, W; also Germany's O for
// Ost), which may put longitude first ("13.74E 51.05N").
func parseCoordinates(latText, lonText string) (lat, lon float64, m *Message) {
	latText, lonText = strings.TrimSpace(latText), strings.TrimSpace(lonText)
	if len(latText) > maxCoordText || len(lonText) > maxCoordText {
		return 0, 0, msg("site.error.coordinate_too_long", "max", maxCoordText)
	}
	if latText == "" {
		return 0, 0, msg("site.error.coordinates_missing")
	}
	parts := []string{latText, lonText}
	if lonText == "" {
		parts = splitPair(latText)
		if len(parts) != 2 {
			return 0, 0, msg("site.error.longitude_missing")
		}
	}
	var vals [2]float64
	var axes [2]byte // 'N' for a latitude hemisphere, 'E' for a longitude one, 0 for none
	for i, p := range parts {
		v, axis, ok := parseDegrees(p)
		if !ok {
			return 0, 0, msg("site.error.coordinate_invalid", "text", p)
		}
		vals[i], axes[i] = v, axis
	}
	if axes[0] == 'E' && axes[1] != 'E' || axes[1] == 'N' && axes[0] != 'N' {
		vals[0], vals[1] = vals[1], vals[0]
	}
	lat, lon = vals[0], vals[1]
	if lat < -90 || lat > 90 {
		return 0, 0, msg("site.error.latitude_range")
	}
	if lon < -180 || lon > 180 {
		return 0, 0, msg("site.error.longitude_range")
	}
	return lat, lon, nil
}

// splitPair splits a pasted pair at spaces or semicolons, or at its one
// comma when the numbers use decimal points ("51.05,13.74").
func splitPair(s string) []string {
	var parts []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || unicode.IsSpace(r) }) {
		if f = strings.Trim(f, ","); f != "" {
			parts = append(parts, f)
		}
	}
	// A hemisphere letter apart ("51.05° N") belongs to the number before.
	for i := 1; i < len(parts); i++ {
		if len(parts[i]) == 1 && strings.ContainsAny(parts[i], "NnSsEeWwOo") {
			parts[i-1] += parts[i]
			parts = append(parts[:i], parts[i+1:]...)
			i--
		}
	}
	if len(parts) == 1 && strings.Count(parts[0], ",") == 1 && strings.Contains(parts[0], ".") {
		a, b, _ := strings.Cut(parts[0], ",")
		parts = []string{a, b}
	}
	return parts
}

// parseDegrees reads one coordinate: digits with one decimal point or
// comma, a sign, a degree sign, a hemisphere letter before or after.
// Only these characters are taken, so nothing ParseFloat would also
// read (NaN, Inf, hexadecimal, exponents) gets through.
func parseDegrees(s string) (v float64, axis byte, ok bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "°", ""))
	sign := 1.0
	if s != "" {
		var h byte
		switch c := s[len(s)-1]; c {
		case 'N', 'n', 'S', 's', 'E', 'e', 'W', 'w', 'O', 'o':
			h, s = c, s[:len(s)-1]
		default:
			switch c := s[0]; c {
			case 'N', 'n', 'S', 's', 'E', 'e', 'W', 'w', 'O', 'o':
				h, s = c, s[1:]
			}
		}
		switch h {
		case 'N', 'n':
			axis = 'N'
		case 'S', 's':
			axis, sign = 'N', -1
		case 'E', 'e', 'O', 'o':
			axis = 'E'
		case 'W', 'w':
			axis, sign = 'E', -1
		}
		s = strings.TrimSpace(s)
	}
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
		case (r == '-' || r == '+') && i == 0:
		default:
			return 0, 0, false
		}
	}
	if digits == 0 || digits > 20 {
		return 0, 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, 0, false
	}
	if axis != 0 && v < 0 {
		return 0, 0, false // "-51N" says two things
	}
	return sign * v, axis, true
}
