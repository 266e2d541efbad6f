// Command clinicpro-demo runs the whole product on loopback for `make demo`:
// alexsim, the relay with an enrolled connector, the agent with demo folders, a
// stand-in HCM and, with a display, the tray. Ctrl-C stops everything it started.
// A development tool, never shipped in the MSI; it only wires internal/demo.
//
//	clinicpro-demo [-bin bin] [-run out/demo] [-alexsim-port 8089] [-relay-port 8443] [-launch-port 41357] [-tray]
//	clinicpro-demo hcm-standin -addr 127.0.0.1:8089   (the stand-in HCM process itself)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/clinicpro/medtech-images/internal/demo"
	"github.com/clinicpro/medtech-images/internal/hcm"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "hcm-standin" {
		err = standIn(ctx, os.Args[2:])
	} else {
		err = run(ctx, os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clinicpro-demo:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("clinicpro-demo", flag.ExitOnError)
	var o demo.Options
	fs.StringVar(&o.BinDir, "bin", "bin", "folder holding alexsim, clinicpro-relay, clinicpro, clinicpro-demo and optionally clinicpro-tray")
	fs.StringVar(&o.RunDir, "run", "out/demo", "folder for this run's logs, data and watched folders (cleared at start)")
	fs.IntVar(&o.AlexsimPort, "alexsim-port", 8089, "alexsim's port on 127.0.0.1 (0: any free one)")
	fs.IntVar(&o.RelayPort, "relay-port", 8443, "the relay's port on 127.0.0.1 (0: any free one)")
	fs.IntVar(&o.LaunchPort, "launch-port", 41357, "the agent's web launch port on 127.0.0.1 (0: any free one)")
	fs.BoolVar(&o.Tray, "tray", os.Getenv("DISPLAY") != "", "start the tray (default: when $DISPLAY is set)")
	fs.DurationVar(&o.HCMRestartAfter, "hcm-restart", 20*time.Second, "how long the stand-in HCM must stay stopped before the agent restarts it by policy (its restart grace)")
	_ = fs.Parse(args)
	o.Events = os.Stdout

	fmt.Println("Starting alexsim, the relay, the agent and a stand-in HCM...")
	d, err := demo.Start(ctx, o)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Println("Interrupted while starting; everything it started is stopped.")
			return nil
		}
		return err
	}
	defer d.Stop()
	launch, err := d.LaunchURL(ctx, "ZZZ0016")
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	wd, _ := os.Getwd()
	d.Instructions(os.Stdout, launch, func(p string) string {
		if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	})
	if _, ps, err := d.PhoneLink(ctx, "ZZZ0016"); err == nil {
		d.PhoneInstructions(os.Stdout, ps)
	} else if ctx.Err() == nil {
		fmt.Println("  Phone:       not available:", err)
	}
	<-ctx.Done()
	fmt.Println("\nStopping everything the demo started...")
	return nil
}

// standIn is the stand-in HCM process: it holds a connection to alexsim, as HCM
// holds one to Azure Relay, until it is stopped.
func standIn(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("hcm-standin", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8089", "address to hold a connection to")
	_ = fs.Parse(args)
	if err := hcm.RunStandIn(ctx, *addr); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
