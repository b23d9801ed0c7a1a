package store

import (
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// DiagnosticsWanted reports whether command c takes a diagnostics
// bundle received at at (SaveDiagnostics): ErrNotFound if it is not a
// collect_diagnostics command, ErrCommandClosed if it finished or
// expired.
func DiagnosticsWanted(c Command, at time.Time) error {
	switch {
	case c.Kind != api.CommandCollectDiagnostics:
		return ErrNotFound
	case c.State != api.CommandQueued && c.State != api.CommandDelivered, !at.Before(c.ExpiresAt):
		return ErrCommandClosed
	}
	return nil
}
