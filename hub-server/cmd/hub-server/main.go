// Command hub-server runs the Quartierhub hub and its admin commands; see
// package cli for the usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/quartierhub/quartierhub/hub-server/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Opts{})
	stop()
	os.Exit(code)
}
