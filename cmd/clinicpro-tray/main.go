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
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/launch"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/logfile"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/version"
	"github.com/clinicpro/medtech-images/ui"
)

// The Windows resources (the icon Explorer, the taskbar and the MSI's Add/Remove
// Programs entry show; version details) come from assets/app.png. No manifest: GLFW
// chooses per-monitor DPI awareness at run time, which a manifest would override.
//go:generate go run github.com/tc-hib/go-winres@v0.3.3 simply --icon ../../assets/app.png --manifest none --arch amd64 --out rsrc --product-name "ClinicPro Images" --file-description "ClinicPro Images" --original-filename clinicpro-tray.exe

// AppID matches FyneApp.toml; Fyne keys preferences and notifications on it.
const AppID = "nz.co.clinicpro.images"

func main() {
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

	if *agentAddr == "" {
		*agentAddr = localapi.DefaultAddress(config.DefaultPaths(*data).DataDir)
	}
	client := localapi.Dial(*agentAddr)
	defer client.Close()

	fa := app.NewWithID(AppID)
	tray := ui.New(fa, client, ui.Options{Log: log})
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

// newLogger writes to the user's cache folder through the redaction handler: a GUI
// binary has no console, and the log must never hold a patient identifier. The
// log is per user, so only that user may read it; 5 MB with one old copy keeps a
// tray that runs for months from filling the profile.
func newLogger() *slog.Logger {
	dir, err := os.UserCacheDir()
	if err != nil {
		return slog.New(redact.NewHandler(slog.NewTextHandler(os.Stderr, nil)))
	}
	f, err := logfile.Open(filepath.Join(dir, "ClinicPro", "tray.log"), 5<<20, 0o600)
	if err != nil {
		return slog.New(redact.NewHandler(slog.NewTextHandler(os.Stderr, nil)))
	}
	return slog.New(redact.NewHandler(slog.NewTextHandler(f, nil)))
}
