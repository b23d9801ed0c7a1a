// Package e2e runs the whole terminal as a resident meets it: a real hub,
// simulated devices on ptys (devsim), and an enrolled `kiosk run` — the
// cgo build with its Fyne window — on a virtual X display (Xvfb), clicked
// with xdotool. Where to click comes from the same UI code laid out in
// Fyne's test driver at the window's size (a "shadow" window that follows
// every tap), so no coordinate is written down by hand.
//
// Needs Xvfb, xdotool and a C compiler with the X11/OpenGL headers
// (provisioning/dev/deps.sh test). Without them the tests are skipped,
// or fail when CI=true.
package e2e
