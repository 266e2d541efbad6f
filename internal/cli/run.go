package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/clinicpro/medtech-images/internal/agent/daemon"
	"github.com/clinicpro/medtech-images/internal/config"
)

// runFlags are the agent's own options, shared by `run` and `service run`.
type runFlags struct {
	launchAddr string
	listen     string
}

func (r *runFlags) add(fsAdd func(p *string, name, value, usage string)) {
	fsAdd(&r.launchAddr, "launch-listen", "", "serve Medtech web launch URLs on this loopback address, e.g. 127.0.0.1:41357 (default: launch_listen in the configuration)")
	fsAdd(&r.listen, "listen", "", "local API address (default: the named pipe, or agent.sock in the data directory)")
}

// options are the daemon's options these flags and paths ask for.
func (r runFlags) options(p config.Paths, stderr io.Writer) daemon.Options {
	return daemon.Options{Paths: p, Listen: r.listen, LaunchListen: r.launchAddr, Stderr: stderr}
}

func cmdRun(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("run", env)
	var rf runFlags
	rf.add(fs.StringVar)
	if pos, ok := parse(fs, args); !ok || len(pos) > 0 {
		return usageErr(env, "usage: clinicpro run [--data DIR] [--launch-listen 127.0.0.1:PORT]")
	}
	if err := daemon.Run(ctx, rf.options(c.paths(), env.Stderr), nil); err != nil {
		fmt.Fprintln(env.Stderr, "clinicpro: "+err.Error())
		return ExitFailed
	}
	return ExitOK
}
