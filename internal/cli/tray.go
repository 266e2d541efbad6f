package cli

import (
	"context"
	"fmt"
	"time"
)

// cmdTray is `clinicpro tray close`: the MSI runs it (as SYSTEM) before it removes or
// replaces clinicpro-tray.exe, so each GP's tray exits cleanly instead of being
// killed. Whatever is still open afterwards the installer ends itself; nothing here
// fails the install, so an agent that is not running is reported, not an error.
func cmdTray(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("tray", env)
	pos, ok := parse(fs, args)
	if !ok || len(pos) != 1 || pos[0] != "close" {
		return usageErr(env, "usage: clinicpro tray close")
	}
	cl := c.client(env)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := cl.CloseTrays(ctx)
	if err != nil {
		return fail(env, c, err)
	}
	if c.json {
		printJSON(env.Stdout, res)
	} else {
		fmt.Fprintf(env.Stdout, "Asked %d tray(s) to close; %d still open.\n", res.Asked, res.StillOpen)
	}
	return ExitOK
}
