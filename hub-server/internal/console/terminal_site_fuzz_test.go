package console

import (
	"math"
	"testing"
)

// FuzzParseCoordinates: whatever is typed or pasted into the site form's
// coordinate fields, the parser returns a point within the WGS 84 ranges
// or a message, never a NaN or infinity, and the point it returns reads
// back as itself.
func FuzzParseCoordinates(f *testing.F) {
	for _, s := range [][2]string{{"51.0504", "13.7373"}, {"51.0504, 13.7373", ""}, {"51,05", "13,74"}, {"13.74E 51.05N", ""},
		{"NaN", "Inf"}, {"0x1p-2", "1e3"}, {"-51N", ""}, {"51.05;13.74", ""}, {"°°", "N"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, latText, lonText string) {
		lat, lon, m := parseCoordinates(latText, lonText)
		if m != nil {
			return
		}
		if math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			t.Fatalf("parseCoordinates(%q, %q) = %v, %v", latText, lonText, lat, lon)
		}
		lat2, lon2, m := parseCoordinates(formatDegrees(lat), formatDegrees(lon))
		if m != nil || lat2 != lat || lon2 != lon {
			t.Fatalf("%v, %v read back as %v, %v (%v)", lat, lon, lat2, lon2, m)
		}
	})
}
