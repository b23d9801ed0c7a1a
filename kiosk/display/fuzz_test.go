package display

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The base weston.ini is an administrator's file: whatever it holds, the
// result keeps every line that is not an output's transform and has
// exactly one transform per output section, the hub's.
func FuzzWestonINI(f *testing.F) {
	base, err := os.ReadFile(filepath.Join("..", "..", "provisioning", "session", "weston.ini"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(base), 90)
	f.Add("[output]\nname=HDMI-A-1\ntransform=rotate-180\n\n\n[output]\nname=DP-1", 270)
	f.Add("[output", 0)
	f.Add("[core]\n[output]\n[output]\ntransform=x\n", 180)
	f.Add("[output] # the panel\nname=HDMI-A-1\n", 90)
	f.Fuzz(func(t *testing.T, base string, rotation int) {
		out, err := WestonINI([]byte(base), Compositor{Rotation: rotation}, []string{"HDMI-A-1", "eDP-1"})
		if err != nil {
			if _, terr := Transform(rotation); terr == nil {
				t.Fatalf("rotation %d refused: %v", rotation, err)
			}
			return
		}
		want, _ := Transform(rotation)
		sections, transforms := 0, 0
		section := ""
		for _, l := range strings.Split(string(out), "\n") {
			trim := strings.TrimSpace(l)
			if strings.HasPrefix(trim, "[") {
				section, _, _ = strings.Cut(trim[1:], "]")
				section = strings.TrimSpace(section)
				if section == "output" {
					sections++
				}
				continue
			}
			if key, v, _ := strings.Cut(trim, "="); section == "output" && strings.TrimSpace(key) == "transform" {
				transforms++
				if v != want {
					t.Fatalf("transform=%s in %q, want %s", v, out, want)
				}
			}
		}
		if transforms != sections {
			t.Fatalf("%d output sections, %d transforms:\n%s", sections, transforms, out)
		}
	})
}

// compositor.json and the display section come from a file and a local
// socket: a bad one is an error, a good one a valid rotation.
func FuzzReadCompositor(f *testing.F) {
	for _, s := range []string{`{"rotation":90}`, `{"rotation":45}`, `{}`, `[`, `{"rotation":90,"x":1}`, `{"rotation":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, CompositorFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := ReadCompositor(dir)
		if err == nil {
			if _, terr := Transform(c.Rotation); terr != nil {
				t.Fatalf("%q read as rotation %d", b, c.Rotation)
			}
		}
		d, err := FromDocument(b)
		if err == nil && d != nil {
			if verr := d.Validate(); verr != nil {
				t.Fatalf("%q gave invalid display settings: %v", b, verr)
			}
		}
	})
}
