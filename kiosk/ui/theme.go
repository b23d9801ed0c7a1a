package ui

import (
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// kioskTheme is the terminal's look: light and calm by default, or high
// contrast (white and yellow on black, every text pair ≥ 7:1); large text
// scales every text size. Button and text colours are chosen for contrast
// first; nothing on a screen relies on colour alone.
type kioskTheme struct {
	highContrast bool
	largeText    bool
}

var (
	white   = color.NRGBA{0xff, 0xff, 0xff, 0xff}
	black   = color.NRGBA{0x00, 0x00, 0x00, 0xff}
	ink     = color.NRGBA{0x1a, 0x1a, 0x1a, 0xff}
	paper   = color.NRGBA{0xf7, 0xf6, 0xf2, 0xff}
	navy    = color.NRGBA{0x0b, 0x3d, 0x6e, 0xff}
	mist    = color.NRGBA{0xe3, 0xe6, 0xea, 0xff}
	greyInk = color.NRGBA{0x4a, 0x4a, 0x4a, 0xff}
	yellow  = color.NRGBA{0xff, 0xe6, 0x00, 0xff}
	dark    = color.NRGBA{0x26, 0x26, 0x26, 0xff}
	deepRed = color.NRGBA{0x9e, 0x1a, 0x1a, 0xff}
	deepGrn = color.NRGBA{0x1d, 0x5e, 0x2b, 0xff}
	amber   = color.NRGBA{0x7a, 0x4a, 0x00, 0xff}
	silver  = color.NRGBA{0xc0, 0xc0, 0xc0, 0xff}
)

func (t *kioskTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	if t.highContrast {
		switch n {
		case theme.ColorNameBackground, theme.ColorNameOverlayBackground, theme.ColorNameMenuBackground, theme.ColorNameHeaderBackground:
			return black
		case theme.ColorNameForeground, theme.ColorNameHyperlink:
			return white
		case theme.ColorNameDisabled, theme.ColorNamePlaceHolder:
			// Grey, not white: an example in an empty text box must not
			// look typed, nor a button that cannot be used usable (still
			// ≥ 7:1 on the dark buttons and boxes).
			return silver
		case theme.ColorNameButton, theme.ColorNameInputBackground, theme.ColorNameDisabledButton:
			return dark
		case theme.ColorNamePrimary, theme.ColorNameFocus, theme.ColorNameInputBorder, theme.ColorNameSeparator:
			return yellow
		case theme.ColorNameForegroundOnPrimary, theme.ColorNameForegroundOnWarning, theme.ColorNameForegroundOnError, theme.ColorNameForegroundOnSuccess:
			return black
		case theme.ColorNameWarning, theme.ColorNameError, theme.ColorNameSuccess:
			return yellow
		case theme.ColorNameSelection:
			return color.NRGBA{0xff, 0xe6, 0x00, 0x60}
		case theme.ColorNameHover, theme.ColorNamePressed:
			return color.NRGBA{0xff, 0xff, 0xff, 0x30}
		case theme.ColorNameShadow:
			return color.NRGBA{0, 0, 0, 0}
		case theme.ColorNameScrollBar, theme.ColorNameScrollBarBackground:
			return color.NRGBA{0xff, 0xff, 0xff, 0x80}
		}
		return theme.DefaultTheme().Color(n, theme.VariantDark)
	}
	switch n {
	case theme.ColorNameBackground, theme.ColorNameOverlayBackground, theme.ColorNameMenuBackground, theme.ColorNameHeaderBackground:
		return paper
	case theme.ColorNameForeground, theme.ColorNameHyperlink:
		return ink
	case theme.ColorNameDisabled, theme.ColorNamePlaceHolder:
		return greyInk
	case theme.ColorNameButton, theme.ColorNameDisabledButton:
		return mist
	case theme.ColorNameInputBackground:
		return white
	case theme.ColorNamePrimary, theme.ColorNameFocus, theme.ColorNameInputBorder:
		return navy
	case theme.ColorNameForegroundOnPrimary, theme.ColorNameForegroundOnWarning, theme.ColorNameForegroundOnError, theme.ColorNameForegroundOnSuccess:
		return white
	case theme.ColorNameWarning:
		return amber
	case theme.ColorNameError:
		return deepRed
	case theme.ColorNameSuccess:
		return deepGrn
	case theme.ColorNameSeparator:
		return color.NRGBA{0xc8, 0xcb, 0xd0, 0xff}
	case theme.ColorNameSelection:
		return color.NRGBA{0x0b, 0x3d, 0x6e, 0x40}
	case theme.ColorNameHover, theme.ColorNamePressed:
		return color.NRGBA{0x0b, 0x3d, 0x6e, 0x20}
	case theme.ColorNameShadow:
		return color.NRGBA{0, 0, 0, 0x30}
	}
	return theme.DefaultTheme().Color(n, theme.VariantLight)
}

func (t *kioskTheme) Font(s fyne.TextStyle) fyne.Resource { return theme.DefaultTheme().Font(s) }

func (t *kioskTheme) Icon(n fyne.ThemeIconName) fyne.Resource { return theme.DefaultTheme().Icon(n) }

// sizeNameClock is the attract screen's clock: readable from across the
// pavement.
const (
	sizeNameClock      fyne.ThemeSizeName = "quartierhub-clock"
	sizeNameClockSmall fyne.ThemeSizeName = "quartierhub-clock-small"
)

func (t *kioskTheme) Size(n fyne.ThemeSizeName) float32 {
	scale := float32(1)
	if t.largeText {
		scale = 1.4
	}
	switch n {
	case theme.SizeNameText:
		return 22 * scale
	case theme.SizeNameHeadingText:
		return 34 * scale
	case sizeNameClock:
		return 96 * scale
	case sizeNameClockSmall:
		return 72 * scale
	case theme.SizeNameSubHeadingText:
		return 26 * scale
	case theme.SizeNameCaptionText:
		return 18 * scale
	case theme.SizeNameInlineIcon:
		return 28 * scale
	case theme.SizeNamePadding:
		return 6
	case theme.SizeNameInnerPadding:
		return 14
	case theme.SizeNameInputBorder:
		return 3
	case theme.SizeNameSeparatorThickness:
		return 2
	case theme.SizeNameScrollBar:
		return 20
	case theme.SizeNameScrollBarSmall:
		return 12
	case theme.SizeNameInputRadius, theme.SizeNameSelectionRadius:
		return 6
	}
	return theme.DefaultTheme().Size(n)
}

// ContrastPairs are the foreground/background colour pairs text is drawn
// with on the terminal's screens.
var ContrastPairs = [][2]fyne.ThemeColorName{
	{theme.ColorNameForeground, theme.ColorNameBackground},
	{theme.ColorNameForeground, theme.ColorNameButton},
	{theme.ColorNameForeground, theme.ColorNameInputBackground},
	{theme.ColorNameForeground, theme.ColorNameOverlayBackground},
	{theme.ColorNameForegroundOnPrimary, theme.ColorNamePrimary},
	{theme.ColorNameDisabled, theme.ColorNameDisabledButton},
	{theme.ColorNameDisabled, theme.ColorNameBackground},
	{theme.ColorNamePlaceHolder, theme.ColorNameInputBackground},
	{theme.ColorNameForegroundOnWarning, theme.ColorNameWarning},
	{theme.ColorNameForegroundOnError, theme.ColorNameError},
	{theme.ColorNameForegroundOnSuccess, theme.ColorNameSuccess},
	{theme.ColorNamePrimary, theme.ColorNameBackground},
}

// ContrastRatio is the WCAG 2 contrast ratio of two opaque colours.
func ContrastRatio(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c color.Color) float64 {
	r, g, b, _ := color.NRGBAModel.Convert(c).RGBA()
	lin := func(v uint32) float64 {
		s := float64(v>>8) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}
