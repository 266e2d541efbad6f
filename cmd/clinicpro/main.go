// Command clinicpro is the ClinicPro agent (run as a Windows service or systemd unit)
// and the command line practice IT uses to check and drive it. A console-subsystem
// binary, unlike the tray, so it can print to a terminal.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/clinicpro/medtech-images/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
