package scan_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/devices/scan"
)

// recorded is the recorded sysfs of a terminal's four USB serial devices
// (testdata/mksys.sh).
const recorded = "testdata/sys"

func byKernel(t *testing.T, devs []scan.Device) map[string]scan.Device {
	t.Helper()
	out := map[string]scan.Device{}
	for _, d := range devs {
		out[d.Kernel] = d
	}
	return out
}

// The scan finds the CH340, CP2102, FTDI and CDC ACM devices with what a
// rule needs, the link that points at one now, and the role of each; not
// the virtual console nor the on-board UART without a chip.
func TestScanRecordedSysfs(t *testing.T) {
	dev := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dev, scan.LinkDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../ttyUSB0", filepath.Join(dev, scan.LinkDir, "pm")); err != nil {
		t.Fatal(err)
	}
	devs, err := scan.Scan(scan.Opts{Sys: recorded, Dev: dev})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range devs {
		names = append(names, d.Kernel)
	}
	if got := strings.Join(names, " "); got != "ttyACM0 ttyUSB0 ttyUSB1 ttyUSB2" {
		t.Fatalf("found %s, want the four USB serial devices", got)
	}
	m := byKernel(t, devs)
	want := []struct {
		kernel, vendor, product, serial, driver, port, iface, role, link, node string
	}{
		{"ttyUSB0", "1a86", "7523", "", "ch341", "1-2", "00", "pm", "/dev/quartierhub/pm", "/dev/ttyUSB0"},
		{"ttyUSB1", "10c4", "ea60", "0001", "cp210x", "1-3", "00", "rfid", "", "/dev/ttyUSB1"},
		{"ttyUSB2", "0403", "6001", "A50285BI", "ftdi_sio", "1-4", "00", "co2", "", "/dev/ttyUSB2"},
		{"ttyACM0", "0483", "5740", "2079338D5548", "cdc_acm", "1-5", "00", "printer", "", "/dev/ttyACM0"},
	}
	for _, w := range want {
		d := m[w.kernel]
		role := ""
		if d.Role != nil {
			role = d.Role.Name
		}
		got := []string{d.Vendor, d.Product, d.Serial, d.Driver, d.USBPort, d.Interface, role, d.Link, d.DevNode, d.Subsystem}
		exp := []string{w.vendor, w.product, w.serial, w.driver, w.port, w.iface, w.role, w.link, w.node, "tty"}
		if strings.Join(got, "|") != strings.Join(exp, "|") {
			t.Errorf("%s: got %q, want %q", w.kernel, got, exp)
		}
	}
	if d := m["ttyUSB2"]; d.Manufacturer != "FTDI" || d.ProductName != "FT232R USB UART" {
		t.Errorf("ttyUSB2: manufacturer %q product %q", d.Manufacturer, d.ProductName)
	}
	if d := m["ttyUSB0"]; d.SysPath != "/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0" {
		t.Errorf("ttyUSB0 sys path %s", d.SysPath)
	}
}

// Each pin line names its own device and no other, by serial number
// where the device has one and by USB port where it has none (CH340).
func TestPinRulesMatchOnlyTheirDevice(t *testing.T) {
	devs, err := scan.Scan(scan.Opts{Sys: recorded, Dev: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	names := scan.Names(devs)
	if got := strings.Join(names, " "); got != "printer pm rfid co2" {
		t.Fatalf("proposed names %s", got)
	}
	for i, d := range devs {
		line, err := scan.PinRule(d, names[i])
		if err != nil {
			t.Fatal(err)
		}
		byPort := strings.Contains(line, "KERNELS==")
		if byPort != (d.Serial == "") || strings.Contains(line, "ATTRS{serial}") == (d.Serial == "") {
			t.Errorf("%s: %s", d.Kernel, line)
		}
		rules, err := scan.ParseRules("59-quartierhub-local.rules", []byte(scan.Describe(d)+"\n"+line+"\n"))
		if err != nil || len(rules) != 1 {
			t.Fatalf("%s: %d rules, %v", line, len(rules), err)
		}
		for _, other := range devs {
			res, err := scan.Apply([]scan.File{{Name: "59-quartierhub-local.rules", Rules: rules}}, other, "add")
			if err != nil {
				t.Fatal(err)
			}
			got, want := res.Env[scan.NameVar], ""
			if other.Kernel == d.Kernel {
				want = names[i]
			}
			if got != want {
				t.Errorf("%s applied to %s: name %q, want %q", line, other.Kernel, got, want)
			}
		}
	}
}

// Two adapters of one kind get distinct names; an unknown adapter a
// name from its ids.
func TestNamesAreDistinct(t *testing.T) {
	pm := &scan.Role{Name: "pm"}
	got := scan.Names([]scan.Device{{Kernel: "ttyUSB0", Role: pm}, {Kernel: "ttyUSB1", Role: pm},
		{Kernel: "ttyUSB2", Vendor: "067B", Product: "2303"}, {Kernel: "ttyS4"}, {Kernel: "ttyUSB9", Vendor: `"`, Product: "x"}})
	if s := strings.Join(got, " "); s != "pm pm-2 serial-067b-2303 ttys4 ttyusb9" {
		t.Fatalf("names %s", s)
	}
	if _, err := scan.PinRule(scan.Device{Kernel: "ttyS4"}, "../../etc"); err == nil {
		t.Fatal("a name with a path was accepted")
	}
	line, err := scan.PinRule(scan.Device{Kernel: "ttyS4"}, "printer")
	if err != nil || line != `SUBSYSTEM=="tty", KERNEL=="ttyS4", ENV{QUARTIERHUB_NAME}="printer"` {
		t.Fatalf("on-board port: %s, %v", line, err)
	}
}

// A USB device reports its own serial number and product: one that
// carries a quote, a newline or a glob never reaches a rule, and the
// comment stays one line.
func TestHostileDeviceStringsStayOutOfRules(t *testing.T) {
	sys := filepath.Join(t.TempDir(), "sys")
	if out, err := exec.Command("cp", "-a", recorded, sys).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	usb := filepath.Join(sys, "devices/pci0000:00/0000:00:14.0/usb1/1-4")
	for name, v := range map[string]string{
		"serial":  "A5\", RUN+=\"/bin/sh -c reboot",
		"product": "FT232R\nSUBSYSTEM==\"tty\", RUN+=\"/bin/sh\"",
	} {
		if err := os.WriteFile(filepath.Join(usb, name), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, ok, err := scan.Read(sys, "ttyUSB2")
	if err != nil || !ok {
		t.Fatalf("read: %v %v", ok, err)
	}
	line, err := scan.PinRule(d, "co2")
	if err != nil {
		t.Fatal(err)
	}
	file := scan.Describe(d) + "\n" + line + "\n"
	if strings.Count(file, "\n") != 2 || strings.Contains(line, "RUN") {
		t.Fatalf("the device's strings reached the rules:\n%s", file)
	}
	if !strings.Contains(line, `KERNELS=="1-4"`) {
		t.Fatalf("without a usable serial number the rule must pin the port: %s", line)
	}
	rules, err := scan.ParseRules("x.rules", []byte(file))
	if err != nil || len(rules) != 1 {
		t.Fatalf("%d rules, %v", len(rules), err)
	}
	for _, k := range rules[0].Keys {
		if k.Name == "RUN" {
			t.Fatalf("the rule runs a program: %s", line)
		}
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		pattern, value string
		want           bool
	}{
		{"ttyACM[0-9]*", "ttyACM0", true},
		{"ttyACM[0-9]*", "ttyACM12", true},
		{"ttyACM[0-9]*", "ttyACMx", false},
		{"ttyUSB[0-9]*|ttyACM[0-9]*", "ttyUSB3", true},
		{"?*", "", false},
		{"?*", "pm", true},
		{"", "", true},
		{"", "x", false},
		{"[!a]b", "ab", false},
		{"[!a]b", "cb", true},
		{"*/usb1/*", "/devices/usb1/1-2", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"1a86", "1a86", true},
		{"[", "[", true},
	} {
		rules, err := scan.ParseRules("g.rules", []byte(`KERNEL=="`+c.pattern+`", ENV{HIT}="1"`))
		if err != nil {
			t.Fatal(err)
		}
		res, err := scan.Apply([]scan.File{{Name: "g.rules", Rules: rules}}, scan.Device{Kernel: c.value}, "add")
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Env["HIT"] == "1"; got != c.want {
			t.Errorf("%q against %q: %v, want %v", c.pattern, c.value, got, c.want)
		}
	}
}

func TestParseRulesErrors(t *testing.T) {
	for in, want := range map[string]string{
		`KERNEL=="x`:                      "unclosed value",
		`KERNEL~"x"`:                      "an operator",
		`KERNEL=="x" SUBSYSTEM=="tty"`:    "", // udev accepts a space between keys
		`ATTRS{idVendor=="1a86"`:          "",
		`=="x"`:                           "a key name expected",
		`KERNEL=="x"y`:                    "a comma expected",
		`ATTRS{}=="x"`:                    "empty {}",
		`KERNEL==x`:                       "double quotes",
		"KERNEL==\"a\", \\\nENV{A}=\"1\"": "",
	} {
		rules, err := scan.ParseRules("e.rules", []byte(in))
		switch {
		case want == "" && in == `ATTRS{idVendor=="1a86"`:
			if err == nil {
				t.Errorf("%s: accepted", in)
			}
		case want == "":
			if err != nil || len(rules) != 1 {
				t.Errorf("%s: %d rules, %v", in, len(rules), err)
			}
		case err == nil || !strings.Contains(err.Error(), want):
			t.Errorf("%s: err %v, want %q", in, err, want)
		}
	}
	if _, err := scan.ParseRules("big.rules", make([]byte, scan.MaxRulesBytes+1)); err == nil {
		t.Error("a rules file above the limit was read")
	}
	rules, _ := scan.ParseRules("r.rules", []byte(`KERNEL=="x", RUN+="/bin/true"`))
	if _, err := scan.Apply([]scan.File{{Name: "r.rules", Rules: rules}}, scan.Device{Kernel: "x"}, "add"); err == nil {
		t.Error("a rule with a key the reader does not know was applied without an error")
	}
}

// FuzzParseRules: any file is read or refused with an error, without a
// panic, and what is read applies to a recorded device in bounded time.
func FuzzParseRules(f *testing.F) {
	for _, p := range []string{"../../../provisioning/kiosk/60-quartierhub-serial.rules"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`SUBSYSTEM=="tty", SUBSYSTEMS=="usb", KERNELS=="1-2", ATTRS{idVendor}=="1a86", ENV{QUARTIERHUB_NAME}="pm"`))
	f.Add([]byte("KERNEL==\"a\\\"b\", \\\nGOTO=\"x\"\nLABEL=\"x\"\n"))
	f.Add([]byte(`ENV{A}=="*a*a*a*a*a*a*a*a*b", SYMLINK+="$env{A}%k$$", ENV{B}:="1", ENV{B}="2"`))
	f.Add([]byte(`KERNEL=="[!0-9][^a-z]*|x[", ATTR{../../x}=="1"`))
	dev, ok, err := scan.Read(recorded, "ttyUSB2")
	if err != nil || !ok {
		f.Fatalf("recorded device: %v %v", ok, err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := scan.ParseRules("fuzz.rules", data)
		if err != nil {
			return
		}
		for _, r := range rules {
			if len(r.Keys) == 0 || len(r.Keys) > 64 {
				t.Fatalf("rule with %d keys", len(r.Keys))
			}
		}
		_, _ = scan.Apply([]scan.File{{Name: "fuzz.rules", Rules: rules}}, dev, "add")
	})
}
