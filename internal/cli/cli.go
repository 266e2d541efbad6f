// Package cli is the `clinicpro` command line: the agent itself (run, service) and
// the commands practice IT types (status, send, queue, enrol, doctor). Output is for
// people by default and JSON with --json; exit codes are stable for scripts and RMM.
// cmd/clinicpro only calls Main.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/localapi"
)

// Exit codes: one table for every command, printed by help.
const (
	ExitOK        = 0 // done; for status and doctor: healthy
	ExitFailed    = 1 // the command failed, or something needs attention (status, doctor: degraded)
	ExitUsage     = 2 // wrong arguments
	ExitAgentDown = 3 // the agent's local API did not answer
	ExitOffline   = 4 // status, doctor: a critical check failed (nothing reaches Medtech)
)

// exitCodes is what help prints, in the constants' order.
var exitCodes = []struct {
	code    int
	meaning string
}{
	{ExitOK, "ok (status, doctor: healthy)"},
	{ExitFailed, "failed, or something needs attention (status, doctor: degraded)"},
	{ExitUsage, "wrong arguments"},
	{ExitAgentDown, "the agent is not running"},
	{ExitOffline, "status, doctor: offline, nothing reaches Medtech"},
}

// Env is what a command runs against; tests give it buffers and a data directory.
type Env struct {
	Stdout, Stderr io.Writer
	// Dial overrides how the CLI reaches the agent (tests over TCP); nil: the OS's
	// default transport for the data directory.
	Dial localapi.DialFunc
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, c *common, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"run", "run the agent in the foreground (development, containers)", cmdRun},
		{"service", "run|install|uninstall|start|stop|status the Windows service / systemd unit", cmdService},
		{"enrol", "--relay URL --code CODE: connect this PC to the ClinicPro relay", cmdEnrol},
		{"status", "connection, queue, parked items, last upload and HCM at a glance", cmdStatus},
		{"send", "FILE... --nhi NHI [--title T]: send files to a patient through the agent", cmdSend},
		{"queue", "[list|retry ID|send-again ID|assign ID --nhi NHI|discard ID]: the upload queue and items waiting for a person", cmdQueue},
		{"doctor", "check everything and explain how to fix what fails", cmdDoctor},
		{"tray", "close: ask every user's tray to exit (the installer runs it before replacing the tray)", cmdTray},
		{"version", "print the version", cmdVersion},
	}
}

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	// Options may also come before the command: `clinicpro --data D status`.
	cm := &common{}
	gf := cm.flags("", env)
	if err := gf.Parse(args); err != nil {
		return ExitUsage
	}
	args = gf.Args()
	if len(args) == 0 {
		usage(env.Stdout)
		return ExitUsage
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, env, cm, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "clinicpro: unknown command %q; run `clinicpro help` for the list.\n", args[0])
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: clinicpro COMMAND [options]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Options for every command: --data DIR (use DIR for configuration and data), --json (output for scripts).")
	fmt.Fprintln(w, "Exit codes:")
	for _, e := range exitCodes {
		fmt.Fprintf(w, "  %d  %s\n", e.code, e.meaning)
	}
}

// common holds the flags every command takes.
type common struct {
	data string
	json bool
}

func (c *common) flags(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet("clinicpro "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.StringVar(&c.data, "data", c.data, "configuration and data directory (default: the system's)")
	fs.BoolVar(&c.json, "json", c.json, "print JSON for scripts")
	return fs
}

// parse accepts flags before, between and after positional arguments, as people
// type them (`clinicpro send a.jpg b.jpg --nhi ZZZ0016`).
func parse(fs *flag.FlagSet, args []string) ([]string, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, true
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (c *common) paths() config.Paths { return config.DefaultPaths(c.data) }

func (c *common) client(env Env) *localapi.Client {
	if env.Dial != nil {
		return localapi.NewClient(env.Dial)
	}
	return localapi.Dial(localapi.DefaultAddress(c.paths().DataDir))
}

// printJSON writes v for scripts.
func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fail reports err to a person (or as JSON) and returns the matching exit code.
func fail(env Env, c *common, err error) int {
	code := ExitFailed
	if errors.Is(err, localapi.ErrAgentDown) {
		code = ExitAgentDown
		err = localapi.ErrAgentDown // the socket detail helps nobody at the front desk
	}
	if c.json {
		out := localapi.Error{Error: "failed", Message: err.Error()}
		var ae *localapi.APIError
		if errors.As(err, &ae) {
			out = localapi.Error{Error: ae.Code, Message: ae.Message, Correlation: ae.Correlation}
		}
		printJSON(env.Stdout, out)
		return code
	}
	msg := err.Error()
	var ae *localapi.APIError
	if errors.As(err, &ae) && ae.Correlation != "" {
		msg += " (correlation id " + ae.Correlation + ")"
	}
	fmt.Fprintln(env.Stderr, "clinicpro: "+strings.TrimSpace(msg))
	return code
}

func usageErr(env Env, format string, args ...any) int {
	fmt.Fprintf(env.Stderr, "clinicpro: "+format+"\n", args...)
	return ExitUsage
}
