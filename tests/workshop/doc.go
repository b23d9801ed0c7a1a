// Package workshop runs a participation workshop (issue 11) end to end
// on the real binaries: a hub-server process on SQLite, three `kiosk
// agent` processes (headless; one of them reaches the hub through a
// proxy the test can cut), the moderator in the console (Chromium for
// the run page and the projector, its forms for the cluster board), and
// two phones that follow the phone page's forms with
// their own guest cookies. The hub's own commands create, open and
// export the workshop; the exported counts must equal the ones the
// test's script of actions implies.
//
// Needs no display (tests/e2e has the terminal's window); Chromium
// drives the console when it is on PATH (CI=true requires it), else the
// moderator's steps go through the console's forms only.
package workshop
