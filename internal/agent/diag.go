package agent

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/clinicpro/medtech-images/internal/agent/diagnostics"
)

// DiagnosticsBundle writes the support zip (internal/agent/diagnostics): versions, the
// configuration, health and recent log lines, all scrubbed. Item lists are left out
// on purpose: file names carry NHIs and patient names.
func (a *Agent) DiagnosticsBundle(ctx context.Context, w io.Writer) error {
	st, err := a.Status(ctx)
	if err != nil {
		return err
	}
	return diagnostics.WriteBundle(w, diagnostics.BundleInput{
		At: a.opt.Now(), Report: st.Health, Config: a.opt.Config, LogLines: a.logs.Lines(), Loc: time.Local,
		Versions: map[string]string{"relay": st.Relay, "facility": st.Facility},
	})
}

// teeHandler sends each record to two handlers (the service log and the ring).
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.a.Enabled(ctx, r.Level) {
		err = t.a.Handle(ctx, r.Clone())
	}
	if t.b.Enabled(ctx, r.Level) {
		if e := t.b.Handle(ctx, r); err == nil {
			err = e
		}
	}
	return err
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(as), t.b.WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}
