package watch

import (
	"errors"
	"path/filepath"
	"strings"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/nhi"
)

// Route is where a watched file goes. Exactly one of NHI, Session or Reason is set.
type Route struct {
	// NHI is the patient named by the file or folder name.
	NHI nhi.NHI
	// Session: the folder gives files to the patient of the open capture window. If no
	// window is open the agent puts the file in Unassigned.
	Session bool
	// Reason says why the file waits in Unassigned, as a sentence a GP can act on. It
	// never contains the name's NHI-shaped text.
	Reason string
}

// Reasons for Unassigned, exported so the agent and tests can match them.
const (
	ReasonFolderUnassigned = "Files from this folder always wait for a GP to choose the patient."
	ReasonNoNHI            = "There is no NHI number in the file or folder name: choose the patient in ClinicPro."
	ReasonBadNHI           = "The name contains something that looks like an NHI number but its check character is wrong, so it may be mistyped: correct the name or choose the patient in ClinicPro."
	ReasonConflict         = "The file and folder names contain different NHI numbers: rename the file or choose the patient in ClinicPro."
)

// RouteFile decides the patient of a file from its folder's rule, its name and the
// names of the folders between the watched root and the file. Nothing is guessed:
// anything ambiguous, or an NHI that fails its check, goes to Unassigned.
func RouteFile(f config.Folder, rel string) Route {
	switch f.Routing {
	case config.RoutingUnassigned:
		return Route{Reason: ReasonFolderUnassigned}
	case config.RoutingSession:
		return Route{Session: true}
	}
	rel = filepath.ToSlash(rel)
	parts := strings.Split(rel, "/")
	base := parts[len(parts)-1]
	base = strings.TrimSuffix(base, filepath.Ext(base))

	// The file name speaks first; the nearest folder after it.
	names := []string{base}
	for i := len(parts) - 2; i >= 0; i-- {
		names = append(names, parts[i])
	}
	var found nhi.NHI
	for _, name := range names {
		got, bad := nhisIn(name)
		if bad {
			return Route{Reason: ReasonBadNHI}
		}
		for _, n := range got {
			if found != "" && n != found {
				return Route{Reason: ReasonConflict}
			}
			found = n
		}
	}
	if found == "" {
		return Route{Reason: ReasonNoNHI}
	}
	return Route{NHI: found}
}

// nhisIn returns the distinct valid NHIs in name, and whether any NHI-shaped token in
// it fails its check.
func nhisIn(name string) (valid []nhi.NHI, bad bool) {
	toks := strings.FieldsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	for _, t := range toks {
		n, err := nhi.Find(t)
		switch {
		case err == nil:
			dup := false
			for _, v := range valid {
				dup = dup || v == n
			}
			if !dup {
				valid = append(valid, n)
			}
		case !errors.Is(err, nhi.ErrNotFound):
			bad = true
		}
	}
	return valid, bad
}
