package xvfb

import (
	"flag"
	"testing"
)

// go test ./tests/internal/xvfb -run TestShot -args FBDIR OUT.png takes a
// screenshot of a running Xvfb (started with -fbdir FBDIR), e.g. under
// `make run`.
func TestShot(t *testing.T) {
	args := flag.Args()
	if len(args) != 2 {
		t.Skip("no FBDIR OUT.png given")
	}
	d, err := Open(args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if err := d.Screenshot(args[1]); err != nil {
		t.Fatal(err)
	}
}
