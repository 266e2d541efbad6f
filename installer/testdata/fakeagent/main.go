//go:build windows

// Command fakeagent stands in for clinicpro.exe and clinicpro-tray.exe when the installer tests
// run an MSI under Wine: it answers the service control manager like the real agent, and records
// each start (its arguments, and the rollout key the MSI wrote) in %ProgramData%\ClinicPro so the
// test can see what the installed service was given. It is never shipped.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
)

type agent struct{}

func (agent) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	record()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for c := range req {
		switch c.Cmd {
		case svc.Interrogate:
			status <- c.CurrentStatus
		case svc.Stop, svc.Shutdown:
			status <- svc.Status{State: svc.StopPending}
			return false, 0
		}
	}
	return false, 0
}

// record appends one line per start: the arguments, then name=value for each rollout value.
func record() {
	// The known folder, not %ProgramData%: under Wine the variable points elsewhere than the
	// CommonAppDataFolder the MSI installs into.
	pd, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0)
	if err != nil {
		return
	}
	dir := filepath.Join(pd, "ClinicPro")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	line := []string{"args=" + strings.Join(os.Args[1:], " ")}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\ClinicPro\Rollout`, registry.QUERY_VALUE|registry.WOW64_64KEY); err == nil {
		for _, n := range []string{"RelayURL", "EnrolCode", "WatchFolders", "HCMHost"} {
			if v, _, err := k.GetStringValue(n); err == nil {
				line = append(line, n+"="+v)
			}
		}
		k.Close()
	}
	f, err := os.OpenFile(filepath.Join(dir, "fakeagent-starts.txt"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, strings.Join(line, "\t"))
}

func main() {
	// The arguments decide, not svc.IsWindowsService: under Wine that reports false for services.
	if len(os.Args) == 3 && os.Args[1] == "service" && os.Args[2] == "run" {
		_ = svc.Run("ClinicProAgent", agent{})
		return
	}
	fmt.Println("fakeagent", strings.Join(os.Args[1:], " "))
}
