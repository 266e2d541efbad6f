package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Folder paths may start with one of these, so one configuration (rolled out by
// Group Policy or Intune to every PC) names folders that differ per user or per PC.
// The agent runs as LocalSystem, whose own profile is nobody's: %USERPROFILE% and ~
// mean each signed-in user's profile, watched for as long as they are signed in.
const (
	VarUserProfile = "%USERPROFILE%"
	VarPublic      = "%PUBLIC%"
	VarHome        = "~"
)

// splitVar returns a path's leading variable (VarUserProfile for ~ too) and the
// rest, or "" when it starts with none. Variables are matched without case, as
// Windows does.
func splitVar(p string) (v, rest string) {
	switch {
	case p == VarHome || strings.HasPrefix(p, VarHome+`\`) || strings.HasPrefix(p, VarHome+"/"):
		return VarUserProfile, p[len(VarHome):]
	case len(p) >= len(VarUserProfile) && strings.EqualFold(p[:len(VarUserProfile)], VarUserProfile):
		return VarUserProfile, p[len(VarUserProfile):]
	case len(p) >= len(VarPublic) && strings.EqualFold(p[:len(VarPublic)], VarPublic):
		return VarPublic, p[len(VarPublic):]
	}
	return "", p
}

// PerUser reports whether the folder is in each signed-in user's profile.
func (f Folder) PerUser() bool {
	v, _ := splitVar(f.Path)
	return v == VarUserProfile
}

// CameraRoll reports whether the folder is each user's Pictures\Camera Roll, where
// the Windows Camera app saves the photos it takes.
func (f Folder) CameraRoll() bool {
	v, rest := splitVar(f.Path)
	rest = strings.Trim(strings.ToLower(strings.ReplaceAll(rest, `\`, "/")), "/")
	return v == VarUserProfile && rest == "pictures/camera roll"
}

// Expand returns the folder's path with its leading variable replaced: profile for
// %USERPROFILE% and ~, public for %PUBLIC%. A path without a variable is returned
// as it is.
func (f Folder) Expand(profile, public string) (string, error) {
	v, rest := splitVar(f.Path)
	base := ""
	switch v {
	case "":
		return f.Path, nil
	case VarUserProfile:
		base = profile
	case VarPublic:
		base = public
	}
	if base == "" {
		return "", fmt.Errorf("%s in %q has no value here", v, f.Path)
	}
	rest = strings.TrimLeft(rest, `\/`)
	if rest == "" {
		return base, nil
	}
	// One configuration serves every PC: the rest takes the separator of the base
	// (a Windows path's, a Unix path's, else this system's).
	sep := "/"
	rest = strings.ReplaceAll(rest, `\`, "/")
	if isWindowsAbs(base) || !strings.HasPrefix(base, "/") && filepath.Separator == '\\' {
		sep = `\`
		rest = strings.ReplaceAll(rest, "/", `\`)
	}
	return strings.TrimRight(base, `\/`) + sep + rest, nil
}

// checkVars refuses a path with a %VARIABLE% other than the leading ones above: the
// agent would look for a folder literally named that.
func checkVars(p string) error {
	_, rest := splitVar(p)
	if i := strings.Index(rest, "%"); i >= 0 {
		if j := strings.Index(rest[i+1:], "%"); j > 0 {
			return fmt.Errorf("%s is not expanded: only a leading %s, %s or ~ is", rest[i:i+j+2], VarUserProfile, VarPublic)
		}
	}
	return nil
}
