package sds011

import "time"

// SetMinQueryInterval lowers the 3 s polling floor so tests run fast; it
// returns a function restoring it.
func SetMinQueryInterval(d time.Duration) (restore func()) {
	old := minQueryInterval
	minQueryInterval = d
	return func() { minQueryInterval = old }
}
