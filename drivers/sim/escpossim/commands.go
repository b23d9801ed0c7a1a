package escpossim

import (
	"fmt"
	"sort"
	"strings"
)

// spec describes a command by its first two bytes: the parameters after
// them and what the command does. The decoder reads exactly that many
// bytes, so no parameter is ever printed as text.
type spec struct {
	// form names the parameter bytes, one word each for a fixed-length
	// command ("nL nH"); a variable-length one says how its length is
	// found, and variable is set.
	form     string
	params   int
	variable bool
	what     string
	// interpreted: the transcript shows its effect (a line's style, a QR
	// code, a feed, a cut); everything else is recorded as an Other entry
	// "not interpreted".
	interpreted bool
}

const (
	esc = 0x1B
	gs  = 0x1D
	fs  = 0x1C
	dle = 0x10
)

func fixedCmd(form string, params int, what string) spec {
	return spec{form: form, params: params, what: what}
}

func varCmd(form, what string) spec { return spec{form: form, variable: true, what: what} }

// commands are the ESC/POS commands the decoder knows: what Epson's
// reference defines for TM receipt printers, what python-escpos, escpos-php
// and compatible printers' manuals send, and the simulator's own driver's
// (drivers/escpos). docs/protocols.md lists them (TestCommandsDocumented
// keeps that list in step).
var commands = map[[2]byte]spec{
	{esc, '@'}:  {what: "initialize", interpreted: true},
	{esc, 't'}:  {form: "n", params: 1, what: "select character code table", interpreted: true},
	{esc, 'E'}:  {form: "n", params: 1, what: "bold on/off", interpreted: true},
	{esc, '!'}:  {form: "n", params: 1, what: "print mode (bold, double height and width)", interpreted: true},
	{esc, 'a'}:  {form: "n", params: 1, what: "alignment", interpreted: true},
	{esc, 'd'}:  {form: "n", params: 1, what: "print and feed n lines", interpreted: true},
	{gs, '!'}:   {form: "n", params: 1, what: "character size", interpreted: true},
	{gs, 'V'}:   {form: "m [n]", variable: true, what: "cut (m = 65, 66, 97, 98, 103, 104 take a feed n)", interpreted: true},
	{esc, '-'}:  fixedCmd("n", 1, "underline"),
	{esc, 'G'}:  fixedCmd("n", 1, "double-strike"),
	{esc, 'M'}:  fixedCmd("n", 1, "select font"),
	{esc, 'R'}:  fixedCmd("n", 1, "international character set"),
	{esc, 'J'}:  fixedCmd("n", 1, "print and feed n motion units"),
	{esc, 'K'}:  fixedCmd("n", 1, "print and reverse feed n motion units"),
	{esc, 'e'}:  fixedCmd("n", 1, "print and reverse feed n lines"),
	{esc, '2'}:  fixedCmd("", 0, "default line spacing"),
	{esc, '3'}:  fixedCmd("n", 1, "line spacing n/180 inch"),
	{esc, 'A'}:  fixedCmd("n", 1, "line spacing n/60 inch (python-escpos)"),
	{esc, '+'}:  fixedCmd("n", 1, "line spacing n/360 inch (python-escpos)"),
	{esc, ' '}:  fixedCmd("n", 1, "right-side character spacing"),
	{esc, '$'}:  fixedCmd("nL nH", 2, "absolute print position"),
	{esc, '\\'}: fixedCmd("nL nH", 2, "relative print position"),
	{esc, '{'}:  fixedCmd("n", 1, "upside-down printing"),
	{esc, 'V'}:  fixedCmd("n", 1, "90° rotation"),
	{esc, 'r'}:  fixedCmd("n", 1, "print colour"),
	{esc, 'p'}:  fixedCmd("m t1 t2", 3, "drawer kick-out pulse"),
	{esc, 'c'}:  fixedCmd("x n", 2, "paper sensors and panel buttons (ESC c 3/4/5 n), slip/roll (ESC c 0 n)"),
	{esc, '='}:  fixedCmd("n", 1, "select peripheral device"),
	{esc, '%'}:  fixedCmd("n", 1, "user-defined character set on/off"),
	{esc, '?'}:  fixedCmd("n", 1, "cancel user-defined characters"),
	{esc, 'i'}:  fixedCmd("", 0, "partial cut (obsolete)"),
	{esc, 'm'}:  fixedCmd("", 0, "partial cut, three points left (obsolete)"),
	{esc, 'U'}:  fixedCmd("n", 1, "unidirectional printing"),
	{esc, 'L'}:  fixedCmd("", 0, "page mode"),
	{esc, 'S'}:  fixedCmd("", 0, "standard mode"),
	{esc, 'T'}:  fixedCmd("n", 1, "page mode print direction"),
	{esc, 'W'}:  fixedCmd("xL xH yL yH dxL dxH dyL dyH", 8, "page mode print area"),
	{esc, '<'}:  fixedCmd("", 0, "return home"),
	{esc, 'f'}:  fixedCmd("t1 t2", 2, "slip insertion wait time"),
	{esc, 'u'}:  fixedCmd("n", 1, "transmit peripheral device status"),
	{esc, 'B'}:  fixedCmd("n t", 2, "buzzer (clones)"),
	{esc, '*'}:  varCmd("m nL nH d1…dk, k = nL + 256·nH, times 3 for m = 32, 33", "bit image"),
	{esc, 'D'}:  varCmd("n1…nk NUL, k ≤ 32", "horizontal tab positions"),
	{esc, '&'}:  varCmd("y c1 c2 [x d1…d(y·x)] for each character c1…c2", "define user-defined characters"),
	{esc, '('}:  varCmd("fn pL pH d1…dk, k = pL + 256·pH", "extended function (buzzer)"),
	{gs, 'B'}:   fixedCmd("n", 1, "white/black reverse printing"),
	{gs, 'H'}:   fixedCmd("n", 1, "barcode text (HRI) position"),
	{gs, 'f'}:   fixedCmd("n", 1, "barcode text (HRI) font"),
	{gs, 'h'}:   fixedCmd("n", 1, "barcode height"),
	{gs, 'w'}:   fixedCmd("n", 1, "barcode module width"),
	{gs, 'L'}:   fixedCmd("nL nH", 2, "left margin"),
	{gs, 'W'}:   fixedCmd("nL nH", 2, "print area width"),
	{gs, 'a'}:   fixedCmd("n", 1, "automatic status back"),
	{gs, 'r'}:   fixedCmd("n", 1, "transmit status"),
	{gs, 'I'}:   fixedCmd("n", 1, "transmit printer ID"),
	{gs, 'j'}:   fixedCmd("n", 1, "automatic status back for ink"),
	{gs, '/'}:   fixedCmd("m", 1, "print downloaded bit image"),
	{gs, 'P'}:   fixedCmd("x y", 2, "motion units"),
	{gs, 'b'}:   fixedCmd("n", 1, "smoothing"),
	{gs, 'E'}:   fixedCmd("n", 1, "head energy (clones)"),
	{gs, '|'}:   fixedCmd("n", 1, "print density (python-escpos)"),
	{gs, '$'}:   fixedCmd("nL nH", 2, "page mode vertical position"),
	{gs, '\\'}:  fixedCmd("nL nH", 2, "page mode relative vertical position"),
	{gs, 'T'}:   fixedCmd("n", 1, "print position to the line start"),
	{gs, '^'}:   fixedCmd("r t m", 3, "execute macro"),
	{gs, ':'}:   fixedCmd("", 0, "start or end macro definition"),
	{gs, 'C'}:   fixedCmd("", 0, "counter (clones)"),
	{gs, 'g'}:   fixedCmd("x m nL nH", 4, "maintenance counter (GS g 0 initialise, GS g 2 transmit)"),
	{gs, 'z'}:   fixedCmd("0 t1 t2", 3, "online recovery wait time"),
	{gs, 'Z'}:   fixedCmd("n", 1, "select 2D code type (clones)"),
	{gs, 'k'}:   varCmd("m d1…dk NUL for m = 0–6; m n d1…dn for m ≥ 65", "barcode"),
	{gs, 'v'}:   varCmd("0 m xL xH yL yH d1…dk, k = (xL + 256·xH)·(yL + 256·yH)", "raster bit image"),
	{gs, '*'}:   varCmd("x y d1…dk, k = x·y·8", "define downloaded bit image"),
	{gs, '('}:   varCmd("fn pL pH d1…dk, k = pL + 256·pH", "extended functions: 2D codes (GS ( k; QR codes interpreted), graphics (GS ( L), settings"),
	{gs, '8'}:   varCmd("fn p1 p2 p3 p4 d1…dk, k = p1 + 256·p2 + 65536·p3 + 16777216·p4", "extended functions with a 32-bit length (large graphics)"),
	{fs, 'p'}:   fixedCmd("n m", 2, "print NV bit image"),
	{fs, '.'}:   fixedCmd("", 0, "cancel Kanji mode"),
	{fs, '&'}:   fixedCmd("", 0, "Kanji mode"),
	{fs, '!'}:   fixedCmd("n", 1, "Kanji print mode"),
	{fs, '-'}:   fixedCmd("n", 1, "Kanji underline"),
	{fs, 'S'}:   fixedCmd("n1 n2", 2, "Kanji spacing"),
	{fs, 'W'}:   fixedCmd("n", 1, "Kanji quadruple size"),
	{fs, 'C'}:   fixedCmd("n", 1, "Kanji code system"),
	{fs, '?'}:   fixedCmd("c1 c2", 2, "cancel user-defined Kanji"),
	{fs, 'q'}:   varCmd("n [xL xH yL yH d1…dk] n times, k = (xL + 256·xH)·(yL + 256·yH)·8", "define NV bit images"),
	{fs, '('}:   varCmd("fn pL pH d1…dk, k = pL + 256·pH", "extended functions"),
	{dle, 0x04}: varCmd("n; 7 m and 8 m (n = 1–4 are answered wherever they appear, see RealTime)", "real-time status"),
	{dle, 0x05}: fixedCmd("n", 1, "real-time request"),
	{dle, 0x14}: varCmd("fn …: 1 m t, 2 a b, 3 n t, 7 m, 8 d1…d7", "real-time pulse, power-off, buzzer, status, clear buffers"),
}

// cmdName is the command's name as the references write it, e.g. "ESC 3",
// "ESC SP", "DLE EOT".
func cmdName(c []byte) string {
	var p string
	switch c[0] {
	case esc:
		p = "ESC"
	case gs:
		p = "GS"
	case fs:
		p = "FS"
	case dle:
		p = "DLE"
	default:
		return fmt.Sprintf("%02X", c[0])
	}
	if len(c) < 2 {
		return p
	}
	switch b := c[1]; {
	case b == ' ':
		return p + " SP"
	case c[0] == dle && b == 0x04:
		return p + " EOT"
	case c[0] == dle && b == 0x05:
		return p + " ENQ"
	case c[0] == dle && b == 0x14:
		return p + " DC4"
	case b > 0x20 && b < 0x7F:
		return fmt.Sprintf("%s %c", p, b)
	default:
		return fmt.Sprintf("%s %02X", p, b)
	}
}

// Command is one ESC/POS command the simulator knows.
type Command struct {
	Name   string // e.g. "GS ( k"
	Hex    string // its first bytes, e.g. "1D 28"
	Params string // its parameters, or how its length is found
	What   string
	// Interpreted: the transcript shows its effect; otherwise it is read
	// whole and recorded as an Other entry "not interpreted".
	Interpreted bool
}

// Commands lists the commands the decoder knows, in byte order. Any
// other ESC, GS or FS x is taken to have no parameters and recorded as
// "unknown".
func Commands() []Command {
	keys := make([][2]byte, 0, len(commands))
	for k := range commands {
		keys = append(keys, k)
	}
	rank := map[byte]int{esc: 0, gs: 1, fs: 2, dle: 3}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return rank[keys[i][0]] < rank[keys[j][0]]
		}
		return keys[i][1] < keys[j][1]
	})
	out := make([]Command, len(keys))
	for i, k := range keys {
		s := commands[k]
		out[i] = Command{Name: cmdName(k[:]), Hex: fmt.Sprintf("%02X %02X", k[0], k[1]), Params: s.form, What: s.what, Interpreted: s.interpreted}
	}
	return out
}

// CommandTable is Commands as a Markdown table, as docs/protocols.md
// shows it.
func CommandTable() string {
	var b strings.Builder
	b.WriteString("| command | bytes | parameters | what it does | simulator |\n|---|---|---|---|---|\n")
	for _, c := range Commands() {
		did := "skipped"
		if c.Interpreted {
			did = "interpreted"
		}
		params := c.Params
		if params == "" {
			params = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", strings.ReplaceAll(c.Name, "|", "\\|"), c.Hex,
			strings.ReplaceAll(params, "|", "\\|"), c.What, did)
	}
	return b.String()
}
