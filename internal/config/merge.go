package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Merge is what a silent install hands the agent, to be written into the
// configuration file (see internal/rollout).
type Merge struct {
	RelayURL string   // replaces relay_url when set
	Folders  []string // each added as a [[folder]] with the default rules, unless already watched
	HCMHost  bool     // sets host = true under [hcm]
}

var (
	relayLine  = regexp.MustCompile(`(?m)^[ \t]*#?[ \t]*relay_url[ \t]*=.*$`)
	hcmHeader  = regexp.MustCompile(`(?m)^[ \t]*\[hcm\][ \t]*(#.*)?$`)
	tableStart = regexp.MustCompile(`(?m)^[ \t]*\[`)
	hostLine   = regexp.MustCompile(`(?m)^[ \t]*host[ \t]*=.*$`)
)

// ApplyMerge edits the configuration file at path in place, keeping every comment
// and setting it does not change; the file is created from Example first when
// missing. The result must parse, or nothing is written. Folders that are not full
// paths cannot be watched and are returned as skipped.
func ApplyMerge(path string, m Merge) (skipped []string, err error) {
	if err := WriteExample(path); err != nil {
		return nil, err
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cur, err := Parse(old)
	if err != nil {
		return nil, err
	}
	out := string(old)
	if m.RelayURL != "" {
		line := "relay_url = " + strconv.Quote(m.RelayURL)
		if loc := relayLine.FindStringIndex(out); loc != nil {
			out = out[:loc[0]] + line + out[loc[1]:]
		} else {
			out = line + "\n" + out
		}
	}
	if m.HCMHost && !cur.HCM.Host {
		out = setHCMHost(out)
	}
	var folders []string
	for _, f := range m.Folders {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !filepath.IsAbs(f) && !isWindowsAbs(f) {
			skipped = append(skipped, f)
			continue
		}
		folders = append(folders, f)
	}
	out = addFolders(out, cur, folders)
	if _, err := Parse([]byte(out)); err != nil {
		return skipped, errors.New("the edited configuration would not be valid: " + err.Error())
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), 0o600); err != nil {
		return skipped, err
	}
	return skipped, os.Rename(tmp, path)
}

// setHCMHost sets host = true inside the [hcm] table, adding the table or the key
// where missing.
func setHCMHost(s string) string {
	h := hcmHeader.FindStringIndex(s)
	if h == nil {
		return strings.TrimRight(s, "\n") + "\n\n[hcm]\nhost = true\n"
	}
	body := s[h[1]:]
	end := len(body)
	if loc := tableStart.FindStringIndex(body); loc != nil {
		end = loc[0]
	}
	if loc := hostLine.FindStringIndex(body[:end]); loc != nil {
		return s[:h[1]] + body[:loc[0]] + "host = true" + body[loc[1]:]
	}
	return s[:h[1]] + "\nhost = true" + body
}

// addFolders appends a [[folder]] block per path not already watched; the label is
// the folder's name, made unique because labels name folders in the tray.
func addFolders(s string, cur *Config, paths []string) string {
	seen := map[string]bool{}
	labels := map[string]bool{}
	for _, f := range cur.Folders {
		seen[folderKey(f.Path)] = true
		labels[strings.ToLower(f.Label)] = true
	}
	for _, p := range paths {
		p = strings.TrimSpace(p)
		if p == "" || seen[folderKey(p)] {
			continue
		}
		seen[folderKey(p)] = true
		label := baseName(p)
		for n := 2; labels[strings.ToLower(label)]; n++ {
			label = fmt.Sprintf("%s (%d)", baseName(p), n)
		}
		labels[strings.ToLower(label)] = true
		s = strings.TrimRight(s, "\n") + "\n\n[[folder]]\npath = " + tomlString(p) + "\nlabel = " + strconv.Quote(label) + "\n"
	}
	return s
}

func folderKey(p string) string {
	return strings.ToLower(strings.TrimRight(strings.ReplaceAll(p, `\`, "/"), "/"))
}

// tomlString writes a Windows path as a literal string (backslashes as they are)
// unless it holds a quote.
func tomlString(s string) string {
	if !strings.ContainsAny(s, "'\n") {
		return "'" + s + "'"
	}
	return strconv.Quote(s)
}
