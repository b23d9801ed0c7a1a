package ui

import (
	"image/color"
	"testing"

	"fyne.io/fyne/v2/theme"
)

func TestContrastRatios(t *testing.T) {
	if r := ContrastRatio(color.White, color.Black); r < 20.9 || r > 21.1 {
		t.Fatalf("white on black is %v, want 21", r)
	}
	if r := ContrastRatio(color.NRGBA{0x77, 0x77, 0x77, 0xff}, color.White); r < 4.4 || r > 4.6 {
		t.Fatalf("#777 on white is %v, want about 4.48", r)
	}
	for _, c := range []struct {
		name string
		th   *kioskTheme
		min  float64
	}{
		{"high contrast", &kioskTheme{highContrast: true}, 7},
		{"high contrast, large", &kioskTheme{highContrast: true, largeText: true}, 7},
		{"normal", &kioskTheme{}, 7},
	} {
		for _, p := range ContrastPairs {
			fg := c.th.Color(p[0], theme.VariantLight)
			bg := c.th.Color(p[1], theme.VariantLight)
			if r := ContrastRatio(fg, bg); r < c.min {
				t.Errorf("%s: %s on %s is %.2f:1, want ≥ %v:1", c.name, p[0], p[1], r, c.min)
			}
		}
	}
}

func TestLargeTextIsLarger(t *testing.T) {
	n, l := &kioskTheme{}, &kioskTheme{largeText: true}
	for _, s := range []string{string(theme.SizeNameText), string(theme.SizeNameHeadingText), string(theme.SizeNameCaptionText)} {
		if l.Size(s2n(s)) < 1.3*n.Size(s2n(s)) {
			t.Errorf("%s: large %v vs normal %v", s, l.Size(s2n(s)), n.Size(s2n(s)))
		}
	}
}
