package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/clinicpro/medtech-images/internal/doctor"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/nhi"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/version"
)

func cmdVersion(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("version", env)
	if _, ok := parse(fs, args); !ok {
		return ExitUsage
	}
	if c.json {
		printJSON(env.Stdout, map[string]string{"version": version.Version})
	} else {
		fmt.Fprintln(env.Stdout, "clinicpro", version.Version)
	}
	return ExitOK
}

// cmdStatus is the one screen practice IT looks at first. Exit code: 0 healthy, 1
// degraded, 4 offline, 3 when the agent does not answer.
func cmdStatus(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("status", env)
	if pos, ok := parse(fs, args); !ok || len(pos) > 0 {
		return usageErr(env, "status takes no arguments")
	}
	cl := c.client(env)
	defer cl.Close()
	st, err := cl.Status(ctx)
	if err != nil {
		return fail(env, c, err)
	}
	if c.json {
		printJSON(env.Stdout, st)
	} else {
		doctor.RenderStatus(env.Stdout, st)
	}
	return healthExit(st.Health)
}

func healthExit(r health.Report) int {
	switch r.State {
	case health.OK, health.Unknown:
		return ExitOK
	case health.Offline:
		return ExitOffline
	}
	return ExitFailed
}

// cmdSend opens a session for the NHI (the relay looks the patient up), stages each
// file and saves them: the same path as the tray's capture window.
func cmdSend(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("send", env)
	nhiFlag := fs.String("nhi", "", "the patient's NHI number (required)")
	title := fs.String("title", "", "attachment title in Medtech (default: from the file name)")
	files, ok := parse(fs, args)
	if !ok {
		return ExitUsage
	}
	if len(files) == 0 || *nhiFlag == "" {
		return usageErr(env, "usage: clinicpro send FILE... --nhi NHI [--title TITLE]")
	}
	n, err := nhi.Parse(*nhiFlag)
	if err != nil {
		return usageErr(env, "--nhi is not a valid NHI number: check it and try again")
	}
	cl := c.client(env)
	defer cl.Close()
	s, err := cl.Launch(ctx, localapi.LaunchRequest{NHI: n.String()})
	if err != nil {
		return fail(env, c, err)
	}
	// Close the session however we leave: staged-but-unsaved files are dropped.
	defer cl.CloseSession(context.WithoutCancel(ctx), s.ID)
	var edits []localapi.ItemEdit
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return fail(env, c, fmt.Errorf("cannot read %s: %w", filepath.Base(path), errors.Unwrap(err)))
		}
		it, err := cl.AddFile(ctx, s.ID, localapi.NewFile{Name: filepath.Base(path), Source: api.SourceDrop}, f)
		f.Close()
		if err != nil {
			return fail(env, c, fmt.Errorf("%s: %w", redact.String(filepath.Base(path)), err))
		}
		edits = append(edits, localapi.ItemEdit{ID: it.ID, Title: *title})
	}
	saved, err := cl.Save(ctx, s.ID, localapi.SaveRequest{Items: edits})
	if err != nil {
		return fail(env, c, err)
	}
	if c.json {
		printJSON(env.Stdout, redactItems(saved))
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "Queued %d file(s) for upload to Medtech. Follow them with `clinicpro queue list`.\n", len(saved))
	for _, it := range saved {
		fmt.Fprintf(env.Stdout, "  %s  %s\n", it.ID, redact.String(it.FileName))
	}
	return ExitOK
}

// redactItems scrubs file names: this output lands in terminals, tickets and RMM logs.
func redactItems(items []localapi.Item) []localapi.Item {
	out := make([]localapi.Item, len(items))
	for i, it := range items {
		it.FileName = redact.String(it.FileName)
		it.Title = redact.String(it.Title)
		it.Reason = redact.String(it.Reason)
		out[i] = it
	}
	return out
}

func cmdQueue(ctx context.Context, env Env, c *common, args []string) int {
	fs := c.flags("queue", env)
	nhiFlag := fs.String("nhi", "", "assign: the patient's NHI number")
	pos, ok := parse(fs, args)
	if !ok {
		return ExitUsage
	}
	sub := "list"
	if len(pos) > 0 {
		sub = pos[0]
	}
	cl := c.client(env)
	defer cl.Close()
	switch {
	case sub == "list" && len(pos) <= 1:
		items, err := cl.Queue(ctx)
		if err != nil {
			return fail(env, c, err)
		}
		items = redactItems(items)
		if c.json {
			printJSON(env.Stdout, items)
			return ExitOK
		}
		renderQueue(env.Stdout, items)
		return ExitOK
	case (sub == "retry" || sub == "send-again" || sub == "discard") && len(pos) == 2:
		ops := map[string]func(context.Context, string) (localapi.Item, error){"retry": cl.Retry, "send-again": cl.SendAgain, "discard": cl.Discard}
		it, err := ops[sub](ctx, pos[1])
		if err != nil {
			return fail(env, c, err)
		}
		if c.json {
			printJSON(env.Stdout, redactItems([]localapi.Item{it})[0])
			return ExitOK
		}
		switch sub {
		case "retry":
			fmt.Fprintf(env.Stdout, "%s is queued again.\n", it.ID)
		case "send-again":
			fmt.Fprintf(env.Stdout, "%s is queued to be sent again under a new key.\n", it.ID)
		default:
			fmt.Fprintf(env.Stdout, "%s is discarded; its file is in a Rejected folder.\n", it.ID)
		}
		return ExitOK
	case sub == "assign" && len(pos) == 2:
		return queueAssign(ctx, env, c, cl, pos[1], *nhiFlag)
	}
	return usageErr(env, "usage: clinicpro queue [list | retry ID | send-again ID | assign ID --nhi NHI | discard ID]")
}

// queueAssign gives an unassigned or parked item to the patient with this NHI: it
// opens a session for the NHI (the relay looks the patient up, as for send) and
// assigns the item to it.
func queueAssign(ctx context.Context, env Env, c *common, cl *localapi.Client, id, nhiText string) int {
	n, err := nhi.Parse(nhiText)
	if err != nil {
		return usageErr(env, "usage: clinicpro queue assign ID --nhi NHI (a valid NHI number)")
	}
	s, err := cl.Launch(ctx, localapi.LaunchRequest{NHI: n.String()})
	if err != nil {
		return fail(env, c, err)
	}
	defer cl.CloseSession(context.WithoutCancel(ctx), s.ID)
	it, err := cl.Assign(ctx, id, s.ID)
	if err != nil {
		return fail(env, c, err)
	}
	if c.json {
		printJSON(env.Stdout, redactItems([]localapi.Item{it})[0])
		return ExitOK
	}
	fmt.Fprintf(env.Stdout, "%s is queued for the patient with that NHI.\n", it.ID)
	return ExitOK
}

func renderQueue(w io.Writer, items []localapi.Item) {
	if len(items) == 0 {
		fmt.Fprintln(w, "The queue is empty.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSOURCE\tFILE\tTRIES\tUPDATED\tREASON")
	for _, it := range items {
		src := it.Source
		if it.Folder != "" {
			src = it.Folder
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", it.ID, it.State, src, it.FileName, it.Attempts,
			it.Updated.Local().Format("02 Jan 15:04"), it.Reason)
	}
	tw.Flush()
}
