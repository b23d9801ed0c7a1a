//go:build !linux

package speech

import "os"

// switchState: evdev is Linux's; elsewhere the state comes from events.
func switchState(*os.File, uint) (bool, error) { return false, errNoSwitchState }
