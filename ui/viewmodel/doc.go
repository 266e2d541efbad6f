// Package viewmodel holds the tray's screen logic as plain Go: what the capture
// window, the tray icon, the Unassigned list and the Status window show, and what
// each button does against the agent. Widgets in package ui only draw a view and
// forward clicks, so everything here is tested without a display or cgo.
//
// Copy that GPs already know from the web version is kept word for word.
package viewmodel

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

// Words GPs know from the web version; tests and screenshots assert them exactly.
const (
	TextNoLaunch  = "Launch from Medtech Evolution"
	TextNoPatient = "No patient selected"
	TextOpening   = "Opening the patient from Medtech…"
	TextSaved     = "Saved to Medtech (Inbox Scan)"
)

// Window titles never carry a patient identifier: they reach the taskbar, Alt-Tab,
// screen sharing and accessibility logs.
const (
	TitleMain    = "ClinicPro Images"
	TitleCapture = "ClinicPro Images - Capture"
	// TitleAnotherPatient heads the question asked when another patient is launched
	// while a window holds unsaved images.
	TitleAnotherPatient = "Open another patient?"
)

// agentDown is what a person reads when the agent's pipe does not answer.
const agentDown = "The ClinicPro agent is not answering: check that the \"ClinicPro Agent\" Windows service is running, then try again."

const textCancelled = "Opening the patient was cancelled: click the ClinicPro icon in Medtech again."

// Sentence turns an agent error into one sentence a person can act on. The agent
// already words its errors; the correlation id is appended so practice IT can quote it.
func Sentence(err error) string {
	if err == nil {
		return ""
	}
	var ae *localapi.APIError
	if errors.As(err, &ae) {
		if ae.Correlation != "" {
			return ae.Message + " (Reference " + ae.Correlation + ")"
		}
		return ae.Message
	}
	if errors.Is(err, context.Canceled) {
		return textCancelled
	}
	var ne net.Error
	if errors.Is(err, localapi.ErrAgentDown) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) {
		return agentDown
	}
	// Anything else is not ours to word; its text could carry paths, so keep it out.
	return "Something went wrong talking to the ClinicPro agent: try again, and if it keeps happening use Copy diagnostics in Status."
}

// BirthDate renders ALEX's YYYY-MM-DD as New Zealanders read a date (12 Mar 1985),
// so day and month cannot be confused.
func BirthDate(s string) string {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return s
	}
	return t.Format("2 Jan 2006")
}
