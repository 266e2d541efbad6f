package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Example is the commented configuration written on first run and by the installer.
// It must always parse (a test checks).
const Example = `# ClinicPro Images agent configuration.
# Lines starting with # are comments. Text values go in quotes; Windows paths are
# easiest in single quotes, which keep backslashes as they are: 'C:\Scans'.
# After editing, restart the service: clinicpro service stop, then clinicpro service start.
# Secrets are not kept here: use "clinicpro enrol" to connect this PC to the relay.

# The relay's address, given at enrolment.
# relay_url = "https://relay.clinicpro.co.nz"

# Largest file sent to Medtech, in bytes (Medtech's own limit is 8 MB).
byte_budget = 1000000

# PDFs with JavaScript, launch actions, embedded files or hidden extra content are
# always refused. "rebuild" remakes a scanned PDF from its page images so nothing else
# of the file reaches Medtech, and sends a PDF with text or drawings as it is;
# "passthrough" sends every checked PDF as it is (keeps searchable text);
# "rebuild-only" refuses PDFs that cannot be rebuilt.
pdf = "rebuild"

# A file is taken once its size and time have not changed for this long.
stability_window = "1s"

# Every folder is scanned in full this often, even when Windows reports no change.
scan_interval = "30s"

# The relay is asked this often whether Medtech can reach the practice, so an outage
# shows in the status before an upload fails.
health_interval = "30s"

# Sent items (and the list of what was sent) are kept this long after Medtech confirmed
# them, then pruned. Nothing unsent is ever pruned.
sent_retention = "90d"

# Serve Medtech web launch URLs (http://127.0.0.1:PORT/launch?...) for practices whose
# Medtech toolbar only opens web addresses. Off unless set; loopback only.
# launch_listen = "127.0.0.1:41357"

# Opening hours, used to keep the HCM PC awake and to decide when to raise alerts.
[clinic_hours]
days = ["mon", "tue", "wed", "thu", "fri"]
open = "07:30"
close = "18:30"

# Azure Hybrid Connection Manager: set host = true only on the PC that runs it.
[hcm]
host = false
service_name = "HybridConnectionManager"
# "restart" restarts HCM when it stops; "report" only tells you.
recovery = "restart"
keep_awake = true
# How often HCM is checked, and how long it must stay stopped before a restart.
poll_interval = "30s"
restart_grace = "2m"
# Development and the demo only: play HCM with a process recorded in a pid file.
# standin_command = ["clinicpro-demo", "hcm-standin", "-addr", "127.0.0.1:8089"]
# standin_pidfile = '/tmp/hcm.pid'
# tunnel_port = 8089

# Watched folders: copy a block per folder and remove the leading "# ".
#
# The folder's whole path, or one starting with %USERPROFILE% or ~ (the folder in each
#                signed-in user's own profile, watched while they are signed in; its files go to
#                that user's window only) or %PUBLIC% (C:\Users\Public).
# routing:       "nhi"        the NHI in the file name (ZZZ0016 knee.jpg) or a folder name (ZZZ0016\knee.jpg)
#                "session"    the patient open in the ClinicPro window when the file arrives
#                "unassigned" always wait for a GP to choose the patient
#                Files without a valid NHI always wait in Unassigned: nothing is guessed.
# format:        "auto" (TIFF for photos, PDF stays PDF), "tiff" or "pdf"
# poll_only:     true for network shares (\\server\share), where change notices are unreliable
# source_action: after Medtech confirms, "move" the original to a Sent subfolder (default),
#                "leave" it where it is (it will not be sent again), or "delete" it.
# source:        how files arrive: "camera", "phone" or "drop" (default)
# kind:          "document" for scanned paper, "photo" for photographs; by default a PDF is a
#                document and an image a photo. The kind chooses Medtech's document type.
#
# Photos taken with the Windows Camera app (each GP's own Camera Roll), to the patient
# opened last:
# [[folder]]
# path = '%USERPROFILE%\Pictures\Camera Roll'
# label = "Camera Roll"
# source = "camera"
# routing = "session"
# format = "auto"
# poll_only = false
# source_action = "move"
#
# [[folder]]
# path = '\\fileserver\scans\referrals'
# label = "Scanner"
# kind = "document"
# routing = "nhi"
# poll_only = true
`

// WriteExample writes Example to path, creating its folder, unless a file is already
// there: an existing configuration is never overwritten.
func WriteExample(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cannot create the configuration folder: %w", err)
	}
	// 0600: it names the practice's relay, folders and services (docs/security.md).
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot write the example configuration: %w", err)
	}
	if _, err := f.WriteString(Example); err != nil {
		f.Close()
		return fmt.Errorf("cannot write the example configuration: %w", err)
	}
	return f.Close()
}
