package ui

import (
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/ui/viewmodel"
)

// Extensions the agent converts; anything else is refused in the window with a
// sentence instead of failing later in the queue.
var acceptedExt = []string{".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".pdf"}

// thumbSize is a card's picture: large enough to tell a wound from a rash, small
// enough for five across a 1280 dp wide window at 150% scaling.
var thumbSize = fyne.NewSize(180, 120)

// CaptureWindow is one launch's window: banner, thumbnails, Save.
type CaptureWindow struct {
	app   *App
	model *viewmodel.Capture
	win   fyne.Window

	heading *widget.Label
	band    *patientBand
	banner  *fyne.Container
	add     *widget.Button
	camera  *widget.Button
	// phoneBtn opens the phone panel (ui/phone.go); phone is that panel, once opened.
	phoneBtn *widget.Button
	phone    *phonePanel
	grid     *fyne.Container
	summary  *widget.Label
	retry    *tipButton
	save     *widget.Button
	picker   *filePicker
	// focusFrom: after files are added here, the keyboard goes to the first new
	// card's title (the card at this index), so the GP labels them without the mouse.
	focusFrom int
	cards     map[string]*itemCard
	order     []string
	closing   bool
	discard   bool // close without asking (Quit, or the GP already confirmed)
	// confirm is the open "close without saving?" question, if any; ask the
	// "open another patient?" one.
	confirm  *dialog.ConfirmDialog
	ask      *dialog.ConfirmDialog
	lastView viewmodel.CaptureView
	// routing says where watched folders' files go (under the band).
	routing *widget.Label
	// launchSeq is the App's count at this window's latest launch (0: none).
	launchSeq int
	// keepSession: the window closes without ending its session (another window of
	// the same patient holds it).
	keepSession bool
	// crop is the open Crop dialog, if any.
	crop *cropTool
}

func newCaptureWindow(a *App) *CaptureWindow {
	c := &CaptureWindow{app: a, cards: map[string]*itemCard{}}
	c.model = viewmodel.NewCapture(a.agent, func() { a.opt.Do(c.refresh) })
	c.win = a.fa.NewWindow(viewmodel.TitleCapture)
	c.win.SetIcon(appIcon)

	c.heading = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	c.heading.Wrapping = fyne.TextWrapWord
	c.heading.SizeName = theme.SizeNameSubHeadingText
	c.band = newPatientBand()
	c.banner = c.band.box
	c.routing = widget.NewLabel("")
	c.routing.Wrapping = fyne.TextWrapWord
	c.routing.SizeName = theme.SizeNameCaptionText
	c.routing.Hide()
	c.add = widget.NewButtonWithIcon("Add files… (Ctrl+O)", theme.FolderOpenIcon(), c.pick)
	c.focusFrom = -1
	c.camera = widget.NewButtonWithIcon("Camera", theme.MediaPhotoIcon(), c.openCamera)
	c.phoneBtn = newPhoneButton(c)
	c.grid = container.NewGridWrap(fyne.NewSize(thumbSize.Width+16, 0))
	c.summary = widget.NewLabel("")
	c.summary.Wrapping = fyne.TextWrapWord
	c.retry = newTipButton(viewmodel.LabelRetry, theme.ViewRefreshIcon(), viewmodel.TipRetry, func() {
		go func() { _ = c.model.Retry(context.Background()) }()
	})
	c.save = widget.NewButtonWithIcon("Save to Medtech (Ctrl+Enter)", theme.DocumentSaveIcon(), c.Save)
	c.save.Importance = widget.HighImportance
	closeBtn := widget.NewButton("Close", c.confirmClose)

	// Where watched folders' files go sits beside Add files, Camera and Phone, the
	// other ways files arrive, without taking a row from the images.
	top := container.NewVBox(container.NewStack(c.heading, c.banner), widget.NewSeparator(),
		container.NewBorder(nil, nil, container.NewHBox(c.add, c.camera, c.phoneBtn), nil, c.routing))
	bottom := container.NewVBox(widget.NewSeparator(), c.summary,
		container.NewHBox(layout.NewSpacer(), c.retry, closeBtn, c.save))
	c.win.SetContent(container.NewBorder(top, bottom, nil, nil, container.NewVScroll(c.grid)))
	// Fits a 1366x768 laptop at 125% and a 1920x1080 screen at 150%.
	c.win.Resize(fyne.NewSize(820, 560))

	c.win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { c.Drop(uris) })
	c.win.Canvas().SetOnTypedKey(func(k *fyne.KeyEvent) {
		switch k.Name {
		case fyne.KeyReturn, fyne.KeyEnter:
			// Enter with nothing focused starts the field chain; it never saves.
			c.focusCard(0)
		case fyne.KeyEscape:
			c.confirmClose()
		}
	})
	for _, sc := range []*desktop.CustomShortcut{shortcutSave, shortcutSaveKeypad, shortcutAdd} {
		c.win.Canvas().AddShortcut(sc, func(s fyne.Shortcut) { c.shortcut(s) })
	}
	c.win.SetCloseIntercept(c.confirmClose)
	c.win.SetOnClosed(func() {
		c.closing = true
		a.forget(c)
		if !c.keepSession {
			go func() { _ = c.model.Close(context.Background()) }()
		}
	})
	c.refresh()
	return c
}

// confirmClose asks before a close would drop photos the GP has not saved: the agent
// discards a closed window's captures and drops.
func (c *CaptureWindow) confirmClose() {
	n := 0
	for _, it := range c.model.View().Items {
		if it.Editable() {
			n++
		}
	}
	if n == 0 || c.discard {
		c.win.Close()
		return
	}
	if c.confirm != nil {
		return
	}
	msg := "1 image has not been saved to Medtech. Close and discard it?"
	if n > 1 {
		msg = fmt.Sprintf("%d images have not been saved to Medtech. Close and discard them?", n)
	}
	c.confirm = dialog.NewConfirm("Close without saving?", msg, func(ok bool) {
		c.confirm = nil
		if ok {
			c.discard = true
			c.win.Close()
		}
	}, c.win)
	c.confirm.SetConfirmText("Discard and close")
	c.confirm.SetDismissText("Keep working")
	c.confirm.Show()
}

func (c *CaptureWindow) adopt(s localapi.Session) { c.model.Adopt(s) }

// Window is the Fyne window (tests and screenshots drive it).
func (c *CaptureWindow) Window() fyne.Window { return c.win }

// Model is the window's view model.
func (c *CaptureWindow) Model() *viewmodel.Capture { return c.model }

// shortcut runs a window shortcut; fields pass theirs here because a focused entry
// would otherwise swallow them.
func (c *CaptureWindow) shortcut(s fyne.Shortcut) bool {
	switch {
	case isShortcut(s, shortcutSave), isShortcut(s, shortcutSaveKeypad):
		c.Save()
	case isShortcut(s, shortcutAdd):
		if c.model.View().CanAdd {
			c.pick()
		}
	default:
		return false
	}
	return true
}

// focusCard puts the keyboard on card i's title, or on Save after the last card.
func (c *CaptureWindow) focusCard(i int) {
	if i >= 0 && i < len(c.order) {
		if k := c.cards[c.order[i]]; k != nil && !k.title.Disabled() {
			c.win.Canvas().Focus(k.title)
			return
		}
	}
	if !c.save.Disabled() {
		c.win.Canvas().Focus(c.save)
	}
}

// Save saves the staged items (the Save button, Ctrl+Enter).
func (c *CaptureWindow) Save() {
	if !c.model.View().CanSave {
		return
	}
	go func() { _ = c.model.Save(context.Background()) }()
}

// Drop stages files dropped from Explorer.
func (c *CaptureWindow) Drop(uris []fyne.URI) {
	var paths []string
	for _, u := range uris {
		if u.Scheme() == "file" {
			paths = append(paths, u.Path())
		}
	}
	// One goroutine, in order: the thumbnails appear in the order the GP selected them.
	go func() {
		for _, p := range paths {
			c.addPath(p)
		}
	}()
}

func (c *CaptureWindow) addPath(path string) {
	name := filepath.Base(path)
	if !accepted(name) {
		c.app.opt.Do(func() {
			c.notice(name + " is not a photo, scan or PDF: ClinicPro takes JPEG, PNG, TIFF, WebP and PDF files.")
		})
		return
	}
	f, err := os.Open(path)
	if err != nil {
		c.app.opt.Do(func() {
			c.notice(name + " could not be opened: check it is not still being copied, then add it again.")
		})
		return
	}
	defer f.Close()
	c.addReader(name, f)
}

func (c *CaptureWindow) addReader(name string, r io.Reader) {
	if err := c.model.Add(context.Background(), name, r); err != nil {
		c.app.opt.Do(c.refresh)
	}
}

func accepted(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range acceptedExt {
		if e == ext {
			return true
		}
	}
	return false
}

// notice shows a sentence in the summary line until the next change.
func (c *CaptureWindow) notice(s string) {
	c.summary.SetText(s)
	c.summary.Importance = widget.DangerImportance
	c.win.Content().Refresh()
}

// pick opens the multi-file picker (Add files, Ctrl+O) in the last folder used.
func (c *CaptureWindow) pick() {
	c.picker = showFilePicker(c.win, c.app.pickDir(), func(paths []string) {
		c.app.setPickDir(filepath.Dir(paths[0]))
		c.focusFrom = len(c.order)
		// One goroutine, in order: the cards appear in the folder's order.
		go func() {
			for _, p := range paths {
				c.addPath(p)
			}
		}()
	})
}

func (c *CaptureWindow) openCamera() {
	if err := c.app.opt.Camera.Open(); err != nil {
		c.notice(upperFirst(err.Error()) + ".")
		return
	}
	c.summary.SetText(c.model.View().Camera)
	c.summary.Importance = widget.MediumImportance
	c.win.Content().Refresh()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// refresh draws the view model's snapshot. Cards are kept per item so typing in a
// title is never interrupted by a redraw.
func (c *CaptureWindow) refresh() {
	if c.closing {
		return
	}
	v := c.model.View()
	phaseChanged := v.Phase != c.lastView.Phase
	c.lastView = v
	if phaseChanged {
		// A patient window appearing (or not) decides what Unassigned can offer.
		defer c.app.refreshUnassigned()
		defer c.app.refreshAttention()
	}
	if v.Phase == viewmodel.PhasePatient {
		c.heading.Hide()
		c.band.set(viewmodel.NewPatientBanner(v.Banner, c.app.opt.Now()))
		c.banner.Show()
	} else {
		c.banner.Hide()
		c.heading.SetText(v.Heading)
		c.heading.Importance = widget.MediumImportance
		if v.Error {
			c.heading.Importance = widget.DangerImportance
		}
		c.heading.Show()
		c.heading.Refresh()
	}
	c.routing.SetText(v.Routing)
	if v.Routing == "" {
		c.routing.Hide()
	} else {
		c.routing.Importance = widget.MediumImportance
		if v.RoutingHere {
			c.routing.Importance = widget.HighImportance
		}
		c.routing.Show()
		c.routing.Refresh()
	}
	setEnabled(c.add, v.CanAdd)
	setEnabled(c.camera, v.CanAdd)
	setEnabled(c.phoneBtn, v.CanAdd)
	setEnabled(c.save, v.CanSave)
	if v.CanRetry {
		c.retry.Show()
	} else {
		c.retry.Hide()
	}
	c.summary.SetText(v.Summary)
	c.summary.Importance = widget.MediumImportance
	if v.Error {
		c.summary.Importance = widget.DangerImportance
	} else if v.Summary == viewmodel.TextSaved {
		c.summary.Importance = widget.SuccessImportance
	}
	c.summary.Refresh()

	var ids []string
	for _, it := range v.Items {
		ids = append(ids, it.ID)
		card, ok := c.cards[it.ID]
		if !ok {
			card = newItemCard(c, it)
			c.cards[it.ID] = card
		}
		card.update(it)
	}
	if strings.Join(ids, ",") != strings.Join(c.order, ",") {
		defer c.chain()
		for id := range c.cards {
			if !contains(ids, id) {
				delete(c.cards, id)
			}
		}
		objs := make([]fyne.CanvasObject, 0, len(ids))
		for _, id := range ids {
			objs = append(objs, c.cards[id].box)
		}
		c.grid.Objects = objs
		c.order = ids
	}
	c.relayout()
	if c.focusFrom >= 0 && c.focusFrom < len(c.order) {
		c.focusCard(c.focusFrom)
		c.focusFrom = -1
	}
}

// relayout sizes the grid's cells to the tallest card (a card grows while its
// body-site list is open) and lays the window out again.
func (c *CaptureWindow) relayout() {
	h := float32(0)
	for _, o := range c.grid.Objects {
		h = max(h, o.MinSize().Height)
	}
	c.grid.Layout = layout.NewGridWrapLayout(fyne.NewSize(thumbSize.Width+16, h))
	c.win.Content().Refresh()
}

// chain links every card's fields for Enter: title, laterality, body site, then the
// next card's title, and Save after the last.
func (c *CaptureWindow) chain() {
	for i, id := range c.order {
		k := c.cards[id]
		next := i + 1
		k.title.next = func() { c.win.Canvas().Focus(k.lat) }
		k.lat.next = func() { c.win.Canvas().Focus(k.site) }
		k.site.next = func() { c.focusCard(next) }
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func setEnabled(w fyne.Disableable, on bool) {
	if on {
		w.Enable()
	} else {
		w.Disable()
	}
}

// itemCard is one thumbnail with its edits.
type itemCard struct {
	c        *CaptureWindow
	id       string
	img      *canvas.Image
	thumb    image.Image
	shown    int // rotation currently drawn
	shownCut localapi.Crop
	source   *widget.Label
	file     *widget.Label
	title    *fieldEntry
	lat      *fieldSelect
	site     *siteEntry
	rotate   *tipButton
	cropBtn  *tipButton
	enlarge  *tipButton
	remove   *tipButton
	status   *widget.Label
	box      fyne.CanvasObject
	updating bool
}

func newItemCard(c *CaptureWindow, it viewmodel.CaptureItem) *itemCard {
	k := &itemCard{c: c, id: it.ID}
	k.img = canvas.NewImageFromImage(image.NewNRGBA(image.Rect(0, 0, 4, 3)))
	k.img.FillMode = canvas.ImageFillContain
	k.img.SetMinSize(thumbSize)
	k.source = widget.NewLabel("")
	k.source.SizeName = theme.SizeNameCaptionText
	k.file = widget.NewLabelWithStyle(it.FileName, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	k.file.SizeName = theme.SizeNameCaptionText
	k.file.Truncation = fyne.TextTruncateEllipsis
	k.title = newFieldEntry("Title")
	k.title.shortcut = c.shortcut
	k.title.OnChanged = func(s string) {
		if !k.updating {
			c.model.SetTitle(k.id, s)
		}
	}
	labels := make([]string, len(viewmodel.Lateralities))
	for i, l := range viewmodel.Lateralities {
		labels[i] = l.Label
	}
	k.lat = newFieldSelect(labels, func(s string) {
		if !k.updating {
			c.model.SetLaterality(k.id, viewmodel.LateralityValue(s))
		}
	})
	k.lat.PlaceHolder = viewmodel.Lateralities[0].Label
	k.site = newSiteEntry()
	k.site.shortcut = c.shortcut
	k.site.OnChanged = func(s string) {
		if !k.updating {
			c.model.SetBodySite(k.id, s)
			k.site.search(s)
		}
	}
	k.site.pick = func(s api.BodySite) { c.model.PickBodySite(k.id, s) }
	k.site.resized = c.relayout
	k.rotate = newTipButton(viewmodel.LabelRotate, theme.ContentRedoIcon(), viewmodel.TipRotate, func() { c.model.Rotate(k.id) })
	k.cropBtn = newTipButton(viewmodel.LabelCrop, theme.ContentCutIcon(), viewmodel.TipCrop, func() { k.showCrop() })
	// Enlarge sits by the file name, icon and tip only (a click on the picture does
	// the same), so the card stays short enough for the fields below.
	k.enlarge = newTipButton("", theme.ZoomInIcon(), viewmodel.LabelEnlarge+": "+viewmodel.TipEnlarge, func() { k.showPreview() })
	k.remove = newTipButton("", theme.DeleteIcon(), viewmodel.TipRemove, func() {
		go func() { _ = c.model.Remove(context.Background(), k.id) }()
	})
	k.status = widget.NewLabel("")
	k.status.Wrapping = fyne.TextWrapWord
	img := newTappableImage(k.img, k.showPreview)
	k.box = widget.NewCard("", "", container.NewVBox(
		img,
		container.NewBorder(nil, nil, nil, container.NewHBox(k.enlarge, k.remove), container.NewVBox(k.file, k.source)),
		container.NewGridWithColumns(2, k.rotate, k.cropBtn),
		k.title, k.lat, k.site, k.site.list, k.status))
	go k.load()
	return k
}

// load fetches the thumbnail off the UI goroutine.
func (k *itemCard) load() {
	b, err := k.c.app.agent.Thumbnail(context.Background(), k.id)
	if err != nil {
		return
	}
	img, err := decodeThumb(b)
	if err != nil {
		return
	}
	k.c.app.opt.Do(func() {
		k.thumb = img
		k.shown = -1
		k.update(k.lastItem())
	})
}

func (k *itemCard) lastItem() viewmodel.CaptureItem {
	for _, it := range k.c.lastView.Items {
		if it.ID == k.id {
			return it
		}
	}
	return viewmodel.CaptureItem{ID: k.id}
}

func (k *itemCard) update(it viewmodel.CaptureItem) {
	k.updating = true
	defer func() { k.updating = false }()
	k.source.SetText(it.SourceLabel())
	if k.title.Text != it.Title {
		k.title.SetText(it.Title)
	}
	if k.site.Text != it.BodySite {
		k.site.typing = false
		k.site.SetText(it.BodySite)
		k.site.typing = true
	}
	if l := viewmodel.LateralityLabel(it.Laterality); k.lat.Selected != l {
		k.lat.SetSelected(l)
	}
	if k.thumb != nil && (k.shown != it.Rotation || k.shownCut != it.Crop) {
		k.img.Image = rotate(cropUpright(k.thumb, it.Crop), it.Rotation)
		k.img.Refresh()
		k.shown, k.shownCut = it.Rotation, it.Crop
	}
	editable := it.Editable()
	for _, w := range []fyne.Disableable{k.title, k.lat, k.site, k.rotate, k.cropBtn, k.remove} {
		setEnabled(w, editable)
	}
	if it.Earlier {
		k.remove.Hide()
	}
	text := it.Status.Label()
	// A parked item's reason is its own; a refused save's sentence is the same for
	// every item and already fills the summary line.
	if it.Status == viewmodel.ItemParked && it.Message != "" {
		text = fmt.Sprintf("%s: %s", text, it.Message)
	}
	k.status.SetText(text)
	k.status.Importance = widget.MediumImportance
	switch it.Status {
	case viewmodel.ItemSent:
		k.status.Importance = widget.SuccessImportance
	case viewmodel.ItemParked, viewmodel.ItemFailed:
		k.status.Importance = widget.DangerImportance
	}
	k.status.Refresh()
}
