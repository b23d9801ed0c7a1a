package console

import "github.com/quartierhub/quartierhub/hub-server/internal/store"

// Action is something a console user may be allowed to do. Every route
// names the one action it needs (routes.go); Can decides.
type Action string

// Actions. Reading is split from writing so that the viewer role is
// read-only by construction.
const (
	ViewFleet     Action = "view_fleet"     // overview, terminal detail, alerts, commands, configuration (read)
	ViewReports   Action = "view_reports"   // problem reports (incl. residents' text), survey results, CSV export
	ViewAudit     Action = "view_audit"     // the audit log
	EditReports   Action = "edit_reports"   // report status workflow, public note, publishing a resident's text
	EditContent   Action = "edit_content"   // the "content" section of configuration layers
	EditSettings  Action = "edit_settings"  // the "settings" section of configuration layers
	SendCommands  Action = "send_commands"  // remote actions on terminals
	ManageTerms   Action = "manage_terms"   // enrolment tokens, tags, revoke, credential rotation
	ManageUsers   Action = "manage_users"   // create users, change roles, disable, reset passwords
	AckAlerts     Action = "ack_alerts"     // acknowledge an open alert ("someone is on it")
	MuteAlerts    Action = "mute_alerts"    // mute a terminal's alert notices for a while, lift a mute
	ViewDiags     Action = "view_diags"     // terminals' diagnostics bundles (agent status, log lines; no personal data)
	ViewScreens   Action = "view_screens"   // terminals' screenshots (taken only while no resident uses the terminal)
	ChangeOwnPass Action = "change_own_pwd" // one's own password
	ManageUpdates Action = "manage_updates" // publish releases, start, pause, resume and stop rollouts, maintenance windows
	RunWorkshops  Action = "run_workshops"  // prepare, run and export participation workshops (console and projector)
	// ManageOpenData: a terminal's site (point, place, indoors) and what of
	// its air is published, or that nothing is.
	ManageOpenData Action = "manage_open_data"
)

// Roles lists the roles, most powerful first.
var Roles = []string{store.RoleAdmin, store.RoleModerator, store.RoleViewer}

// permissions is the one table of who may do what.
//
//   - admin: everything, including software updates (releases,
//     rollouts, maintenance windows) and what is published as open data
//     (a terminal's site: where it stands, indoor CO2 per minute).
//   - moderator: runs participation workshops and handles residents'
//     reports — reads the fleet and the results, works on reports, edits
//     content (announcements, pages, surveys) but not terminal settings,
//     sends no commands, manages neither terminals nor users, neither
//     acknowledges nor mutes alerts and reads neither diagnostics nor
//     screenshots.
//   - viewer: reads the fleet, reports, results, diagnostics bundles,
//     screenshots and the audit log (e.g. a supervisor or data-protection
//     officer, who may see what a screenshot showed) and the releases,
//     rollouts and maintenance windows; changes nothing but their own
//     password.
//
// A screenshot is a command (send_commands: admins only); the window
// takes it only on the attract screen, the out-of-order screen and in
// the service menu, so it carries no resident's data, like a
// diagnostics bundle. Each viewing of one is audited.
var permissions = map[string]map[Action]bool{
	store.RoleAdmin: {
		ViewFleet: true, ViewReports: true, ViewAudit: true, EditReports: true, EditContent: true, EditSettings: true,
		SendCommands: true, ManageTerms: true, ManageUsers: true, ChangeOwnPass: true,
		AckAlerts: true, MuteAlerts: true, ViewDiags: true, ViewScreens: true, ManageUpdates: true, RunWorkshops: true,
		ManageOpenData: true,
	},
	store.RoleModerator: {
		ViewFleet: true, ViewReports: true, EditReports: true, EditContent: true, ChangeOwnPass: true, RunWorkshops: true,
	},
	store.RoleViewer: {
		ViewFleet: true, ViewReports: true, ViewAudit: true, ChangeOwnPass: true, ViewDiags: true, ViewScreens: true,
	},
}

// Can reports whether a user of role may do a.
func Can(role string, a Action) bool { return permissions[role][a] }

// ValidRole reports whether r is a role.
func ValidRole(r string) bool { _, ok := permissions[r]; return ok }
