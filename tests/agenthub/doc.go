// Package agenthub runs a real kiosk agent, in the test's process, against
// the real hub: the hub-server binary on SQLite, driven through its CLI
// (configuration layers, commands, what the hub stored), with a simulated
// ESC/POS printer on a pty. The hub never imports the kiosk, its tests
// included, so this end-to-end test of the fleet lives here.
package agenthub
