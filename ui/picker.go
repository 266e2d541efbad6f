package ui

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// filePicker chooses several photos or scans at once (Fyne's own file dialog picks
// one). It lists one folder: its subfolders, then the files ClinicPro takes. Keyboard:
// Up and Down move, Space ticks a file, Ctrl+A ticks every file, Enter opens a folder
// or adds the ticked files, Backspace goes up a folder, Escape cancels.
type filePicker struct {
	dir     string
	entries []pickEntry
	ticked  map[string]bool
	list    *pickList
	where   *widget.Label
	count   *widget.Label
	dlg     *dialog.CustomDialog
	add     *widget.Button
	done    func(paths []string)
}

type pickEntry struct {
	name string
	dir  bool
}

// pickList is the picker's list with its keys.
type pickList struct {
	widget.List
	p *filePicker
}

func (l *pickList) TypedKey(k *fyne.KeyEvent) {
	switch k.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		l.p.enter()
	case fyne.KeyBackspace:
		l.p.open(filepath.Dir(l.p.dir))
	case fyne.KeyEscape:
		l.p.dlg.Hide()
	default:
		l.List.TypedKey(k)
	}
}

func (l *pickList) TypedShortcut(s fyne.Shortcut) {
	// The desktop driver sends Ctrl+A as fyne.ShortcutSelectAll.
	if _, all := s.(*fyne.ShortcutSelectAll); all || isShortcut(s, shortcutSelectAll) {
		l.p.tickAll()
	}
}

// showFilePicker opens the picker on dir over win; done gets the ticked paths.
func showFilePicker(win fyne.Window, dir string, done func([]string)) *filePicker {
	p := &filePicker{ticked: map[string]bool{}, done: done}
	p.where = widget.NewLabel("")
	p.where.Truncation = fyne.TextTruncateEllipsis
	p.count = widget.NewLabel("")
	p.list = &pickList{p: p}
	p.list.Length = func() int { return len(p.entries) }
	p.list.CreateItem = func() fyne.CanvasObject {
		return container.NewHBox(widget.NewIcon(theme.CheckButtonIcon()), widget.NewLabel(""))
	}
	p.list.UpdateItem = func(id widget.ListItemID, o fyne.CanvasObject) {
		row := o.(*fyne.Container)
		icon, label := row.Objects[0].(*widget.Icon), row.Objects[1].(*widget.Label)
		e := p.entries[id]
		label.SetText(e.name)
		switch {
		case e.dir:
			icon.SetResource(theme.FolderIcon())
		case p.ticked[e.name]:
			icon.SetResource(theme.CheckButtonCheckedIcon())
		default:
			icon.SetResource(theme.CheckButtonIcon())
		}
	}
	p.list.OnSelected = func(id widget.ListItemID) {
		// Selecting is ticking: the list keeps no selection of its own.
		p.list.UnselectAll()
		if id < len(p.entries) {
			if e := p.entries[id]; e.dir {
				p.open(filepath.Join(p.dir, e.name))
			} else {
				p.toggle(e.name)
			}
		}
	}
	p.list.ExtendBaseWidget(p.list)
	up := widget.NewButtonWithIcon("Up", theme.MoveUpIcon(), func() { p.open(filepath.Dir(p.dir)) })
	all := widget.NewButton("Tick all", p.tickAll)
	p.add = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), p.finish)
	p.add.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { p.dlg.Hide() })
	hint := widget.NewLabel("Space ticks a file, Ctrl+A ticks all, Enter adds them.")
	hint.SizeName = theme.SizeNameCaptionText
	top := container.NewBorder(nil, nil, up, all, p.where)
	bottom := container.NewVBox(hint, container.NewBorder(nil, nil, p.count, container.NewHBox(cancel, p.add)))
	content := container.NewBorder(top, bottom, nil, nil, p.list)
	p.dlg = dialog.NewCustomWithoutButtons("Add files", content, win)
	p.dlg.Resize(fyne.NewSize(560, 420))
	p.open(dir)
	p.dlg.Show()
	win.Canvas().Focus(p.list)
	return p
}

func (p *filePicker) open(dir string) {
	p.dir, p.entries, p.ticked = dir, nil, map[string]bool{}
	des, err := os.ReadDir(dir)
	if err != nil {
		p.where.SetText(dir + ": cannot be read")
	} else {
		p.where.SetText(dir)
	}
	var dirs, files []pickEntry
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if de.IsDir() {
			dirs = append(dirs, pickEntry{name: name, dir: true})
		} else if accepted(name) {
			files = append(files, pickEntry{name: name})
		}
	}
	// Files first: the folder a GP opens is usually the one with the photos.
	p.entries = append(files, dirs...)
	p.list.Refresh()
	if len(p.entries) > 0 {
		p.list.ScrollToTop()
	}
	p.update()
}

func (p *filePicker) toggle(name string) {
	p.ticked[name] = !p.ticked[name]
	p.list.Refresh()
	p.update()
}

func (p *filePicker) tickAll() {
	for _, e := range p.entries {
		if !e.dir {
			p.ticked[e.name] = true
		}
	}
	p.list.Refresh()
	p.update()
}

// Ticked is the ticked files' paths, in the folder's order.
func (p *filePicker) Ticked() []string {
	var out []string
	for _, e := range p.entries {
		if !e.dir && p.ticked[e.name] {
			out = append(out, filepath.Join(p.dir, e.name))
		}
	}
	return out
}

func (p *filePicker) update() {
	n := len(p.Ticked())
	switch n {
	case 0:
		p.count.SetText("No files ticked")
		p.add.Disable()
	case 1:
		p.count.SetText("1 file ticked")
		p.add.Enable()
	default:
		p.count.SetText(strconv.Itoa(n) + " files ticked")
		p.add.Enable()
	}
}

// enter is the Enter key: add what is ticked (Space on a folder opens it).
func (p *filePicker) enter() { p.finish() }

func (p *filePicker) finish() {
	paths := p.Ticked()
	if len(paths) == 0 {
		return
	}
	p.dlg.Hide()
	p.done(paths)
}
