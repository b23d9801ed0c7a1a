package provisioning

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/devices/scan"
)

const (
	serialRules = "kiosk/60-quartierhub-serial.rules"
	// recordedSys is the recorded sysfs of a CH340, a CP2102, an FTDI
	// FT232R and a CDC ACM printer (kiosk/devices/scan/testdata/mksys.sh).
	recordedSys = "../kiosk/devices/scan/testdata/sys"
	localRules  = "59-quartierhub-local.rules"
)

// kit is the name the shipped rules give each recorded device.
var kit = map[string]string{"ttyUSB0": "pm", "ttyUSB1": "rfid", "ttyUSB2": "co2", "ttyACM0": "printer"}

func shippedRules(t *testing.T) scan.File {
	t.Helper()
	b, err := os.ReadFile(serialRules)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := scan.ParseRules(filepath.Base(serialRules), b)
	if err != nil {
		t.Fatal(err)
	}
	return scan.File{Name: filepath.Base(serialRules), Rules: rules}
}

func scanned(t *testing.T, sys string) []scan.Device {
	t.Helper()
	devs, err := scan.Scan(scan.Opts{Sys: sys, Dev: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != len(kit) {
		t.Fatalf("%d devices in %s, want %d", len(devs), sys, len(kit))
	}
	return devs
}

// checkNamed asserts what the rules must do to a device of the kit.
func checkNamed(t *testing.T, d scan.Device, res scan.Result, want string) {
	t.Helper()
	if res.Name() != want || len(res.Symlinks) != 1 {
		t.Errorf("%s: links %v, want only quartierhub/%s", d.Kernel, res.Symlinks, want)
	}
	if res.Group != "dialout" || res.Mode != "0660" {
		t.Errorf("%s: group %q mode %q, want dialout 0660", d.Kernel, res.Group, res.Mode)
	}
	if res.Env["ID_MM_DEVICE_IGNORE"] != "1" {
		t.Errorf("%s: ModemManager may probe it (ID_MM_DEVICE_IGNORE=%q)", d.Kernel, res.Env["ID_MM_DEVICE_IGNORE"])
	}
}

// The shipped rules give each device of the reference kit its name from
// its adapter, group dialout, mode 0660 and the ModemManager flag, and do
// nothing when a device goes.
func TestSerialRulesNameTheKit(t *testing.T) {
	rules := shippedRules(t)
	for _, d := range scanned(t, recordedSys) {
		res, err := scan.Apply([]scan.File{rules}, d, "add")
		if err != nil {
			t.Fatal(err)
		}
		checkNamed(t, d, res, kit[d.Kernel])
		gone, err := scan.Apply([]scan.File{rules}, d, "remove")
		if err != nil {
			t.Fatal(err)
		}
		if len(gone.Symlinks) != 0 || gone.Group != "" {
			t.Errorf("%s removed: %+v", d.Kernel, gone)
		}
	}
}

// An adapter the kit does not use (a PL2303 here) gets no name, no group
// and keeps ModemManager's attention: the rules name only what they know.
func TestSerialRulesLeaveOtherAdaptersAlone(t *testing.T) {
	sys := filepath.Join(t.TempDir(), "sys")
	if out, err := exec.Command("cp", "-a", recordedSys, sys).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	usb := filepath.Join(sys, "devices/pci0000:00/0000:00:14.0/usb1/1-2")
	for name, v := range map[string]string{"idVendor": "067b", "idProduct": "2303"} {
		if err := os.WriteFile(filepath.Join(usb, name), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, ok, err := scan.Read(sys, "ttyUSB0")
	if err != nil || !ok {
		t.Fatalf("read: %v %v", ok, err)
	}
	res, err := scan.Apply([]scan.File{shippedRules(t)}, d, "add")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Symlinks) != 0 || res.Group != "" || res.Env["ID_MM_DEVICE_IGNORE"] != "" {
		t.Fatalf("a PL2303 got %+v", res)
	}
}

// pins is a local rules file as `kiosk devices scan --rules` writes it,
// with the FTDI and the CP2102 swapped: a kit where the card reader sits
// on the FTDI and the CO2 sensor on the CP2102.
func pins(t *testing.T, devs []scan.Device) (string, map[string]string) {
	t.Helper()
	want := map[string]string{"ttyUSB0": "pm", "ttyUSB1": "co2", "ttyUSB2": "rfid", "ttyACM0": "printer"}
	var b strings.Builder
	for _, d := range devs {
		if d.Kernel != "ttyUSB1" && d.Kernel != "ttyUSB2" {
			continue
		}
		line, err := scan.PinRule(d, want[d.Kernel])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\n%s\n", scan.Describe(d), line)
	}
	return b.String(), want
}

// A local pin (59-quartierhub-local.rules, as the scan prints it) wins
// over the adapter defaults, and each device still gets one link only.
func TestLocalPinsWinOverDefaults(t *testing.T) {
	devs := scanned(t, recordedSys)
	local, want := pins(t, devs)
	rules, err := scan.ParseRules(localRules, []byte(local))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		// Given in the wrong order: udev sorts by file name, so must Apply.
		res, err := scan.Apply([]scan.File{shippedRules(t), {Name: localRules, Rules: rules}}, d, "add")
		if err != nil {
			t.Fatal(err)
		}
		checkNamed(t, d, res, want[d.Kernel])
	}
}

// The same under udev itself: `udevadm test` runs on the recorded sysfs,
// bound over /sys in a private mount namespace (with /dev, /run/udev and
// the rules directories replaced, so nothing of this machine changes),
// once with the shipped rules alone and once with local pins. Its names,
// group, mode and ModemManager flag must be those the Go reader computes.
func TestSerialRulesUnderUdevadm(t *testing.T) {
	udevadm, err := exec.LookPath("udevadm")
	if err != nil {
		missingTool(t, "udevadm is not installed (package udev; provisioning/dev/deps.sh test installs it)")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		missingTool(t, "unshare is not installed (package util-linux)")
	}
	if os.Geteuid() != 0 {
		missingTool(t, "udevadm test on a recorded sysfs needs root (a private mount namespace)")
	}
	dialout, err := user.LookupGroup("dialout")
	if err != nil {
		t.Fatalf("no dialout group: %v", err)
	}
	sys, err := filepath.Abs(recordedSys)
	if err != nil {
		t.Fatal(err)
	}
	devs := scanned(t, recordedSys)
	local, pinned := pins(t, devs)
	for _, c := range []struct {
		name  string
		local string
		want  map[string]string
	}{{"shipped rules", "", kit}, {"with local pins", local, pinned}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			rulesDir, etcDir := filepath.Join(dir, "lib"), filepath.Join(dir, "etc")
			for _, d := range []string{rulesDir, etcDir} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(serialRules)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(rulesDir, filepath.Base(serialRules)), b, 0o644); err != nil {
				t.Fatal(err)
			}
			if c.local != "" {
				if err := os.WriteFile(filepath.Join(etcDir, localRules), []byte(c.local), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			script := `set -e
mkdir -p /run/udev /etc/udev/rules.d
mount --bind "$1" /sys
mount -t tmpfs tmpfs /run/udev
mount --bind "$2" /usr/lib/udev/rules.d
mount --bind "$3" /etc/udev/rules.d
mount -t tmpfs tmpfs /dev
shift 4
for d in "$@"; do echo "@@@ device $d"; "$udevadm" test --action=add "/sys/class/tty/$d" 2>&1; done
`
			args := []string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", sys, rulesDir, etcDir, "--"}
			for _, d := range devs {
				args = append(args, d.Kernel)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, unshare, args...)
			// The recorded tree is not a sysfs mount; udev checks that
			// only when this is unset.
			cmd.Env = append(os.Environ(), "SYSTEMD_DEVICE_VERIFY_SYSFS=0", "udevadm="+udevadm)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("udevadm test: %v\n%s", err, out)
			}
			got := udevadmResults(string(out))
			var lr []scan.Rule
			if c.local != "" {
				if lr, err = scan.ParseRules(localRules, []byte(c.local)); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range devs {
				u, ok := got[d.Kernel]
				if !ok {
					t.Fatalf("no udevadm output for %s:\n%s", d.Kernel, out)
				}
				res, err := scan.Apply([]scan.File{shippedRules(t), {Name: localRules, Rules: lr}}, d, "add")
				if err != nil {
					t.Fatal(err)
				}
				want := c.want[d.Kernel]
				if u.props[scan.NameVar] != want || u.props["DEVLINKS"] != "/dev/quartierhub/"+want || res.Name() != want {
					t.Errorf("%s: udev named it %q with links %q, the Go reader %q; want %q", d.Kernel, u.props[scan.NameVar], u.props["DEVLINKS"], res.Name(), want)
				}
				if u.props["ID_MM_DEVICE_IGNORE"] != "1" {
					t.Errorf("%s: udev set ID_MM_DEVICE_IGNORE=%q", d.Kernel, u.props["ID_MM_DEVICE_IGNORE"])
				}
				if u.group != dialout.Gid || u.mode != "0660" {
					t.Errorf("%s: udev's rules set group %q mode %q, want %s (dialout) 0660", d.Kernel, u.group, u.mode, dialout.Gid)
				}
			}
		})
	}
}

type udevResult struct {
	props       map[string]string
	group, mode string
}

// udevadmResults reads `udevadm test` outputs separated by "@@@ device NAME":
// the final properties, and GROUP and MODE as the shipped file set them.
func udevadmResults(out string) map[string]udevResult {
	res := map[string]udevResult{}
	set := regexp.MustCompile(`60-quartierhub-serial\.rules:\d+ (GROUP|MODE) (\S+)`)
	var cur string
	for _, l := range strings.Split(out, "\n") {
		if n, ok := strings.CutPrefix(l, "@@@ device "); ok {
			cur = n
			res[cur] = udevResult{props: map[string]string{}}
			continue
		}
		r, ok := res[cur]
		if !ok {
			continue
		}
		if m := set.FindStringSubmatch(l); m != nil {
			if m[1] == "GROUP" {
				r.group = m[2]
			} else {
				r.mode = m[2]
			}
		} else if k, v, ok := strings.Cut(l, "="); ok && regexp.MustCompile(`^[A-Z_]+$`).MatchString(k) {
			r.props[k] = v
		}
		res[cur] = r
	}
	return res
}

// The default kiosk.json loads and validates with kiosk/config, and every
// device it names is a link the shipped rules make.
func TestDefaultKioskConfigUsesTheRulesNames(t *testing.T) {
	cfg, err := config.Load("kiosk/kiosk.json")
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{}
	for _, name := range kit {
		made["/dev/quartierhub/"+name] = true
	}
	ports := map[string]string{}
	d := cfg.Devices
	if d.CardReader == nil || d.Printer == nil || len(d.Sensors) != 2 {
		t.Fatalf("the default configuration lacks a device: %+v", d)
	}
	ports[d.CardReader.Kind] = d.CardReader.Port
	ports[d.Printer.Kind] = d.Printer.Port
	for _, s := range d.Sensors {
		ports[s.Kind] = s.Port
	}
	for kind, port := range ports {
		if !made[port] {
			t.Errorf("%s on %s: no rule makes that link", kind, port)
		}
		delete(made, port)
	}
	if len(made) != 0 {
		t.Errorf("the rules name devices the configuration does not use: %v", made)
	}
}
