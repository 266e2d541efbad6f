// Package hostile is the hostile corpus of a watched folder: what an attacker (or an
// accident) can drop into one, each with what the agent must do with it. It is the
// folder's own attacks (links, a FIFO, hostile names, empty, truncated and misnamed
// files) plus every attack on the converter from internal/imaging/hostile (decoded-
// pixel bombs, active PDFs, polyglots), so the two corpora are one list. It is
// generated, not committed (a few seconds), and a test in cmd/clinicpro drops each
// case into a folder watched by the real agent binary.
package hostile

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"

	imaginghostile "github.com/clinicpro/medtech-images/internal/imaging/hostile"
)

// Kind is what is put in the folder.
type Kind int

const (
	File       Kind = iota // a regular file with Data
	Symlink                // a symbolic link to a file outside the folder
	FolderLink             // a patient folder that is a link to a folder outside
	FIFO                   // a named pipe
)

// Outcome is how the agent must end with a case.
type Outcome int

const (
	// Refused: never read; the watched folder's health names it with Reason.
	Refused Outcome = iota
	// Parked: taken, and parked with a reason containing Reason; the original stays.
	Parked
	// Sent: sent to Medtech; the original moves to Sent.
	Sent
)

// Case is one entry of the corpus.
type Case struct {
	ID     string // short and stable, for test names and docs
	Name   string // the name dropped into the folder; may hold control characters or invalid UTF-8
	Kind   Kind
	Data   func() []byte // content, for File
	Want   Outcome
	Reason string // expected in the park reason or the folder's health (case-insensitive)
	// Decode marks the decoded-pixel bombs and active PDFs, whose defences are
	// internal/imaging's.
	Decode bool
	Threat string // one line, for docs/security.md
}

// Marker is in every file placed outside the watched folder: it must never reach
// Medtech.
const Marker = "outside-the-watched-folder"

// Cases is the whole corpus, in a stable order.
func Cases() []Case {
	photo := func() []byte { return Photo(1) }
	cases := []Case{
		{ID: "symlink-outside", Name: "ZZZ0016 link.jpg", Kind: Symlink, Want: Refused, Reason: "symbolic link",
			Threat: "A symbolic link to a file outside the folder (a root-only image)"},
		{ID: "folder-link", Name: "ZZZ0024", Kind: FolderLink, Want: Refused, Reason: "symbolic link",
			Threat: "A patient sub-folder that is a link to an outside folder"},
		{ID: "fifo", Name: "ZZZ0016 pipe.jpg", Kind: FIFO, Want: Refused, Reason: "FIFO",
			Threat: "A FIFO, whose open blocks for ever without O_NONBLOCK"},
		{ID: "name-control", Name: "ZZZ0016 bell\a\x1b[31mred\x7f.jpg", Data: photo, Want: Sent,
			Threat: "A name with control characters and a terminal escape"},
		{ID: "name-bidi", Name: "ZZZ0016 \u202egpj.exe\u202c.jpg", Data: func() []byte { return Photo(2) }, Want: Sent,
			Threat: "A name with bidi overrides (RLO) that disguise the extension"},
		{ID: "name-invalid-utf8", Name: "ZZZ0016 \xff\xfe\xc3(.jpg", Data: func() []byte { return Photo(3) }, Want: Sent,
			Threat: "A name that is not valid UTF-8"},
		{ID: "name-242", Name: "ZZZ0016 " + strings.Repeat("a long name ", 19) + "lo.jpg", Data: func() []byte { return Photo(4) }, Want: Sent,
			Threat: "A 242-character name"},
		{ID: "empty", Name: "ZZZ0016 empty.jpg", Data: func() []byte { return nil }, Want: Parked, Reason: "empty",
			Threat: "An empty file"},
		{ID: "truncated-jpeg", Name: "ZZZ0016 truncated.jpg", Data: func() []byte { b := Photo(5); return b[:len(b)/3] }, Want: Parked, Reason: "cut short",
			Threat: "A JPEG cut short"},
		{ID: "wrong-extension", Name: "ZZZ0016 letter.jpg", Data: func() []byte { return []byte("Dear Doctor, a letter typed in Notepad and saved as .jpg.") }, Want: Parked,
			Threat: "A text file named .jpg"},
		{ID: "image-named-pdf", Name: "ZZZ0016 photo.pdf", Data: func() []byte { return Photo(6) }, Want: Sent,
			Threat: "A JPEG named .pdf (content, not the extension, decides)"},
	}
	for _, f := range imaginghostile.Corpus() {
		data := f.Data
		cases = append(cases, Case{ID: strings.TrimSuffix(f.Name, filepath.Ext(f.Name)), Name: "ZZZ0016 " + f.Name,
			Data: func() []byte { return data }, Want: Parked, Reason: f.Says, Decode: true,
			Threat: "internal/imaging/hostile " + f.Name + " (" + f.Refusal + ")"})
	}
	return cases
}

// Write puts c into dir; links point into outside, which Write fills with files
// holding Marker. It returns the path it made.
func Write(dir, outside string, c Case) (string, error) {
	p := filepath.Join(dir, c.Name)
	switch c.Kind {
	case Symlink:
		target := filepath.Join(outside, "secret.jpg")
		if err := os.WriteFile(target, Secret(), 0o600); err != nil {
			return "", err
		}
		return p, os.Symlink(target, p)
	case FolderLink:
		target := filepath.Join(outside, "patient")
		if err := os.MkdirAll(target, 0o700); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(target, "secret.jpg"), Secret(), 0o600); err != nil {
			return "", err
		}
		return p, os.Symlink(target, p)
	case FIFO:
		return p, mkfifo(p)
	}
	return p, os.WriteFile(p, c.Data(), 0o644)
}

// Photo is a small valid JPEG, distinct for each seed.
func Photo(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 120))
	for y := 0; y < 120; y++ {
		for x := 0; x < 160; x++ {
			img.Set(x, y, color.RGBA{uint8(x + seed*40), uint8(y * 2), uint8(seed * 60), 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 80})
	return b.Bytes()
}

// Secret is a valid JPEG that stands for a file only root may read: its comment
// holds Marker.
func Secret() []byte {
	b := Photo(9)
	com := append([]byte{0xFF, 0xFE, 0, byte(2 + len(Marker))}, Marker...)
	return append(append(append([]byte{}, b[:2]...), com...), b[2:]...)
}
