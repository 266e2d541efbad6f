// Package relaycli is the clinicpro-relay command line: serve, systemd install and
// the operator's connector commands. It lives outside cmd/ so main only wires.
package relaycli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kardianos/service"

	"github.com/clinicpro/medtech-images/internal/relay/config"
	"github.com/clinicpro/medtech-images/internal/relay/daemon"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/version"
)

const usage = `usage: clinicpro-relay [--config FILE] COMMAND
commands:
  serve                                   run the relay in the foreground
  install | uninstall                     register or remove the systemd service
  connector add --facility ID --name N    add a practice; prints its one-time enrolment code
  connector list                          list practices
  connector revoke ID                     end a practice's access at once
  connector rotate ID                     print a new enrolment code; the old secret works until it is used
  version
`

// Run executes one clinicpro-relay command line (without the program name), writing
// what the operator reads to out.
func Run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("clinicpro-relay", flag.ContinueOnError)
	def := os.Getenv("CLINICPRO_RELAY_CONFIG")
	if def == "" {
		def = config.DefaultPath
	}
	cfgPath := fs.String("config", def, "configuration file (TOML)")
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no command given")
	}
	load := func() (config.Config, error) { return config.Load(*cfgPath, os.Getenv) }
	switch cmd, rest := fs.Arg(0), fs.Args()[1:]; cmd {
	case "serve":
		cfg, err := load()
		if err != nil {
			return err
		}
		level, _ := cfg.Level()
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return daemon.Serve(ctx, cfg, daemon.NewLogger(os.Stderr, level), nil)
	case "install", "uninstall":
		return installCmd(cmd, *cfgPath, out)
	case "connector":
		cfg, err := load()
		if err != nil {
			return err
		}
		return connectorCmd(cfg, rest, out)
	case "version":
		fmt.Fprintln(out, "clinicpro-relay", version.Version)
		return nil
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// noop satisfies service.Interface for install/uninstall, which never run the
// service: systemd starts `clinicpro-relay serve`, which handles SIGTERM itself.
type noop struct{}

func (noop) Start(service.Service) error { return nil }
func (noop) Stop(service.Service) error  { return nil }

func installCmd(cmd, cfgPath string, out io.Writer) error {
	abs, err := filepath.Abs(cfgPath)
	if err != nil {
		return err
	}
	svc, err := service.New(noop{}, &service.Config{
		Name:        "clinicpro-relay",
		DisplayName: "ClinicPro relay",
		Description: "Relays ClinicPro Images uploads from practices to Medtech ALEX.",
		Arguments:   []string{"--config", abs, "serve"},
		Option:      service.KeyValue{"Restart": "always", "LimitNOFILE": 65536},
	})
	if err != nil {
		return err
	}
	if cmd == "uninstall" {
		if err := svc.Uninstall(); err != nil {
			return fmt.Errorf("could not remove the service (run as root): %w", err)
		}
		fmt.Fprintln(out, "Removed the clinicpro-relay service.")
		return nil
	}
	if err := svc.Install(); err != nil {
		return fmt.Errorf("could not install the service (run as root; is it already installed?): %w", err)
	}
	fmt.Fprintf(out, "Installed the clinicpro-relay service with configuration %s. Start it with: systemctl start clinicpro-relay\n", abs)
	return nil
}

func connectorCmd(cfg config.Config, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("connector needs a subcommand: add, list, revoke or rotate")
	}
	st, err := daemon.OpenStores(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	reg := st.Registry
	switch args[0] {
	case "add":
		fs := flag.NewFlagSet("connector add", flag.ContinueOnError)
		facility := fs.String("facility", "", "HPI facility id, e.g. F2N060-E")
		name := fs.String("name", "", "practice name, for the operator's list")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		c, code, err := reg.Add(ctx, *facility, *name)
		if err != nil {
			return err
		}
		printCode(out, c.ID, c.Facility, code)
	case "list":
		list, err := reg.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFACILITY\tSTATUS\tCREATED\tENROLLED\tNAME")
		for _, c := range list {
			enrolled := "-"
			if !c.Enrolled.IsZero() {
				enrolled = c.Enrolled.Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Facility, c.Status, c.Created.Format(time.DateTime), enrolled, c.Name)
		}
		return tw.Flush()
	case "revoke", "rotate":
		if len(args) != 2 {
			return fmt.Errorf("usage: clinicpro-relay connector %s CONNECTOR-ID (see connector list)", args[0])
		}
		if args[0] == "revoke" {
			if err := reg.Revoke(ctx, args[1]); err != nil {
				return err
			}
			fmt.Fprintf(out, "Revoked %s: its secret and tokens no longer work.\n", args[1])
			return nil
		}
		code, err := reg.Rotate(ctx, args[1])
		if err != nil {
			return err
		}
		c, err := reg.Get(ctx, args[1])
		if err != nil {
			return err
		}
		printCode(out, c.ID, c.Facility, code)
	default:
		return fmt.Errorf("unknown connector subcommand %q: use add, list, revoke or rotate", args[0])
	}
	return nil
}

func printCode(out io.Writer, id, facility, code string) {
	fmt.Fprintf(out, "Connector %s for facility %s\nEnrolment code: %s\n", id, facility, code)
	fmt.Fprintf(out, "Valid once, until %s. On the practice PC run: clinicpro enrol <relay-url> %s\n",
		time.Now().Add(registry.CodeTTL).Format(time.RFC1123), code)
}
