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
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/config"
	"github.com/clinicpro/medtech-images/internal/relay/daemon"
	"github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/version"
)

const usage = `usage: clinicpro-relay [--config FILE] COMMAND
commands:
  serve                                   run the relay in the foreground
  install [--user NAME]                   register the systemd service, run as its own unprivileged user
  uninstall                               remove the systemd service (the user and data stay)
  practice add --facility ID --name N --pcs N [--valid 7d]
                                          print one code that enrols up to N PCs of a practice
  practice list                           list practices, each with its PCs and when they were last seen
  practice revoke PRACTICE-ID             end the practice code and every PC it enrolled
  connector add --facility ID --name N    add one PC; prints its one-time enrolment code
  connector list                          list every connector (PC)
  connector revoke ID                     end one PC's access at once
  connector rotate ID                     print a new enrolment code; the old secret works until it is used
  migrate                                 bring the store's schema up to date (serve does it too)
  migrate-store --from sqlite:PATH --to postgres:DSN-FILE
                                          copy a relay's state into an empty PostgreSQL
                                          (postgres: alone uses relay.toml's; postgres:env:NAME an environment variable)
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
		if cmd == "uninstall" {
			return uninstallCmd(rest, out)
		}
		cfg, err := load()
		if err != nil {
			return err
		}
		return installCmd(cfg, *cfgPath, rest, out)
	case "connector", "practice":
		cfg, err := load()
		if err != nil {
			return err
		}
		st, err := daemon.OpenStores(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		if cmd == "practice" {
			return practiceCmd(st, rest, out)
		}
		return connectorCmd(st, rest, out)
	case "migrate":
		cfg, err := load()
		if err != nil {
			return err
		}
		st, err := daemon.OpenStores(cfg)
		if err != nil {
			return err
		}
		defer st.Close()
		v, err := st.Store.Version(context.Background())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "The relay's store (%s) is at schema version %d; this relay writes version %d.\n", daemon.StoreConfig(cfg), v, store.Latest())
		return nil
	case "migrate-store":
		cfg, err := load()
		if err != nil {
			return err
		}
		return migrateStoreCmd(cfg, rest, out)
	case "version":
		fmt.Fprintln(out, "clinicpro-relay", version.Version)
		return nil
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// record puts an operator's command in the audit trail, beside the requests.
func record(st *daemon.Stores, op, id, facility string) {
	_ = st.Audit.Add(context.Background(), audit.Record{At: time.Now(), Connector: id, Facility: facility, Operation: op, Outcome: "ok"})
}

func connectorCmd(st *daemon.Stores, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("connector needs a subcommand: add, list, revoke or rotate")
	}
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
		record(st, "connector.add", c.ID, c.Facility)
		printCode(out, c.ID, c.Facility, code)
	case "list":
		list, err := reg.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFACILITY\tSTATUS\tCREATED\tENROLLED\tLAST SEEN\tPRACTICE\tNAME")
		for _, c := range list {
			practice := c.Practice
			if practice == "" {
				practice = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Facility, c.Status, c.Created.Format(time.DateTime), when(c.Enrolled), when(c.LastSeen), practice, c.Name)
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
			record(st, "connector.revoke", args[1], "")
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
		record(st, "connector.rotate", c.ID, c.Facility)
		printCode(out, c.ID, c.Facility, code)
	default:
		return fmt.Errorf("unknown connector subcommand %q: use add, list, revoke or rotate", args[0])
	}
	return nil
}

func practiceCmd(st *daemon.Stores, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("practice needs a subcommand: add, list or revoke")
	}
	ctx := context.Background()
	reg := st.Registry
	switch args[0] {
	case "add":
		fs := flag.NewFlagSet("practice add", flag.ContinueOnError)
		facility := fs.String("facility", "", "HPI facility id, e.g. F2N060-E")
		name := fs.String("name", "", "practice name, for the operator's list")
		pcs := fs.Int("pcs", 0, "how many PCs the code may enrol")
		valid := fs.String("valid", "7d", "how long the code may be used, e.g. 7d or 36h (at most 30d)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		d, err := config.ParseDuration(*valid)
		if err != nil {
			return fmt.Errorf("--valid: %w", err)
		}
		p, code, err := reg.AddPractice(ctx, *facility, *name, *pcs, d)
		if err != nil {
			return err
		}
		record(st, "practice.add", p.ID, p.Facility)
		fmt.Fprintf(out, "Practice %s for facility %s\nPractice code: %s\n", p.ID, p.Facility, code)
		fmt.Fprintf(out, "Enrols up to %d PCs until %s; each PC gets its own credentials, named after its host name.\n", p.PCs, p.Expires.Local().Format(time.RFC1123))
		fmt.Fprintf(out, "Roll out one package to every PC with: msiexec /i ClinicProImages.msi /qn RELAYURL=<relay-url> ENROLCODE=%s\n", code)
		fmt.Fprintf(out, "or on one PC: %s\n", enrolCommand(code))
	case "list":
		list, err := reg.Practices(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PRACTICE / PC\tFACILITY\tSTATUS\tPCS\tCODE VALID UNTIL / LAST SEEN\tNAME")
		for _, p := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d of %d\t%s\t%s\n", p.ID, p.Facility, p.Status, p.Enrolled, p.PCs, p.Expires.Format(time.DateTime), p.Name)
			_, pcs, err := reg.Practice(ctx, p.ID)
			if err != nil {
				return err
			}
			for _, c := range pcs {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t\t%s\t%s\n", c.ID, c.Facility, c.Status, when(c.LastSeen), c.Name)
			}
		}
		return tw.Flush()
	case "revoke":
		if len(args) != 2 {
			return errors.New("usage: clinicpro-relay practice revoke PRACTICE-ID (see practice list); to revoke one PC use connector revoke")
		}
		if err := reg.RevokePractice(ctx, args[1]); err != nil {
			return err
		}
		record(st, "practice.revoke", args[1], "")
		fmt.Fprintf(out, "Revoked practice %s: its code and every PC it enrolled no longer work.\n", args[1])
	default:
		return fmt.Errorf("unknown practice subcommand %q: use add, list or revoke", args[0])
	}
	return nil
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

func migrateStoreCmd(cfg config.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	from := fs.String("from", "", "the store to copy from, e.g. sqlite:/var/lib/clinicpro-relay/relay.db")
	to := fs.String("to", "", "the empty store to copy into, e.g. postgres:/etc/clinicpro-relay/pg.dsn")
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := daemon.ParseStore(*from, cfg, os.Getenv)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	dst, err := daemon.ParseStore(*to, cfg, os.Getenv)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	ctx := context.Background()
	a, err := store.Open(ctx, src)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := store.Open(ctx, dst)
	if err != nil {
		return err
	}
	defer b.Close()
	n, err := a.CopyTo(ctx, b)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Copied %s to %s: %d connectors, %d practices, %d enrolment codes, %d ledger entries, %d audit rows.\n",
		src, dst, n["connectors"], n["practices"], n["enrolment_codes"], n["ledger"], n["audit"])
	fmt.Fprintln(out, "Access tokens are not copied: agents fetch new ones by themselves. Now set the store in relay.toml and start the relay.")
	return nil
}

func printCode(out io.Writer, id, facility, code string) {
	fmt.Fprintf(out, "Connector %s for facility %s\nEnrolment code: %s\n", id, facility, code)
	fmt.Fprintf(out, "Valid once, until %s. On the practice PC run, as an administrator:\n", time.Now().Add(registry.CodeTTL).Format(time.RFC1123))
	fmt.Fprintf(out, "  %s\n", enrolCommand(code))
}

// enrolCommand is the command a practice runs with a code, in the one form
// `clinicpro enrol` accepts; <relay-url> stands for this relay's public address.
func enrolCommand(code string) string {
	return "clinicpro enrol --relay <relay-url> --code " + code
}
