package session

// Printer reasons: translation keys for why printing is off.
const (
	PrinterOK          = ""
	PrinterMissing     = "printer.missing"
	PrinterOffline     = "printer.offline"
	PrinterPaperOut    = "printer.paper_out"
	PrinterCoverOpen   = "printer.cover_open"
	PrinterFault       = "printer.fault"
	PrinterUnreachable = "printer.unreachable"
)

// Device is what the printer logic reads of one device in the agent's
// status: its name, its port's state and its details (the printer's
// "printable", "paper", "cover_open", "online", "error").
type Device struct {
	Name   string
	State  string
	Detail map[string]any
}

// PrinterState tells from the agent's device list whether printing works,
// and if not, the translation key of the explanation.
func PrinterState(devs []Device) (ok bool, reason string) {
	for _, d := range devs {
		if d.Name != "printer" {
			continue
		}
		switch d.State {
		case "connected", "recovered":
		default:
			return false, PrinterUnreachable
		}
		det := d.Detail
		if det == nil {
			return true, PrinterOK
		}
		if p, _ := det["printable"].(bool); p || det["printable"] == nil {
			return true, PrinterOK
		}
		switch {
		case det["paper"] == "out":
			return false, PrinterPaperOut
		case det["cover_open"] == true:
			return false, PrinterCoverOpen
		case det["online"] == false && det["error"] != true:
			return false, PrinterOffline
		}
		return false, PrinterFault
	}
	return false, PrinterMissing
}

// PrinterFromEvent updates a printer state from a device event: the
// device's name and its new state.
func PrinterFromEvent(device, state string) (ok bool, reason string, relevant bool) {
	if device != "printer" {
		return false, "", false
	}
	switch state {
	case "printer_ready", "printer_recovered", "printer_paper_near_end", "connected", "recovered":
		return true, PrinterOK, true
	case "printer_paper_out":
		return false, PrinterPaperOut, true
	case "printer_cover_open":
		return false, PrinterCoverOpen, true
	case "printer_offline":
		return false, PrinterOffline, true
	case "printer_fault":
		return false, PrinterFault, true
	case "lost", "fault", "printer_unreachable":
		return false, PrinterUnreachable, true
	}
	return false, "", false
}
