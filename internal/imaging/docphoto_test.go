package imaging

import (
	"math"
	"testing"

	"github.com/clinicpro/medtech-images/internal/imaging/synth"
)

// Every member of a family of letter photos (paper from white to yellowed
// or blue-grey, light from even to 55% falloff, noise from none to heavy,
// tilted, in perspective, landscape or portrait) is found as a document,
// with its page's corners where they were drawn.
func TestLetterPhotosAreFoundWhateverTheirTintLightOrNoise(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		w, h := 800, 600
		if seed%2 == 0 {
			w, h = 600, 800
		}
		l := synth.RandomLetter(seed, w, h)
		m := l.Draw()
		doc, q := findDocument(m)
		if !doc || q == nil {
			t.Errorf("seed %d (%+v): not found as a document page", seed, l)
			continue
		}
		want := l.Corners()
		tol := 0.025 * math.Hypot(float64(w), float64(h))
		for i := range 4 {
			if d := math.Hypot(q[i][0]-want[i][0], q[i][1]-want[i][1]); d > tol {
				t.Errorf("seed %d: corner %d at %.0f,%.0f, drawn at %.0f,%.0f", seed, i, q[i][0], q[i][1], want[i][0], want[i][1])
			}
		}
	}
}

// No member of a family of clinical close-ups is a document: bare skin of
// any tone and light, skin with a plain white dressing (a bright
// quadrilateral with no ink), or with a small printed label.
func TestSkinPhotosAreNeverDocuments(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		for _, v := range []struct{ dressing, label bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
			m := synth.Skin(seed, 400, 300, v.dressing, v.label)
			if doc, _ := findDocument(m); doc {
				t.Errorf("seed %d dressing=%v label=%v: treated as a document", seed, v.dressing, v.label)
			}
		}
	}
}

// The pair: two photos of the same letter that differ only in
// paper tint and noise must come out the same way (one was a clean 35 kB
// bilevel page, the other a 952 kB JPEG).
func TestTwinLetterPhotosComeOutAlike(t *testing.T) {
	a := synth.RandomLetter(11, 1600, 1200)
	b := a
	a.Tint, a.Noise = [3]float64{1, 1, 1}, 1
	b.Tint, b.Noise = [3]float64{1, 0.95, 0.82}, 8
	var dims [][2]int
	for _, l := range []synth.Letter{a, b} {
		j := jpegWithExif(t, l.Draw(), 0, false)
		r := convert(t, j, Options{})
		if r.Kind != KindDocument {
			t.Fatalf("tint %v noise %.0f: %v %s, want a document", l.Tint, l.Noise, r.Kind, r.Encoding)
		}
		// The page was cut out of the desk: its aspect is the paper's.
		if a := float64(r.Height) / float64(r.Width); a < 1.3 || a > 1.53 {
			t.Errorf("page is %dx%d, not A4-shaped", r.Width, r.Height)
		}
		dims = append(dims, [2]int{r.Width, r.Height})
	}
	if d := math.Abs(float64(dims[0][0]-dims[1][0])) / float64(dims[0][0]); d > 0.02 {
		t.Errorf("twin photos became pages of %v and %v", dims[0], dims[1])
	}
}

// Nor is a family of photos with almost no colour: concrete or fabric
// under uneven light, bare or with a blank pale card on it.
func TestGreyPhotosAreNeverDocuments(t *testing.T) {
	for seed := uint64(1); seed <= 16; seed++ {
		for _, sign := range []bool{false, true} {
			if doc, _ := findDocument(synth.Grey(seed, 400, 300, sign)); doc {
				t.Errorf("seed %d sign=%v: treated as a document", seed, sign)
			}
		}
	}
}
