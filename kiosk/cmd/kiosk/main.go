// Command kiosk is the terminal program: the agent, the touchscreen window
// and the CLI that talks to them. See `kiosk help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/quartierhub/quartierhub/kiosk/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
