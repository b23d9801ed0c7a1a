package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/quartierhub/quartierhub/kiosk/devices/scan"
)

const recordedSys = "../devices/scan/testdata/sys"

// `kiosk devices scan --rules` prints a rules file that udev (here the
// rules reader) takes as it is: one pin per recorded device, naming each
// as the default kiosk.json expects.
func TestDevicesScanPrintsRules(t *testing.T) {
	code, out, errs := runCLI(t, "devices", "scan", "--rules", "--sys", recordedSys, "--dev", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rules, err := scan.ParseRules("59-quartierhub-local.rules", []byte(out))
	if err != nil || len(rules) != 4 {
		t.Fatalf("%d rules, %v:\n%s", len(rules), err, out)
	}
	devs, err := scan.Scan(scan.Opts{Sys: recordedSys, Dev: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ttyUSB0": "pm", "ttyUSB1": "rfid", "ttyUSB2": "co2", "ttyACM0": "printer"}
	for _, d := range devs {
		res, err := scan.Apply([]scan.File{{Name: "59-quartierhub-local.rules", Rules: rules}}, d, "add")
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Env[scan.NameVar]; got != want[d.Kernel] {
			t.Errorf("%s: named %q, want %q", d.Kernel, got, want[d.Kernel])
		}
	}
}

// The plain listing shows what a rule needs of each device, and --json
// the same as data.
func TestDevicesScanLists(t *testing.T) {
	code, out, errs := runCLI(t, "devices", "scan", "--sys", recordedSys, "--dev", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, s := range []string{"ttyUSB2\n", "idVendor      0403", "serial        A50285BI", "driver        ftdi_sio",
		"usb port      1-4", "MH-Z19B", `rule: SUBSYSTEM=="tty", SUBSYSTEMS=="usb", KERNELS=="1-2"`, scan.LocalRulesFile} {
		if !strings.Contains(out, s) {
			t.Errorf("the listing lacks %q:\n%s", s, out)
		}
	}
	code, out, errs = runCLI(t, "devices", "scan", "--json", "--sys", recordedSys, "--dev", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var list []struct {
		Kernel, Name, Rule string
		Vendor             string `json:"id_vendor"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 4 || list[0].Kernel != "ttyACM0" || list[0].Name != "printer" || list[0].Vendor != "0483" || !strings.Contains(list[0].Rule, `ATTRS{serial}=="2079338D5548"`) {
		t.Fatalf("json: %v %+v", err, list)
	}
	if code, _, errs := runCLI(t, "devices", "list"); code == 0 || !strings.Contains(errs, "usage: kiosk devices scan") {
		t.Fatalf("devices list: exit %d, %s", code, errs)
	}
}
