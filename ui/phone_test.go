package ui

import (
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// phoneSteps drives a patient window's Phone through its states as the agent would
// report them, calling at after each: QR, paired, waiting (photos on their way),
// received.
func phoneSteps(h *harness, c *CaptureWindow, at func(step string)) {
	h.t.Helper()
	c.openPhone()
	h.eventually("the QR code", func() bool { return c.phone != nil && c.phone.qr.Visible() && c.phone.qrURL != "" })
	at("qr")
	sid := c.phone.session
	h.agent.PhoneSet(sid, localapi.PhonePaired, 0)
	h.eventually("paired", func() bool { return c.phone.heading.Text == "Phone connected" && !c.phone.qr.Visible() })
	at("paired")
	h.agent.PhoneSet(sid, localapi.PhonePaired, 2)
	h.eventually("photos on their way", func() bool { return c.phone.heading.Text == "Receiving photos" })
	at("waiting")
	h.agent.PhoneSend(sid, localapitest.UniqueJPEG(h.t))
	h.agent.PhoneSend(sid, localapitest.UniqueJPEG(h.t))
	h.agent.PhoneSet(sid, localapi.PhonePaired, 0)
	h.eventually("received", func() bool { return c.phone.heading.Text == "Photos received" && len(c.order) == 2 })
	at("received")
}

func TestPhoneInTheCaptureWindow(t *testing.T) {
	h := newHarness(t, nil)
	c := h.patient()
	if c.phoneBtn.Disabled() {
		t.Fatal("Phone is disabled in a patient's window")
	}
	phoneSteps(h, c, func(step string) {
		v := c.phone.model.View()
		switch step {
		case "qr":
			if c.phone.word.Text != localapitest.PhoneWord || v.Step != viewmodel.PhoneQR || c.phone.text.Text == "" {
				t.Fatalf("QR step: %+v", v)
			}
		case "received":
			for _, id := range c.order {
				if l := c.cards[id].source.Text; l == "" {
					t.Fatalf("a phone photo's card says nothing of where it came from")
				}
			}
		}
	})
	// The code expires: New code gets another.
	h.agent.PhoneSet(c.phone.session, localapi.PhoneExpired, 0)
	h.eventually("expired", func() bool { return !c.phone.newCode.Disabled() && c.phone.stop.Disabled() })
	first := c.phone.qrURL
	c.phone.newCode.OnTapped()
	h.eventually("a new code", func() bool { return c.phone.qr.Visible() && c.phone.qrURL != first })
	// A window with no patient offers no Phone.
	np := h.launch("clinicpro://launch?context=" + localapitest.ContextNoPatient + "&signature=" + localapitest.SignatureFor(localapitest.ContextNoPatient))
	if !np.phoneBtn.Disabled() {
		t.Fatal("Phone is offered without a patient")
	}
}

// renderPhoneScreens adds the phone panel's states to `make screenshots`.
func renderPhoneScreens(t *testing.T, out string, fresh func() *harness) {
	h := fresh()
	c := h.patient()
	c.win.Resize(fyne.NewSize(820, 560))
	phoneSteps(h, c, func(step string) {
		h.q.drain()
		savePNG(t, filepath.Join(out, "15-capture-phone-"+step+".png"), c.win.Canvas().Capture())
	})
}
