package display

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Transform is weston.ini's [output] transform for a rotation: how far
// the screen is turned clockwise from its normal orientation (weston
// turns the picture back).
func Transform(rotation int) (string, error) {
	switch rotation {
	case 0:
		return "normal", nil
	case 90, 180, 270:
		return fmt.Sprintf("rotate-%d", rotation), nil
	}
	return "", fmt.Errorf("display: rotation %d must be 0, 90, 180 or 270", rotation)
}

// WestonINI returns the base weston.ini with c applied: every [output]
// section's transform set to c's rotation, and a section added for each
// of outputs (connector names such as HDMI-A-1) that base does not name.
// Weston ignores sections of outputs that are not there, so naming every
// connector of the machine covers whichever one the screen is plugged
// into. Everything else in base is kept as it is.
func WestonINI(base []byte, c Compositor, outputs []string) ([]byte, error) {
	transform, err := Transform(c.Rotation)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	var named []string
	section := ""
	endSection := func() {
		if section != "output" {
			return
		}
		// Before the blank lines that end the section.
		b := out.Bytes()
		blank := len(b) - len(bytes.TrimRight(b, "\n")) - 1
		out.Truncate(len(b) - max(blank, 0))
		fmt.Fprintf(&out, "transform=%s\n%s", transform, strings.Repeat("\n", max(blank, 0)))
	}
	sc := bufio.NewScanner(bytes.NewReader(base))
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "[") {
			endSection()
			// As weston reads it: the name runs to the first ']'.
			section, _, _ = strings.Cut(trim[1:], "]")
			section = strings.TrimSpace(section)
			out.WriteString(line + "\n")
			continue
		}
		if section == "output" {
			key, value, _ := strings.Cut(trim, "=")
			switch strings.TrimSpace(key) {
			case "transform":
				continue // replaced at the end of the section
			case "name":
				named = append(named, strings.TrimSpace(value))
			}
		}
		out.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("display: weston.ini: %w", err)
	}
	endSection()
	for _, name := range outputs {
		if name == "" || slices.Contains(named, name) || strings.ContainsAny(name, "\n[]=") {
			continue
		}
		named = append(named, name)
		fmt.Fprintf(&out, "\n[output]\nname=%s\ntransform=%s\n", name, transform)
	}
	return out.Bytes(), nil
}

// Connectors lists the display connectors the kernel knows (DRM's
// /sys/class/drm/card0-HDMI-A-1 is HDMI-A-1), plugged in or not, as
// weston's DRM backend names its outputs. sysClassDRM is
// /sys/class/drm outside tests.
func Connectors(sysClassDRM string) []string {
	entries, _ := os.ReadDir(sysClassDRM)
	var out []string
	for _, e := range entries {
		card, conn, ok := strings.Cut(e.Name(), "-")
		if !ok || !strings.HasPrefix(card, "card") {
			continue
		}
		if _, err := os.Stat(filepath.Join(sysClassDRM, e.Name(), "status")); err != nil {
			continue
		}
		if !slices.Contains(out, conn) {
			out = append(out, conn)
		}
	}
	slices.Sort(out)
	return out
}
