// Package launch turns a Medtech toolbar launch into something the tray can act on:
// it parses launch URLs (clinicpro://launch?... and the agent's loopback web URL) and
// keeps the tray to one instance per user, so a second process started by Windows for
// the URL hands it to the running tray and exits.
package launch

import (
	"errors"
	"net/url"
	"strings"
)

// Launch is the pair Medtech Evolution substitutes into the toolbar URL. Both values
// are opaque and encrypted; only ALEX (through the agent and relay) can read them, so
// the tray never inspects them and never logs them.
type Launch struct {
	Context   string
	Signature string
}

// Scheme is the URL scheme the installer registers for the tray.
const Scheme = "clinicpro"

// MaxURLLength bounds what we accept from the command line or the hand-off socket.
// Real launch URLs are a few hundred bytes; the bound keeps a hostile caller from
// making us buffer megabytes.
const MaxURLLength = 8 << 10

// ErrNotLaunch is returned for anything that is not a Medtech launch URL. Its text
// never includes the URL, which could carry identifiers if someone pasted the wrong link.
var ErrNotLaunch = errors.New("this is not a Medtech launch link: open ClinicPro Images from the Medtech Evolution toolbar")

// ErrIncomplete is a launch URL without its context or signature, which happens when
// the ALEX Apps configuration in Evolution is missing a placeholder.
var ErrIncomplete = errors.New("the Medtech launch link has no patient context: check the ALEX Apps launch URL in Evolution ends with ?context={context}&signature={signature}")

// Parse reads a launch URL as Windows or the agent hands it to us.
func Parse(raw string) (Launch, error) {
	if len(raw) > MaxURLLength {
		return Launch{}, ErrNotLaunch
	}
	// Windows passes the URL as %1 and shortcuts often quote it; both arrive here.
	raw = strings.Trim(strings.TrimSpace(raw), `"'`)
	u, err := url.Parse(raw)
	if err != nil {
		return Launch{}, ErrNotLaunch
	}
	if !isLaunchTarget(u) {
		return Launch{}, ErrNotLaunch
	}
	ctx, sig, err := params(u.RawQuery)
	if err != nil {
		return Launch{}, err
	}
	return Launch{Context: ctx, Signature: sig}, nil
}

// isLaunchURL reports whether s is worth handing to Parse: used on the command line to
// tell a launch apart from other arguments without reporting errors.
func isLaunchURL(s string) bool {
	_, err := Parse(s)
	return err == nil || errors.Is(err, ErrIncomplete)
}

func isLaunchTarget(u *url.URL) bool {
	if u.User != nil || u.Fragment != "" {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case Scheme:
		// clinicpro://launch?..., clinicpro://launch/?... and the opaque clinicpro:launch?...
		if u.Opaque != "" {
			return strings.EqualFold(u.Opaque, "launch")
		}
		return strings.EqualFold(u.Host, "launch") && (u.Path == "" || u.Path == "/")
	case "http":
		// Only the agent's own loopback listener: a launch link that points anywhere
		// else would send Medtech's launch token to a host we do not control.
		if !isLoopback(u.Hostname()) || u.Port() == "" {
			return false
		}
		return u.Path == "/launch" || u.Path == "/launch/"
	}
	return false
}

func isLoopback(host string) bool {
	switch strings.ToLower(host) {
	case "127.0.0.1", "localhost", "::1":
		return true
	}
	return false
}

// params reads context and signature by hand rather than with url.ParseQuery: Evolution
// substitutes base64-like values without encoding them, and form decoding would turn
// each '+' into a space and break the signature.
func params(query string) (ctx, sig string, err error) {
	var seenCtx, seenSig bool
	for _, part := range strings.Split(query, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		val, uerr := url.PathUnescape(v)
		if uerr != nil || !printable(val) {
			return "", "", ErrNotLaunch
		}
		switch k {
		case "context":
			if seenCtx {
				return "", "", ErrNotLaunch
			}
			seenCtx, ctx = true, val
		case "signature":
			if seenSig {
				return "", "", ErrNotLaunch
			}
			seenSig, sig = true, val
		}
	}
	if ctx == "" || sig == "" || ctx == "{context}" || sig == "{signature}" {
		return "", "", ErrIncomplete
	}
	return ctx, sig, nil
}

// printable rejects control characters and spaces, which no launch value carries and
// which would otherwise end up in the relay's request path.
func printable(s string) bool {
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// FromArgs returns the first launch URL among command-line arguments, if any.
func FromArgs(args []string) (string, bool) {
	for _, a := range args {
		if isLaunchURL(a) {
			return a, true
		}
	}
	return "", false
}
