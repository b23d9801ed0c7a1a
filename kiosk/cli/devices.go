package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/quartierhub/quartierhub/kiosk/agent"
	"github.com/quartierhub/quartierhub/kiosk/devices/scan"
)

// cmdDevices runs `kiosk devices scan`: the serial devices plugged in,
// what a udev rule needs of each, and the rule that pins it to a name
// under /dev/quartierhub (provisioning/kiosk/60-quartierhub-serial.rules).
func cmdDevices(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "scan" {
		return fmt.Errorf("usage: kiosk devices scan [--rules] [--json] [--sys DIR] [--dev DIR]")
	}
	fs := newFlags("devices scan", stderr)
	rulesOnly := fs.Bool("rules", false, "print only the rules file ("+scan.LocalRulesFile+")")
	asJSON := fs.Bool("json", false, "print JSON")
	sys := fs.String("sys", "/sys", "sysfs root")
	dev := fs.String("dev", "/dev", "device directory (for the current /dev/quartierhub links)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	devs, err := scan.Scan(scan.Opts{Sys: *sys, Dev: *dev})
	if err != nil {
		return err
	}
	names := scan.Names(devs)
	rules := make([]string, len(devs))
	for i, d := range devs {
		if rules[i], err = scan.PinRule(d, names[i]); err != nil {
			rules[i] = "# " + err.Error()
		}
	}
	switch {
	case *asJSON:
		type entry struct {
			scan.Device
			Name string `json:"name"`
			Rule string `json:"rule"`
		}
		out := make([]entry, len(devs))
		for i, d := range devs {
			out[i] = entry{d, names[i], rules[i]}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case *rulesOnly:
		fmt.Fprintf(stdout, "# %s: stable names for this terminal's serial devices,\n", scan.LocalRulesFile)
		fmt.Fprintln(stdout, "# written by `kiosk devices scan --rules`. Names set here win over the")
		fmt.Fprintln(stdout, "# defaults of 60-quartierhub-serial.rules; /etc/quartierhub/kiosk.json")
		fmt.Fprintln(stdout, "# uses /dev/quartierhub/NAME. Apply: udevadm control --reload &&")
		fmt.Fprintln(stdout, "# udevadm trigger --action=add --subsystem-match=tty")
		for i, d := range devs {
			fmt.Fprintf(stdout, "%s\n%s\n", scan.Describe(d), rules[i])
		}
		return nil
	}
	if len(devs) == 0 {
		fmt.Fprintln(stdout, "no serial devices found")
		return nil
	}
	for i, d := range devs {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		role := "unknown adapter"
		if d.Role != nil {
			role = d.Role.What
		}
		for _, row := range [][2]string{
			{"devnode", d.DevNode}, {"subsystem", d.Subsystem}, {"idVendor", d.Vendor}, {"idProduct", d.Product},
			{"serial", d.Serial}, {"manufacturer", d.Manufacturer}, {"product", d.ProductName}, {"driver", d.Driver},
			{"interface", d.Interface}, {"usb port", d.USBPort}, {"link", d.Link}, {"looks like", role},
		} {
			v := row[1]
			if v == "" {
				v = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", row[0], strings.ToValidUTF8(strings.Map(printableRune, v), "?"))
		}
		fmt.Fprintf(stdout, "%s\n", d.Kernel)
		tw.Flush()
		fmt.Fprintf(stdout, "  rule: %s\n\n", rules[i])
	}
	fmt.Fprintf(stdout, "Pin them: kiosk devices scan --rules > %s (edit the names), then\nudevadm control --reload && udevadm trigger --action=add --subsystem-match=tty\n", scan.LocalRulesFile)
	return nil
}

// printableRune keeps a device's strings on one line of a terminal.
func printableRune(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return '?'
	}
	return r
}

// enrolMediaFlag is --enrol-media: where the agent looks for a USB
// stick's enrolment file on first boot (agent.EnrolFile).
func enrolMediaFlag(fs *flag.FlagSet) func() []string {
	v := fs.String("enrol-media", strings.Join(agent.DefaultEnrolMedia, ","),
		"comma-separated directories removable media are mounted below; the first-run screen reads "+agent.EnrolFile+" from them")
	return func() []string {
		var out []string
		for _, d := range strings.Split(*v, ",") {
			if d = strings.TrimSpace(d); d != "" {
				out = append(out, d)
			}
		}
		return out
	}
}
