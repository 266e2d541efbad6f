package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// Keyboard: Enter moves to the next field, Ctrl+Enter saves, Ctrl+O adds files.
// Enter alone never saves: a GP typing a title must not file a batch half-labelled.
var (
	shortcutSave = &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierControl}
	// shortcutSaveKeypad is Ctrl+Enter on the numeric keypad.
	shortcutSaveKeypad = &desktop.CustomShortcut{KeyName: fyne.KeyEnter, Modifier: fyne.KeyModifierControl}
	shortcutAdd        = &desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: fyne.KeyModifierControl}
	shortcutSelectAll  = &desktop.CustomShortcut{KeyName: fyne.KeyA, Modifier: fyne.KeyModifierControl}
)

func isShortcut(s fyne.Shortcut, want *desktop.CustomShortcut) bool {
	c, ok := s.(*desktop.CustomShortcut)
	return ok && c.KeyName == want.KeyName && c.Modifier == want.Modifier
}

// tipButton is a button with a tooltip shown while the pointer rests on it. Fyne has
// no tooltips of its own; the label and icon already say what the button does, the
// tip says what happens to the file.
type tipButton struct {
	widget.Button
	Tip string
	pop *widget.PopUp
}

func newTipButton(label string, icon fyne.Resource, tip string, tapped func()) *tipButton {
	b := &tipButton{Tip: tip}
	b.Text, b.Icon, b.OnTapped = label, icon, tapped
	b.ExtendBaseWidget(b)
	return b
}

func (b *tipButton) MouseIn(e *desktop.MouseEvent) {
	b.Button.MouseIn(e)
	c := fyne.CurrentApp().Driver().CanvasForObject(b)
	if c == nil || b.Tip == "" {
		return
	}
	l := widget.NewLabel(b.Tip)
	b.pop = widget.NewPopUp(l, c)
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(b)
	b.pop.ShowAtPosition(pos.Add(fyne.NewPos(0, b.Size().Height+2)))
}

func (b *tipButton) MouseOut() {
	b.Button.MouseOut()
	if b.pop != nil {
		b.pop.Hide()
		b.pop = nil
	}
}

// fieldEntry is a one-line entry in the capture window's Enter chain.
type fieldEntry struct {
	widget.Entry
	next     func()                   // Enter
	shortcut func(fyne.Shortcut) bool // the window's shortcuts, which a focused entry would swallow
}

func newFieldEntry(placeholder string) *fieldEntry {
	e := &fieldEntry{}
	e.PlaceHolder = placeholder
	e.ExtendBaseWidget(e)
	e.OnSubmitted = func(string) {
		if e.next != nil {
			e.next()
		}
	}
	return e
}

func (e *fieldEntry) TypedShortcut(s fyne.Shortcut) {
	if e.shortcut != nil && e.shortcut(s) {
		return
	}
	e.Entry.TypedShortcut(s)
}

// fieldSelect is a drop-down in the Enter chain; Left and Right still change it.
type fieldSelect struct {
	widget.Select
	next func()
}

func newFieldSelect(options []string, changed func(string)) *fieldSelect {
	s := &fieldSelect{}
	s.Options, s.OnChanged = options, changed
	s.ExtendBaseWidget(s)
	return s
}

func (s *fieldSelect) TypedKey(k *fyne.KeyEvent) {
	if (k.Name == fyne.KeyReturn || k.Name == fyne.KeyEnter) && s.next != nil {
		s.next()
		return
	}
	s.Select.TypedKey(k)
}

// siteEntry is the body-site field: it lists SNOMED CT body sites matching what is
// typed; Down and Up choose, Enter takes the chosen one (or the top one) and moves
// on; what matches nothing stays free text. The list is drawn in the card under the
// field, not in a pop-up: a pop-up would take the keyboard from the field.
type siteEntry struct {
	fieldEntry
	pick    func(api.BodySite) // a listed site was taken
	matches []api.BodySite
	chosen  int
	list    *fyne.Container
	// typing is false while the entry is being set from the model, so a redraw does
	// not open the list.
	typing bool
	// resized lets the window make room for the list.
	resized func()
}

func newSiteEntry() *siteEntry {
	e := &siteEntry{typing: true}
	e.PlaceHolder = "Body site (type to search)"
	e.ExtendBaseWidget(e)
	e.list = container.NewVBox()
	e.list.Hide()
	e.OnSubmitted = func(string) { e.submit() }
	return e
}

// search refreshes the list for the text typed.
func (e *siteEntry) search(text string) {
	if !e.typing {
		return
	}
	e.matches, e.chosen = viewmodel.BodySiteChoices(text), 0
	if len(e.matches) == 1 && e.matches[0].Term == text {
		e.matches = nil // already taken
	}
	e.showList()
}

func (e *siteEntry) showList() {
	if len(e.matches) == 0 {
		e.hideList()
		return
	}
	objs := make([]fyne.CanvasObject, 0, len(e.matches))
	for i, m := range e.matches {
		b := widget.NewButton(m.Term, func() { e.take(m) })
		b.Alignment = widget.ButtonAlignLeading
		b.Importance = widget.LowImportance
		if i == e.chosen {
			b.Importance = widget.HighImportance
		}
		objs = append(objs, b)
	}
	e.list.Objects = objs
	e.list.Show()
	e.list.Refresh()
	if e.resized != nil {
		e.resized()
	}
}

func (e *siteEntry) hideList() {
	if e.list.Visible() {
		e.list.Hide()
		e.list.Objects = nil
		e.list.Refresh()
		if e.resized != nil {
			e.resized()
		}
	}
}

// Listed reports the terms the list currently offers (tests, screen readers).
func (e *siteEntry) Listed() []string {
	if !e.list.Visible() {
		return nil
	}
	out := make([]string, len(e.matches))
	for i, m := range e.matches {
		out[i] = m.Term
	}
	return out
}

func (e *siteEntry) take(m api.BodySite) {
	e.matches = nil
	e.hideList()
	e.typing = false
	e.SetText(m.Term)
	e.typing = true
	if e.pick != nil {
		e.pick(m)
	}
	if e.next != nil {
		e.next()
	}
}

func (e *siteEntry) submit() {
	if len(e.matches) > 0 && e.list.Visible() {
		e.take(e.matches[e.chosen])
		return
	}
	e.hideList()
	if e.next != nil {
		e.next()
	}
}

func (e *siteEntry) TypedKey(k *fyne.KeyEvent) {
	open := len(e.matches) > 0 && e.list.Visible()
	switch {
	case open && k.Name == fyne.KeyDown:
		e.chosen = (e.chosen + 1) % len(e.matches)
		e.showList()
	case open && k.Name == fyne.KeyUp:
		e.chosen = (e.chosen + len(e.matches) - 1) % len(e.matches)
		e.showList()
	case open && k.Name == fyne.KeyEscape:
		e.matches = nil
		e.hideList()
	default:
		e.fieldEntry.TypedKey(k)
	}
}
