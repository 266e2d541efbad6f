// Package profiles finds the Windows users signed in to this PC and their profile
// folders, so the agent (which runs as LocalSystem, whose own profile is not any
// GP's) can watch a folder in each GP's profile, such as the Camera Roll the
// Windows Camera app saves to. The OS part sits behind Source, which tests stand in for.
package profiles

import (
	"slices"
	"strings"
)

// User is one signed-in user.
type User struct {
	// SID identifies the user the way the local API's peers do (peer.Peer.User): a
	// Windows SID, or "uid:N" on Unix.
	SID string
	// Name is the account name, for labels practice IT reads ("Camera Roll (drsmith)").
	Name string
	// Profile is the user's profile folder (%USERPROFILE%), e.g. C:\Users\drsmith.
	Profile string
	// Sessions are the Windows sessions the user is signed in to (Remote Desktop gives
	// each sign-in its own); 0 on Unix.
	Sessions []uint32
}

// Source lists the users signed in now and the public profile folder.
type Source interface {
	SignedIn() ([]User, error)
	// Public is the folder shared by every user (%PUBLIC%, C:\Users\Public).
	Public() (string, error)
}

// merge folds users signed in to several sessions into one entry each, sorted by SID
// so callers compare lists cheaply.
func merge(us []User) []User {
	var out []User
	for _, u := range us {
		if u.SID == "" || u.Profile == "" {
			continue
		}
		i := slices.IndexFunc(out, func(o User) bool { return strings.EqualFold(o.SID, u.SID) })
		if i < 0 {
			out = append(out, u)
			continue
		}
		for _, s := range u.Sessions {
			if !slices.Contains(out[i].Sessions, s) {
				out[i].Sessions = append(out[i].Sessions, s)
			}
		}
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.SID, b.SID) })
	return out
}
