package viewmodel

import (
	"context"
	"image"
	"sync"

	"rsc.io/qr"

	"github.com/clinicpro/medtech-images/internal/localapi"
)

// PhoneStep is what a capture window's phone panel shows.
type PhoneStep int

const (
	PhoneOff       PhoneStep = iota // no code asked for
	PhoneOpening                    // asking the agent (and the relay) for a code
	PhoneQR                         // the code is shown; no phone has opened it
	PhonePaired                     // a phone opened it; nothing sent yet
	PhoneReceiving                  // photos are on their way from the phone
	PhoneReceived                   // photos arrived in the window
	PhoneEnded                      // the code ended (saved, closed, expired)
	PhoneFailed                     // no code could be had; Text says why
)

// Phone panel sentences, declared once.
const (
	TextPhoneTrust   = "Photos taken on the phone come straight to this window. Nothing is kept on the phone."
	TextPhoneScan    = "Scan this code with the phone's camera and open the link."
	TextPhoneOpening = "Getting a code from the ClinicPro relay…"
	LabelPhone       = "Phone"
	LabelPhoneNew    = "New code"
	LabelPhoneStop   = "Stop"
	TipPhone         = "Take photos on a phone: scan a code, no app needed"
)

// PhoneView is everything the phone panel draws.
type PhoneView struct {
	Step     PhoneStep
	Heading  string
	Text     string
	Word     string // the match word, shown large
	URL      string // the link in the QR code, shown small under it (a desktop browser may open it)
	ShowQR   bool
	Received int
	// CanNew offers a new code (the last one ended or none could be had); CanStop
	// ends the open one.
	CanNew, CanStop bool
	Error           bool
}

// Phone is one capture window's phone panel.
type Phone struct {
	agent    localapi.PhoneService
	onChange func()

	mu      sync.Mutex
	session string
	ps      localapi.PhoneSession
	opening bool
	err     string
}

// NewPhone returns the panel's model for the capture session sessionID.
func NewPhone(agent localapi.PhoneService, sessionID string, onChange func()) *Phone {
	if onChange == nil {
		onChange = func() {}
	}
	return &Phone{agent: agent, session: sessionID, onChange: onChange}
}

// Open asks for a code (the agent returns the open one if there is one).
func (p *Phone) Open(ctx context.Context) error {
	p.mu.Lock()
	p.opening, p.err = true, ""
	p.mu.Unlock()
	p.onChange()
	ps, err := p.agent.OpenPhone(ctx, p.session)
	p.mu.Lock()
	p.opening = false
	if err != nil {
		p.err = Sentence(err)
	} else {
		p.ps = ps
	}
	p.mu.Unlock()
	p.onChange()
	return err
}

// Stop ends the code: the phone is told at once.
func (p *Phone) Stop(ctx context.Context) error {
	err := p.agent.ClosePhone(ctx, p.session)
	if err == nil {
		p.mu.Lock()
		p.ps.State = localapi.PhoneClosed
		p.mu.Unlock()
		p.onChange()
	}
	return err
}

// Handle applies an EventPhone; other windows' sessions are ignored.
func (p *Phone) Handle(ps localapi.PhoneSession) {
	p.mu.Lock()
	if ps.SessionID != p.session || (p.ps.URL != "" && ps.URL != p.ps.URL) {
		p.mu.Unlock()
		return
	}
	p.ps = ps
	p.mu.Unlock()
	p.onChange()
}

// View returns a snapshot for drawing.
func (p *Phone) View() PhoneView {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps := p.ps
	v := PhoneView{Word: ps.Word, URL: ps.URL, Received: ps.Received}
	arrived := ""
	if ps.Received > 0 {
		arrived = plural(ps.Received, "photo", "photos") + " from the phone " + map[bool]string{true: "is", false: "are"}[ps.Received == 1] +
			" in this window: add a title, laterality and body site, then Save."
	}
	switch {
	case p.opening:
		v.Step, v.Heading, v.Text = PhoneOpening, "Phone", TextPhoneOpening
	case p.err != "":
		v.Step, v.Heading, v.Text, v.Error, v.CanNew = PhoneFailed, "No phone code", p.err, true, true
	case ps.URL == "":
		v.Step = PhoneOff
	case ps.State == localapi.PhoneWaiting:
		v.Step, v.Heading, v.ShowQR, v.CanStop = PhoneQR, "Scan with the phone", true, true
		v.Text = TextPhoneScan + " Check the phone shows the match word below. " + TextPhoneTrust
	case ps.State == localapi.PhonePaired && ps.Uploading > 0:
		v.Step, v.Heading, v.CanStop = PhoneReceiving, "Receiving photos", true
		v.Text = "Receiving " + plural(ps.Uploading, "photo", "photos") + " from the phone…"
		if arrived != "" {
			v.Text += " " + arrived
		}
	case ps.State == localapi.PhonePaired && ps.Received > 0:
		v.Step, v.Heading, v.Text, v.CanStop = PhoneReceived, "Photos received", arrived+" The phone can send more.", true
	case ps.State == localapi.PhonePaired:
		v.Step, v.Heading, v.CanStop = PhonePaired, "Phone connected", true
		v.Text = "Take photos on the phone and press Send; they appear in this window. " + TextPhoneTrust
	default:
		v.Step, v.CanNew = PhoneEnded, true
		v.Heading = "The phone code has ended"
		v.Text = "Press New code to connect a phone again."
		if ps.State == localapi.PhoneExpired {
			v.Heading = "The phone code expired"
			v.Text = "Codes last 10 minutes until scanned and 30 minutes after. Press New code to connect a phone again."
		}
		if arrived != "" {
			v.Text = arrived + " " + v.Text
		}
	}
	return v
}

// QRCode draws url as a QR code (error correction M) with scale pixels per module
// and the standard four-module quiet zone. The modules come from rsc.io/qr; its own
// Image ignores Scale and the quiet zone, so the drawing is done here.
func QRCode(url string, scale int) (image.Image, error) {
	c, err := qr.Encode(url, qr.M)
	if err != nil {
		return nil, err
	}
	const quiet = 4
	side := (c.Size + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for my := 0; my < c.Size; my++ {
		for mx := 0; mx < c.Size; mx++ {
			if !c.Black(mx, my) {
				continue
			}
			for y := (my + quiet) * scale; y < (my+quiet+1)*scale; y++ {
				row := img.Pix[y*img.Stride:]
				for x := (mx + quiet) * scale; x < (mx+quiet+1)*scale; x++ {
					row[x] = 0
				}
			}
		}
	}
	return img, nil
}
