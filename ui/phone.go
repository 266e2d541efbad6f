package ui

import (
	"context"
	"image"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// phoneIcon is a phone outline in the theme's foreground colour.
var phoneIcon = theme.NewThemedResource(fyne.NewStaticResource("phone.svg", []byte(
	`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path fill="#000" d="M7 1h10a2 2 0 0 1 2 2v18a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V3a2 2 0 0 1 2-2zm0 3v15h10V4H7zm5 16.2a1 1 0 1 0 0 .01z"/></svg>`)))

// qrSize is the code's size on screen: large enough for a phone camera at arm's
// length from a monitor.
var qrSize = fyne.NewSize(240, 240)

// phonePanel is a capture window's Phone: the QR code of the relay's page, the match
// word, and what becomes of the photos. It is a dialog over the window, so the
// photos arriving below stay in sight when it is closed.
type phonePanel struct {
	c       *CaptureWindow
	session string
	model   *viewmodel.Phone
	dlg     *dialog.CustomDialog
	qr      *canvas.Image
	qrURL   string
	heading *widget.Label
	word    *widget.Label
	wordBox *fyne.Container
	text    *widget.Label
	url     *widget.Label
	newCode *widget.Button
	stop    *widget.Button
}

func newPhoneButton(c *CaptureWindow) *widget.Button {
	return widget.NewButtonWithIcon(viewmodel.LabelPhone, phoneIcon, c.openPhone)
}

// openPhone shows the panel and asks the agent for a code (or the open one).
func (c *CaptureWindow) openPhone() {
	s, ok := c.model.Session()
	if !ok || !c.model.HasPatient() {
		return
	}
	if c.phone == nil || c.phone.session != s.ID {
		c.phone = newPhonePanel(c, s.ID)
	}
	c.phone.dlg.Show()
	if v := c.phone.model.View(); v.Step == viewmodel.PhoneOff || v.CanNew {
		go func() { _ = c.phone.model.Open(context.Background()) }()
	}
}

// phoneEvent passes an EventPhone to the window's panel.
func (c *CaptureWindow) phoneEvent(ps localapi.PhoneSession) {
	if c.phone != nil {
		c.phone.model.Handle(ps)
	}
}

func newPhonePanel(c *CaptureWindow, session string) *phonePanel {
	p := &phonePanel{c: c, session: session}
	p.model = viewmodel.NewPhone(c.app.agent, session, func() { c.app.opt.Do(p.refresh) })
	p.qr = canvas.NewImageFromImage(image.NewGray(image.Rect(0, 0, 1, 1)))
	p.qr.FillMode = canvas.ImageFillContain
	p.qr.ScaleMode = canvas.ImageScalePixels
	p.qr.SetMinSize(qrSize)
	p.heading = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.heading.SizeName = theme.SizeNameSubHeadingText
	p.word = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.word.SizeName = theme.SizeNameHeadingText
	p.wordBox = container.NewVBox(widget.NewLabel("Match word on the phone:"), p.word)
	p.text = widget.NewLabel("")
	p.text.Wrapping = fyne.TextWrapWord
	p.url = widget.NewLabel("")
	p.url.SizeName = theme.SizeNameCaptionText
	p.url.Wrapping = fyne.TextWrapBreak
	p.newCode = widget.NewButtonWithIcon(viewmodel.LabelPhoneNew, theme.ViewRefreshIcon(), func() {
		go func() { _ = p.model.Open(context.Background()) }()
	})
	p.stop = widget.NewButtonWithIcon(viewmodel.LabelPhoneStop, theme.CancelIcon(), func() {
		go func() { _ = p.model.Stop(context.Background()) }()
	})
	done := widget.NewButton("Close", func() { p.dlg.Hide() })
	done.Importance = widget.HighImportance
	right := container.NewVBox(p.wordBox, p.text)
	body := container.NewBorder(container.NewVBox(p.heading, widget.NewSeparator()),
		container.NewVBox(p.url, container.NewHBox(layout.NewSpacer(), p.newCode, p.stop, done)),
		container.NewCenter(p.qr), nil, right)
	p.dlg = dialog.NewCustomWithoutButtons(viewmodel.TipPhone, body, c.win)
	p.dlg.Resize(fyne.NewSize(680, 420))
	p.refresh()
	return p
}

func (p *phonePanel) refresh() {
	v := p.model.View()
	p.heading.SetText(v.Heading)
	p.text.SetText(v.Text)
	p.text.Importance = widget.MediumImportance
	if v.Error {
		p.text.Importance = widget.DangerImportance
	} else if v.Step == viewmodel.PhoneReceived {
		p.text.Importance = widget.SuccessImportance
	}
	p.text.Refresh()
	p.word.SetText(v.Word)
	if v.Word == "" || v.Step == viewmodel.PhoneEnded || v.Step == viewmodel.PhoneFailed {
		p.wordBox.Hide()
	} else {
		p.wordBox.Show()
	}
	if v.ShowQR && v.URL != "" {
		if v.URL != p.qrURL {
			if img, err := viewmodel.QRCode(v.URL, 6); err == nil {
				p.qr.Image = img
				p.qrURL = v.URL
				p.qr.Refresh()
			}
		}
		p.qr.Show()
		p.url.SetText(v.URL)
		p.url.Show()
	} else {
		p.qr.Hide()
		p.url.Hide()
	}
	setEnabled(p.newCode, v.CanNew)
	setEnabled(p.stop, v.CanStop)
	if p.dlg != nil {
		p.dlg.Refresh()
	}
}
