package ui

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// The patient band's colours are fixed, not themed: it must look the same in every
// window, in light and dark mode, and never like the cards below it.
var (
	bannerBackground = color.NRGBA{R: 0x1d, G: 0x3b, B: 0x5c, A: 0xff} // dark blue
	bannerText       = color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
	bannerLabel      = color.NRGBA{R: 0xc5, G: 0xd5, B: 0xe6, A: 0xff}
)

// patientBand draws a viewmodel.PatientBanner: the same band at the top of every
// window that files something (capture, Unassigned and Needs attention confirmations).
type patientBand struct {
	box                          *fyne.Container
	family, given                *canvas.Text
	bornL, born, sexL, sex, nhiL *canvas.Text
	nhi                          *canvas.Text
	shown                        viewmodel.PatientBanner
}

func newPatientBand() *patientBand {
	b := &patientBand{}
	text := func(c color.Color, size float32, bold bool) *canvas.Text {
		t := canvas.NewText("", c)
		t.TextSize = size
		t.TextStyle = fyne.TextStyle{Bold: bold}
		return t
	}
	big := theme.TextSubHeadingSize() + 2
	small := theme.TextSize()
	b.family = text(bannerText, big, true)
	b.given = text(bannerText, big, false)
	b.bornL = text(bannerLabel, small, false)
	b.born = text(bannerText, small, true)
	b.sexL = text(bannerLabel, small, false)
	b.sex = text(bannerText, small, true)
	b.nhiL = text(bannerLabel, small, false)
	b.nhi = text(bannerText, small, true)
	b.bornL.Text, b.sexL.Text, b.nhiL.Text = viewmodel.BannerBorn, viewmodel.BannerSex, viewmodel.BannerNHI
	gap := func() fyne.CanvasObject {
		r := canvas.NewRectangle(color.Transparent)
		r.SetMinSize(fyne.NewSize(theme.Padding()*4, 1))
		return r
	}
	name := container.NewHBox(b.family, b.given)
	details := container.NewHBox(b.bornL, b.born, gap(), b.sexL, b.sex, gap(), b.nhiL, b.nhi, layout.NewSpacer())
	bg := canvas.NewRectangle(bannerBackground)
	b.box = container.NewStack(bg, container.NewPadded(container.NewVBox(name, details)))
	return b
}

// set shows a patient.
func (b *patientBand) set(p viewmodel.PatientBanner) {
	b.shown = p
	b.family.Text = p.Family
	if p.Given != "" {
		b.family.Text += ","
	}
	b.given.Text = p.Given
	b.born.Text = p.Born
	if p.Age != "" {
		b.born.Text += " (" + p.Age + ")"
	}
	b.sex.Text = p.Sex
	b.nhi.Text = p.NHI
	b.box.Refresh()
}

// Text is everything the band shows, for tests and screen readers.
func (b *patientBand) Text() string { return b.shown.String() }

// newWrappedLabel is a label that wraps, for dialog questions.
func newWrappedLabel(s string) *widget.Label {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	return l
}
