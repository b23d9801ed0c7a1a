package packaging

// The three packages and what each installs. Every source path is
// relative to the repository root, except binaries, which come from the
// directory of built binaries (Options.BinDir). A source that does not
// exist fails the build with its name.

// Names of the packages.
const (
	Kiosk        = "quartierhub-kiosk"
	KioskSession = "quartierhub-kiosk-session"
	Hub          = "quartierhub-hub"
)

// Manifest lists the packages of one build. version is the Debian
// version of all three (the session package depends on exactly the
// kiosk package of its own build).
func Manifest(version string) []Package {
	return []Package{
		{
			Name:     Kiosk,
			Section:  "misc",
			Synopsis: "Quartierhub terminal: agent, touchscreen window and CLI",
			Description: `The program of a Quartierhub neighbourhood terminal: the agent that
talks to the serial devices (card reader, receipt printer, air sensors),
keeps an outbox of records and synchronises with the hub; the
touchscreen window; and the kiosk command line.
.
This package runs the agent as the system service quartierhub-agent
under the user quartierhub-kiosk and gives the serial devices stable
names in /dev/quartierhub. The locked-down screen session is in
quartierhub-kiosk-session.
.
The updater, quartierhub-updater, installs the releases the hub offers,
verified with The Update Framework against the root pinned in
/usr/share/quartierhub/tuf-root.json, and rolls back a release that
fails its health gate. A package built without a root leaves it off.`,
			// dpkg-shlibdeps on the cgo kiosk binary (the window links
			// OpenGL and X11); tests/packages checks that they still match.
			Depends: []string{"libc6 (>= 2.34)", "libgl1", "libx11-6 (>= 2:1.2.99.901)", "adduser"},
			Files: []File{
				{Bin: "kiosk", Dest: "/usr/bin/kiosk", Mode: 0o755},
				{Bin: "quartierhub-updater", Dest: "/usr/bin/quartierhub-updater", Mode: 0o755},
				// The units start the updater's current release or this package's kiosk.
				{Src: "provisioning/kiosk/kiosk-current", Dest: "/usr/lib/quartierhub/kiosk", Mode: 0o755},
				{Src: "provisioning/kiosk/quartierhub-agent.service", Dest: "/usr/lib/systemd/system/quartierhub-agent.service", Mode: 0o644},
				{Src: "provisioning/kiosk/quartierhub-updater.service", Dest: "/usr/lib/systemd/system/quartierhub-updater.service", Mode: 0o644},
				{Input: InputTUFRoot, Dest: "/usr/share/quartierhub/tuf-root.json", Mode: 0o644},
				{Src: "provisioning/kiosk/60-quartierhub-serial.rules", Dest: "/usr/lib/udev/rules.d/60-quartierhub-serial.rules", Mode: 0o644},
				{Src: "provisioning/kiosk/kiosk.json", Dest: "/etc/quartierhub/kiosk.json", Mode: 0o644, Conffile: true},
				{Src: "provisioning/packaging/man/kiosk.1", Dest: "/usr/share/man/man1/kiosk.1.gz", Mode: 0o644, Gzip: true},
				{Src: "provisioning/packaging/man/quartierhub-updater.8", Dest: "/usr/share/man/man8/quartierhub-updater.8.gz", Mode: 0o644, Gzip: true},
			},
			User: &SystemUser{
				Name:   "quartierhub-kiosk",
				Gecos:  "Quartierhub terminal",
				Home:   "/var/lib/quartierhub-kiosk",
				Mode:   "0700",
				Groups: []string{"dialout"},
			},
			Units:          []string{"quartierhub-agent.service", "quartierhub-updater.service"},
			PurgeDirs:      []string{"/var/lib/quartierhub-updater"},
			UdevSubsystems: []string{"tty"},
		},
		{
			Name:     KioskSession,
			Section:  "misc",
			Synopsis: "Quartierhub terminal: locked-down touchscreen session",
			Description: `Starts the Quartierhub terminal's window at boot without a login,
inside Weston's kiosk shell with Xwayland: no way to switch virtual
terminals or leave the application, the window restarted when it
ends, night blanking and rotation from the hub's settings.`,
			// The session is exactly the kiosk of its own build.
			// libpam-systemd: the compositor unit's PAMName=login opens a
			// logind session through pam_systemd (XDG_RUNTIME_DIR, the
			// seat's devices); Debian's minimal installs lack it.
			// espeak-ng and alsa-utils' aplay: the window's speech.
			// fonts-dejavu-core: Fyne's own Noto Sans has no Arabic; it
			// falls back to the system's fonts for the language screen's
			// "العربية".
			Depends: []string{"weston", "xwayland", "libpam-systemd", "espeak-ng", "alsa-utils", "fonts-dejavu-core", Kiosk + " (= " + version + ")", "adduser"},
			Files: []File{
				{Src: "provisioning/session/quartierhub-compositor.service", Dest: "/usr/lib/systemd/system/quartierhub-compositor.service", Mode: 0o644},
				{Src: "provisioning/session/quartierhub-window.service", Dest: "/usr/lib/systemd/system/quartierhub-window.service", Mode: 0o644},
				{Src: "provisioning/session/weston.ini", Dest: "/etc/quartierhub/weston.ini", Mode: 0o644, Conffile: true},
				{Src: "provisioning/session/quartierhub-compositor-settings.path", Dest: "/usr/lib/systemd/system/quartierhub-compositor-settings.path", Mode: 0o644},
				{Src: "provisioning/session/quartierhub-compositor-restart.service", Dest: "/usr/lib/systemd/system/quartierhub-compositor-restart.service", Mode: 0o644},
				{Src: "provisioning/session/60-quartierhub-backlight.rules", Dest: "/usr/lib/udev/rules.d/60-quartierhub-backlight.rules", Mode: 0o644},
				{Src: "provisioning/session/60-quartierhub-headphones.rules", Dest: "/usr/lib/udev/rules.d/60-quartierhub-headphones.rules", Mode: 0o644},
			},
			// logind hands the compositor the display and input devices;
			// the video group lets the window blank the backlight
			// (60-quartierhub-backlight.rules), render gives the window
			// the GPU's render node (without it Mesa paints in software),
			// audio the sound card and the headphone jack for speech
			// (60-quartierhub-headphones.rules). A group the system lacks
			// is skipped.
			ExtraGroups: map[string][]string{"quartierhub-kiosk": {"video", "render", "audio"}},
			// Not quartierhub-compositor-restart.service: the path unit
			// starts it when the rotation changes.
			Units: []string{"quartierhub-compositor.service", "quartierhub-window.service", "quartierhub-compositor-settings.path"},
			// Not input: triggering every input device again would reach
			// the running compositor; the headphone jack's name comes at
			// the next boot.
			UdevSubsystems: []string{"backlight"},
		},
		{
			Name:     Hub,
			Section:  "net",
			Synopsis: "Quartierhub hub: terminal API and web console",
			Description: `The server of a Quartierhub terminal fleet: the terminal API (enrolment,
records, heartbeats, commands) and the web console for staff, with its
data in an embedded SQLite database or in PostgreSQL.
.
This package runs it as the system service quartierhub-hub under the
user quartierhub-hub, listening on 127.0.0.1:8480 for a reverse proxy;
/etc/quartierhub/hub.env holds the deployment's settings.`,
			// A static PIE without cgo: it needs only the dynamic loader.
			Depends: []string{"libc6", "adduser"},
			Files: []File{
				{Bin: "hub-server", Dest: "/usr/bin/hub-server", Mode: 0o755},
				{Src: "provisioning/hub/quartierhub-hub.service", Dest: "/usr/lib/systemd/system/quartierhub-hub.service", Mode: 0o644},
				{Src: "provisioning/hub/hub.env", Dest: "/etc/quartierhub/hub.env", Mode: 0o640, Conffile: true},
				{Src: "provisioning/packaging/man/hub-server.1", Dest: "/usr/share/man/man1/hub-server.1.gz", Mode: 0o644, Gzip: true},
				{Src: "provisioning/hub/nginx-quartierhub.conf", Dest: "/usr/share/doc/quartierhub-hub/examples/nginx-quartierhub.conf", Mode: 0o644},
			},
			LintianOverrides: []string{
				"# The settings may hold the database's password (QUARTIERHUB_DB);",
				"# systemd reads them as root.",
				"non-standard-file-perm 0640 != 0644 [etc/quartierhub/hub.env]",
			},
			User: &SystemUser{
				Name:  "quartierhub-hub",
				Gecos: "Quartierhub hub",
				Home:  "/var/lib/quartierhub-hub",
				Mode:  "0750",
			},
			Units: []string{"quartierhub-hub.service"},
		},
	}
}
