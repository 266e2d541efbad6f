package viewmodel

import (
	"fmt"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

// OpenWindow is what the tray knows of one open capture window when a launch
// arrives.
type OpenWindow struct {
	SessionID string
	Patient   bool            // a patient is open in it
	Banner    localapi.Banner // its patient, when Patient
	Unsaved   int             // images added but not saved
}

// Window returns what the tray knows of a capture window.
func (c *Capture) Window() OpenWindow {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := OpenWindow{SessionID: c.session.ID, Patient: c.phase == PhasePatient, Banner: c.session.Banner}
	for _, it := range c.items {
		if it.Editable() {
			w.Unsaved++
		}
	}
	return w
}

// LaunchPlan is what the tray does with a launch the agent has resolved. One
// capture window per patient: the agent answers a click on a patient whose window
// is open with that window's session.
type LaunchPlan struct {
	// Existing is the index of the open window whose session the launch is (the same
	// patient clicked again), or -1: that window comes forward, and the one opened
	// while the launch resolved goes without ending the session.
	Existing int
	// Ask is the index of another patient's window holding unsaved images, or -1:
	// the GP is asked before this patient's window opens, because files from
	// "session" folders now go to the patient opened last.
	Ask int
	// Question is what the GP is asked; Open and Back are its two answers.
	Question, Open, Back string
}

// PlanLaunch decides what a resolved launch s does, given the open windows (the
// window opened for this launch excluded); routed says whether the agent has
// "session" folders, whose files go to the patient opened last.
func PlanLaunch(open []OpenWindow, s localapi.Session, routed bool, now time.Time) LaunchPlan {
	p := LaunchPlan{Existing: -1, Ask: -1}
	for i, w := range open {
		if w.SessionID != "" && w.SessionID == s.ID {
			p.Existing = i
			return p
		}
	}
	if !s.PatientSelected {
		return p
	}
	for i, w := range open {
		if w.Patient && w.Unsaved > 0 && w.Banner.NHI != s.Banner.NHI {
			p.Ask = i
			other := NewPatientBanner(w.Banner, now).Name()
			this := NewPatientBanner(s.Banner, now).Name()
			images := "1 image that is not saved"
			if w.Unsaved > 1 {
				images = fmt.Sprintf("%d images that are not saved", w.Unsaved)
			}
			p.Question = fmt.Sprintf("The window for %s has %s to Medtech.\n\nOpen %s as well?", other, images, this)
			if routed {
				p.Question += " New files from watched folders will then go to " + this + "."
			}
			p.Open = "Open " + this
			p.Back = "Back to " + other
			return p
		}
	}
	return p
}
