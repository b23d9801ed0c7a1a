package hubsync_test

import (
	"net"
	"testing"

	"github.com/quartierhub/quartierhub/internal/testutil"
)

// mustListen listens on addr, retrying briefly while the old socket closes.
func mustListen(t *testing.T, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	testutil.EventuallyOK(t, "listening on "+addr, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln
}
