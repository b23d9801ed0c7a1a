// Package scan finds the terminal's serial devices in sysfs and says what
// a udev rule needs to give each a stable name: vendor, product, serial
// number, USB port, driver. It guesses a device's role from adapters of
// the reference kit (provisioning/kiosk/60-quartierhub-serial.rules) and
// writes the rule line that pins the device to a name under
// /dev/quartierhub. rules.go reads udev rules files and evaluates them
// against a scanned device, as udev would, so the shipped rules are
// checked against recorded devices and the scan can say which name the
// installed rules give.
//
// What a USB device reports about itself (product, serial number) is
// outside input: reads are bounded, and a value that is not plain
// printable text never reaches a rule.
package scan

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// LinkDir is where the rules put the stable links, below /dev.
const LinkDir = "quartierhub"

// NameVar is the udev property that carries a device's stable name.
const NameVar = "QUARTIERHUB_NAME"

// LocalRulesFile is where a terminal pins its own adapters; it runs
// before the shipped 60-quartierhub-serial.rules, so its names win.
const LocalRulesFile = "/etc/udev/rules.d/59-quartierhub-local.rules"

// maxAttr bounds one sysfs attribute read (a USB string descriptor holds
// at most 126 characters; sysfs pages are 4 KiB).
const maxAttr = 4096

// Opts says where sysfs and /dev are (tests use recorded trees).
type Opts struct {
	// Sys is the sysfs root; default /sys.
	Sys string
	// Dev is the device directory; default /dev.
	Dev string
}

// Node is one device in sysfs: the tty or one of its parents.
type Node struct {
	// SysPath is the device's path below the sysfs root, e.g.
	// /devices/pci0000:00/0000:00:14.0/usb1/1-2.
	SysPath   string
	Kernel    string // its kernel name, e.g. 1-2 or ttyUSB0
	Subsystem string // e.g. usb, usb-serial, tty
	Driver    string // e.g. ch341, cdc_acm; empty without one
	dir       string // where its attribute files are
}

// Attr reads attribute name of n as udev compares it: without trailing
// white space. ok is false when there is no such readable file.
func (n Node) Attr(name string) (string, bool) {
	if name == "" || strings.Contains(name, "..") || filepath.IsAbs(name) {
		return "", false
	}
	b, err := readBounded(filepath.Join(n.dir, name))
	if err != nil {
		return "", false
	}
	return strings.TrimRightFunc(string(b), unicode.IsSpace), true
}

// Device is one serial device with what a rule needs.
type Device struct {
	Kernel    string `json:"kernel"`    // ttyUSB0
	DevNode   string `json:"devnode"`   // /dev/ttyUSB0
	Subsystem string `json:"subsystem"` // tty
	SysPath   string `json:"syspath"`
	// Of the USB device, empty for a serial port that is not on USB.
	Vendor       string `json:"id_vendor,omitempty"`
	Product      string `json:"id_product,omitempty"`
	Serial       string `json:"serial,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	ProductName  string `json:"product,omitempty"`
	// USBPort is the USB device's kernel name: bus and port path, e.g.
	// 1-2 or 1-1.4 behind a hub. It names the socket, not the device.
	USBPort string `json:"usb_port,omitempty"`
	// Driver is the USB interface's driver (ch341, cp210x, ftdi_sio,
	// cdc_acm), or the port's parent's driver for other ports.
	Driver    string `json:"driver,omitempty"`
	Interface string `json:"interface,omitempty"` // bInterfaceNumber
	// Link is the /dev/quartierhub link pointing at it now, if any.
	Link string `json:"link,omitempty"`
	// Role is the guess from the adapter; nil when unknown.
	Role *Role `json:"role,omitempty"`
	// Chain is the device and its parents, nearest first (for rules).
	Chain []Node `json:"-"`
	// Env is what udev knows of the device before any rule: its uevent.
	Env map[string]string `json:"-"`
}

// Role is what a device probably is, from its adapter.
type Role struct {
	// Name is the stable name the default rules give it: rfid, printer,
	// pm or co2 (the names the default kiosk.json uses).
	Name string `json:"name"`
	// What says which device of the kit uses that adapter.
	What string `json:"what"`
}

// roles are the reference kit's adapters, as the shipped rules name them.
var roles = map[string]Role{
	"1a86:7523": {"pm", "SDS011 dust sensor (its own CH340 adapter)"},
	"10c4:ea60": {"rfid", "card reader, RDM6300 or PN532 (CP2102 adapter)"},
	"0403:6001": {"co2", "MH-Z19B CO2 sensor (FTDI FT232R adapter)"},
}

// printerRole is any USB CDC ACM device: ESC/POS printers with a USB port.
var printerRole = Role{"printer", "ESC/POS receipt printer (USB CDC ACM)"}

// Guess returns the device's likely role, or nil.
func Guess(d Device) *Role {
	if r, ok := roles[d.Vendor+":"+d.Product]; ok {
		return &r
	}
	if d.Driver == "cdc_acm" || strings.HasPrefix(d.Kernel, "ttyACM") {
		r := printerRole
		return &r
	}
	return nil
}

// Scan lists the serial devices: every tty with a hardware parent, but
// not on-board UARTs that report no chip (type 0), sorted by name.
func Scan(opts Opts) ([]Device, error) {
	if opts.Sys == "" {
		opts.Sys = "/sys"
	}
	if opts.Dev == "" {
		opts.Dev = "/dev"
	}
	entries, err := os.ReadDir(filepath.Join(opts.Sys, "class", "tty"))
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	links := currentLinks(filepath.Join(opts.Dev, LinkDir))
	var out []Device
	for _, e := range entries {
		d, ok, err := Read(opts.Sys, e.Name())
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		d.Link = links[d.Kernel]
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kernel < out[j].Kernel })
	return out, nil
}

// Read reads the tty named kernel from the sysfs at sys. ok is false for
// a tty that is no serial device worth naming (virtual consoles, ptys,
// on-board UARTs without a chip).
func Read(sys, kernel string) (Device, bool, error) {
	if kernel == "" || strings.ContainsAny(kernel, "/") || kernel == "." || kernel == ".." {
		return Device{}, false, fmt.Errorf("scan: bad tty name %q", kernel)
	}
	root, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return Device{}, false, fmt.Errorf("scan: %w", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "class", "tty", kernel, "device")); err != nil {
		return Device{}, false, nil // virtual: no hardware behind it
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(root, "class", "tty", kernel))
	if err != nil {
		return Device{}, false, nil
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || !strings.HasPrefix(rel, "devices"+string(filepath.Separator)) {
		return Device{}, false, nil
	}
	d := Device{Kernel: kernel, DevNode: "/dev/" + kernel, SysPath: "/" + filepath.ToSlash(rel)}
	// The device and each parent with a uevent file, as udev walks them.
	for p := dir; ; p = filepath.Dir(p) {
		r, err := filepath.Rel(root, p)
		if err != nil || r == "." || r == "devices" || strings.HasPrefix(r, "..") {
			break
		}
		if _, err := os.Stat(filepath.Join(p, "uevent")); err != nil {
			continue
		}
		d.Chain = append(d.Chain, Node{SysPath: "/" + filepath.ToSlash(r), Kernel: filepath.Base(p),
			Subsystem: linkBase(filepath.Join(p, "subsystem")), Driver: linkBase(filepath.Join(p, "driver")), dir: p})
	}
	if len(d.Chain) == 0 {
		return Device{}, false, nil
	}
	self := d.Chain[0]
	d.Subsystem = self.Subsystem
	d.Env = map[string]string{}
	if b, err := readBounded(filepath.Join(dir, "uevent")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok && k != "" {
				d.Env[k] = v
			}
		}
	}
	if n := d.Env["DEVNAME"]; n != "" && !strings.Contains(n, "..") {
		d.DevNode = "/dev/" + n
	}
	d.Env["DEVNAME"] = d.DevNode
	d.Env["DEVPATH"] = d.SysPath
	d.Env["SUBSYSTEM"] = d.Subsystem
	for _, n := range d.Chain[1:] {
		if n.Subsystem != "usb" {
			continue
		}
		if d.Interface == "" {
			if v, ok := n.Attr("bInterfaceNumber"); ok {
				d.Interface, d.Driver = v, n.Driver
				continue
			}
		}
		if v, ok := n.Attr("idVendor"); ok {
			d.Vendor = v
			d.Product, _ = n.Attr("idProduct")
			d.Serial, _ = n.Attr("serial")
			d.Manufacturer, _ = n.Attr("manufacturer")
			d.ProductName, _ = n.Attr("product")
			d.USBPort = n.Kernel
			break
		}
	}
	if d.Vendor == "" {
		// Not on USB: an on-board or PCI UART, worth naming only if a chip
		// answers (type 0 is a port the driver found nothing at).
		if t, ok := self.Attr("type"); !ok || t == "0" {
			return Device{}, false, nil
		}
		if len(d.Chain) > 1 {
			d.Driver = d.Chain[1].Driver
		}
	}
	d.Role = Guess(d)
	return d, true, nil
}

// currentLinks maps a tty's kernel name to the link in dir pointing at it.
func currentLinks(dir string) map[string]string {
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		target, err := os.Readlink(p)
		if err != nil {
			continue
		}
		k := filepath.Base(target)
		if prev, ok := out[k]; !ok || p < prev {
			out[k] = filepath.Join("/dev", LinkDir, e.Name())
		}
	}
	return out
}

func linkBase(p string) string {
	t, err := os.Readlink(p)
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}

func readBounded(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("scan: not an attribute file")
	}
	return io.ReadAll(io.LimitReader(f, maxAttr))
}
