package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kardianos/service"

	"github.com/clinicpro/medtech-images/internal/agent/daemon"
	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/redact"
)

// Service identity. The name is what `sc`, Services and the installer use.
const (
	ServiceName        = "ClinicProAgent"
	ServiceDisplayName = "ClinicPro Agent"
	serviceDescription = "Takes photos and scans from watched folders and the ClinicPro Images window and sends them to Medtech."
)

// serviceConfig is the unit the installer and `service install` register. It runs as
// LocalSystem (no UserName), starts automatically but delayed so it does not slow
// logon, and the SCM restarts it when it fails; systemd does the same on Linux.
func serviceConfig(c *common, rf runFlags) *service.Config {
	args := []string{"service", "run"}
	if c.data != "" {
		args = append(args, "--data", c.data)
	}
	if rf.launchAddr != "" {
		args = append(args, "--launch-listen", rf.launchAddr)
	}
	return &service.Config{
		Name: ServiceName, DisplayName: ServiceDisplayName, Description: serviceDescription,
		Arguments: args,
		Option: service.KeyValue{
			"StartType":              "automatic",
			"DelayedAutoStart":       true,
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "10s",
			"OnFailureResetPeriod":   86400,
			"Restart":                "on-failure", // systemd
		},
	}
}

// program adapts daemon.Run to kardianos/service's Start/Stop.
type program struct {
	paths  config.Paths
	rf     runFlags
	stderr io.Writer
	cancel context.CancelFunc
	done   chan error
}

// Start returns only when the agent is ready (data folder, configuration, queue and
// named pipe open) or has failed. kardianos/service reports "running" to the service
// control manager when Start returns nil, and a failed start when it returns an
// error; so a broken configuration, a locked queue or a squatted pipe makes
// StartServices fail, and Windows Installer rolls the install or upgrade back
// instead of committing a crash-looping agent.
func (p *program) Start(s service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		err := daemon.Run(ctx, p.rf.options(p.paths, p.stderr), func() { close(ready) })
		p.done <- err
	}()
	select {
	case <-ready:
	case err := <-p.done:
		cancel()
		if err == nil {
			err = errors.New("the agent stopped while starting")
		}
		fmt.Fprintln(p.stderr, "clinicpro: "+redact.String(err.Error()))
		daemon.ReportStartFailure(err)
		return err
	}
	go func() {
		// A failure after the start (the agent's run loop ends on its own) must end
		// the process with an error, so the service manager's recovery restarts it.
		err := <-p.done
		p.done <- err
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(p.stderr, "clinicpro: "+redact.String(err.Error()))
			daemon.ReportStartFailure(err)
			os.Exit(ExitFailed)
		}
	}()
	return nil
}

func (p *program) Stop(s service.Service) error {
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(25 * time.Second):
	}
	return nil
}

func cmdService(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("service", env)
	var rf runFlags
	rf.add(fs.StringVar)
	pos, ok := parse(fs, args)
	if !ok || len(pos) != 1 {
		return usageErr(env, "usage: clinicpro service run|install|uninstall|start|stop|status [--data DIR]")
	}
	prg := &program{paths: c.paths(), rf: rf, stderr: env.Stderr}
	s, err := service.New(prg, serviceConfig(c, rf))
	if err != nil {
		return fail(env, c, err)
	}
	switch pos[0] {
	case "run":
		// Under the SCM or systemd this blocks until stopped; from a terminal it
		// runs in the foreground until Ctrl+C.
		if handled, err := runUnderSCM(prg); handled {
			if err != nil {
				return fail(env, c, err)
			}
			return ExitOK
		}
		if err := s.Run(); err != nil {
			return fail(env, c, err)
		}
		return ExitOK
	case "status":
		st, err := s.Status()
		if err != nil {
			return fail(env, c, fmt.Errorf("the %s service is not installed or cannot be queried: %w", ServiceName, err))
		}
		name := map[service.Status]string{service.StatusRunning: "running", service.StatusStopped: "stopped"}[st]
		if name == "" {
			name = "unknown"
		}
		if c.json {
			printJSON(env.Stdout, map[string]string{"service": ServiceName, "status": name})
		} else {
			fmt.Fprintf(env.Stdout, "%s is %s.\n", ServiceDisplayName, name)
		}
		return ExitOK
	case "install", "uninstall", "start", "stop":
		if err := service.Control(s, pos[0]); err != nil {
			return fail(env, c, fmt.Errorf("%s failed (run as an administrator or root): %w", pos[0], err))
		}
		if !c.json {
			fmt.Fprintf(env.Stdout, "%s: %s done.\n", ServiceDisplayName, pos[0])
		}
		return ExitOK
	}
	return usageErr(env, "unknown service action %q: use run, install, uninstall, start, stop or status", pos[0])
}
