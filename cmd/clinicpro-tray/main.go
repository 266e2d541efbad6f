// Command clinicpro-tray is "ClinicPro Images": the tray app a GP sees, and the
// handler Windows starts for clinicpro:// launch URLs from the Medtech toolbar.
// main only wires: single instance (internal/launch), the agent client
// (internal/localapi), and the screens (ui).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/eventlog"
	"github.com/clinicpro/medtech-images/internal/glprobe"
	"github.com/clinicpro/medtech-images/internal/launch"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/logfile"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/version"
	"github.com/clinicpro/medtech-images/ui"
)

// The Windows resources (icon, version information, the manifest with per-monitor
// DPI awareness) are generated at build time by installer/winres.sh (`make windows`).

// AppID matches FyneApp.toml; Fyne keys preferences and notifications on it.
const AppID = "nz.co.clinicpro.images"

func main() {
	// The OpenGL probe child (see ensureOpenGL) does its one job before anything else.
	if len(os.Args) > 1 && os.Args[1] == glprobe.ProbeFlag {
		glprobe.RunChild()
	}
	data := flag.String("data", "", "the agent's data directory (development and portable installs)")
	agentAddr := flag.String("agent", "", "the agent's local API address (default: the per-OS pipe or socket)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("clinicpro-tray", version.Version)
		return
	}
	log := newLogger()

	url, _ := launch.FromArgs(flag.Args())
	addr := launch.DefaultAddress()
	instance, err := launch.Claim(addr)
	if errors.Is(err, launch.ErrRunning) {
		// Windows started us for a toolbar click: the running tray takes it.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := launch.Handoff(ctx, addr, url); err != nil {
			log.Error("hand-off to the running tray failed", "err", err)
			os.Exit(1)
		}
		return
	}
	if err != nil {
		// Without the claim we still work; only later launches would open a second tray.
		log.Warn("single-instance claim failed", "err", err)
	}

	// Only the process that will show windows needs OpenGL; a hand-off above does not.
	if !ensureOpenGL(log) {
		os.Exit(1)
	}

	if *agentAddr == "" {
		*agentAddr = localapi.DefaultAddress(config.DefaultPaths(*data).DataDir)
	}
	client := localapi.Dial(*agentAddr)
	defer client.Close()

	fa := app.NewWithID(AppID)
	tray := ui.New(fa, client, ui.Options{Log: log, Paths: config.DefaultPaths(*data), TrayLog: trayLogPath()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tray.Start(ctx)
	if instance != nil {
		defer instance.Close()
		go func() {
			for u := range instance.URLs() {
				fyne.Do(func() {
					if u == launch.Open {
						tray.ShowMain()
					} else {
						tray.Launch(u)
					}
				})
			}
		}()
	}
	if url != "" {
		tray.Launch(url)
	}
	log.Info("tray started", "version", version.Version)
	fa.Run()
}

// ensureOpenGL makes sure the toolkit can draw before it starts (internal/glprobe):
// on Windows it checks the session's OpenGL in a child process, loads the software
// OpenGL the installer shipped when the session's is too old (Remote Desktop without
// a GPU), and otherwise says so in a message box and the event log and returns false.
func ensureOpenGL(log *slog.Logger) bool {
	if runtime.GOOS != "windows" {
		return true
	}
	exe, err := os.Executable()
	if err != nil {
		return true
	}
	r := glprobe.Probe(exe)
	verdict := glprobe.Decide(r, glprobe.Shipped(exe))
	if verdict == glprobe.Native {
		return true
	}
	if verdict == glprobe.Software {
		err := glprobe.LoadSoftware(exe)
		if err == nil {
			log.Info("drawing with the software OpenGL: this session's is too old", "version", r.Version, "renderer", r.Renderer, "remote", r.Remote)
			return true
		}
		log.Error("the software OpenGL could not be loaded", "err", err)
	}
	msg := glprobe.Explain(r)
	log.Error(msg)
	if w, closeFn, err := eventlog.Open(); err == nil {
		_ = w.Warning(eventlog.IDTrayNoOpenGL, msg)
		_ = closeFn()
	}
	glprobe.Tell("ClinicPro Images", msg)
	return false
}

// trayLogPath is where newLogger writes ("" when the user has no cache folder).
func trayLogPath() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ClinicPro", "tray.log")
}

// newLogger writes to the user's cache folder through the redaction handler: a GUI
// binary has no console, and the log must never hold a patient identifier. The
// log is per user, so only that user may read it; 5 MB with one old copy keeps a
// tray that runs for months from filling the profile.
func newLogger() *slog.Logger {
	p := trayLogPath()
	if p == "" {
		return slog.New(redact.NewHandler(slog.NewTextHandler(os.Stderr, nil)))
	}
	f, err := logfile.Open(p, 5<<20, 0o600)
	if err != nil {
		return slog.New(redact.NewHandler(slog.NewTextHandler(os.Stderr, nil)))
	}
	return slog.New(redact.NewHandler(slog.NewTextHandler(f, nil)))
}
