package scan

import (
	"fmt"
	"regexp"
	"strings"
)

// validName is a stable name: a file name below /dev/quartierhub.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// safeValue is a device's string that may go into a rule as it is: no
// quote, backslash or glob character, nothing unprintable.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9 ._:+-]{1,126}$`)

// Names gives each device a distinct stable name: its role's name, a
// second device of the same role with -2 and so on, and a device of no
// known role serial-VENDOR-PRODUCT (or its kernel name off USB). The
// names are proposals IT staff edit to what the terminal's kiosk.json
// expects.
func Names(devs []Device) []string {
	out := make([]string, len(devs))
	used := map[string]int{}
	for i, d := range devs {
		base := strings.ToLower(d.Kernel)
		switch {
		case d.Role != nil:
			base = d.Role.Name
		case safeValue.MatchString(d.Vendor) && safeValue.MatchString(d.Product):
			base = strings.ToLower("serial-" + d.Vendor + "-" + d.Product)
		}
		if !validName.MatchString(base) {
			base = "serial"
		}
		used[base]++
		out[i] = base
		if n := used[base]; n > 1 {
			out[i] = fmt.Sprintf("%s-%d", base, n)
		}
	}
	return out
}

// PinRule is the udev rule line that names d name, for LocalRulesFile.
// A USB device is matched by vendor, product and serial number, so the
// name follows the device from socket to socket; without a usable serial
// number (a CH340 has none) by vendor, product and USB port, so the name
// belongs to the socket. Other ports are matched by kernel name.
func PinRule(d Device, name string) (string, error) {
	if !validName.MatchString(name) {
		return "", fmt.Errorf("scan: name %q: use 1 to 32 of a-z, 0-9, - and _", name)
	}
	set := fmt.Sprintf("ENV{%s}=%q", NameVar, name)
	if d.Vendor == "" {
		if !validName.MatchString(strings.ToLower(d.Kernel)) {
			return "", fmt.Errorf("scan: %q cannot be matched by a rule", d.Kernel)
		}
		return fmt.Sprintf(`SUBSYSTEM=="tty", KERNEL==%q, %s`, d.Kernel, set), nil
	}
	if !safeValue.MatchString(d.Vendor) || !safeValue.MatchString(d.Product) {
		return "", fmt.Errorf("scan: %s reports an unusable vendor or product id", d.Kernel)
	}
	id := fmt.Sprintf(`ATTRS{idVendor}==%q, ATTRS{idProduct}==%q`, d.Vendor, d.Product)
	if safeValue.MatchString(d.Serial) {
		return fmt.Sprintf(`SUBSYSTEM=="tty", SUBSYSTEMS=="usb", %s, ATTRS{serial}==%q, %s`, id, d.Serial, set), nil
	}
	if !safeValue.MatchString(d.USBPort) {
		return "", fmt.Errorf("scan: %s has neither a usable serial number nor a USB port", d.Kernel)
	}
	return fmt.Sprintf(`SUBSYSTEM=="tty", SUBSYSTEMS=="usb", KERNELS==%q, %s, %s`, d.USBPort, id, set), nil
}

// Describe is a one-line comment on d for a rules file: nothing a device
// reports can end the comment or add a rule.
func Describe(d Device) string {
	var b strings.Builder
	b.WriteString(d.Kernel)
	if d.Vendor != "" {
		fmt.Fprintf(&b, ": %s:%s", d.Vendor, d.Product)
		if s := strings.TrimSpace(d.Manufacturer + " " + d.ProductName); s != "" {
			b.WriteString(" " + s)
		}
		fmt.Fprintf(&b, ", driver %s, USB port %s", orDash(d.Driver), orDash(d.USBPort))
		switch {
		case d.Serial == "":
			b.WriteString(", no serial number: pinned to its USB port")
		case !safeValue.MatchString(d.Serial):
			b.WriteString(", an unusable serial number: pinned to its USB port")
		default:
			b.WriteString(", serial " + d.Serial)
		}
	} else if d.Driver != "" {
		fmt.Fprintf(&b, ": driver %s", d.Driver)
	}
	if d.Link != "" {
		b.WriteString(", now " + d.Link)
	}
	if d.Role != nil {
		b.WriteString("; looks like the " + d.Role.What)
	}
	return "# " + printable(b.String(), 240)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printable keeps printable ASCII, replaces anything else by '?' and cuts
// at n characters.
func printable(s string, n int) string {
	out := make([]byte, 0, min(len(s), n))
	for _, r := range s {
		if len(out) >= n {
			break
		}
		if r < 0x20 || r > 0x7e {
			r = '?'
		}
		out = append(out, byte(r))
	}
	return string(out)
}
