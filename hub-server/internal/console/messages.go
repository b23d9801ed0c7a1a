package console

// Every text the console shows passes through T, gettext style: the
// English text is the key. A language is one map from those texts to
// its own; German follows by filling catalog["de"] (a test lists every
// key the templates use). Until a user-language switch exists the
// console speaks Lang.

// Lang is the console's language.
var Lang = "en"

var catalog = map[string]map[string]string{
	"de": {
		"Fleet":  "Flotte",
		"Alerts": "Warnungen",
		"Log in": "Anmelden",
	},
}

// T translates s into Lang; untranslated texts stay English.
func T(s string) string {
	if m := catalog[Lang]; m != nil {
		if t, ok := m[s]; ok {
			return t
		}
	}
	return s
}

// labels are plain-language names for codes shown in tables.
var labels = map[string]string{
	// terminal states
	"online": "Online", "offline": "Offline", "revoked": "Revoked", "never": "Never seen",
	// commands
	"maintenance_on": "Show out-of-order screen", "maintenance_off": "End out-of-order screen", "restart": "Restart the terminal app",
	"sync_now": "Send data now", "test_print": "Print a test receipt", "collect_diagnostics": "Collect diagnostics",
	"queued": "Waiting for the terminal", "delivered": "Delivered", "done": "Done", "failed": "Failed", "expired": "Expired",
	// alerts
	"paper_near_end": "Paper nearly empty", "paper_out": "Paper empty", "sensor_fault": "Sensor fault",
	"sensor_silent": "Sensor silent", "device_fault": "Device fault", "backlog_growing": "Unsent data growing",
	"backlog_old": "Data not sent for long", "disk_low": "Disk nearly full", "revoked_calling": "Revoked terminal still calling",
	"open": "Open", "resolved": "Resolved",
	// reports
	"new": "New", "in_progress": "In progress", "rejected": "Rejected",
	// devices
	"connected": "Working", "recovered": "Working again", "lost": "Disconnected", "fault": "Fault", "closed": "Off",
	"ok": "OK", "near_end": "Nearly empty", "out": "Empty",
	// roles
	"admin": "Admin", "moderator": "Moderator", "viewer": "Viewer",
}

// label returns the plain-language label of a code, or the code.
func label(code string) string {
	if l, ok := labels[code]; ok {
		return T(l)
	}
	return code
}
