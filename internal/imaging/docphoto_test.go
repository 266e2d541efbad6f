package imaging

import (
	"image"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/imaging/synth"
)

// paperTints are the papers the letter families are drawn on, as
// multipliers of white: white, yellowed, blue-grey, grey, pink, green-grey.
var paperTints = [][3]float64{{1, 1, 1}, {1, 0.96, 0.86}, {0.93, 0.96, 1}, {0.9, 0.9, 0.9}, {1, 0.93, 0.93}, {0.97, 1, 0.92}}

// letterFamily is the family the tests and BenchmarkDocumentDetection
// draw letter photos from: every paper tint, at the ends of the light and
// noise ranges (even light or 55% falloff, no noise or 9 levels), each with
// the tilt, perspective, fill, desk and light direction of its own seed, in
// landscape and portrait; then, for seeds past those, letters drawn at
// random; and small print (10 pt, 70 to 90 characters a line) at a phone
// camera's scale.
func letterFamily(n, small int) []synth.Letter {
	var out []synth.Letter
	for i := 0; i < n; i++ {
		seed := uint64(i + 1)
		w, h := 800, 600
		if i%2 == 1 {
			w, h = 600, 800
		}
		l := synth.RandomLetter(seed, w, h)
		if corner := i; corner < 4*len(paperTints) {
			l.Tint = paperTints[corner%len(paperTints)]
			l.Falloff = 0.55 * float64(corner/len(paperTints)%2)
			l.Noise = 9 * float64(corner/len(paperTints)/2)
		}
		out = append(out, l)
	}
	for i := 0; i < small; i++ {
		w, h := 1600, 1200
		if i%2 == 1 {
			w, h = 1200, 1600
		}
		l := synth.RandomLetter(uint64(100+i), w, h)
		l.Columns = 600 + 260*i/max(1, small-1)
		out = append(out, l)
	}
	return out
}

// Every member of the letter family is found as a document, with its
// page's corners where they were drawn.
func TestLetterPhotosAreFoundWhateverTheirTintLightOrNoise(t *testing.T) {
	for _, l := range letterFamily(4*len(paperTints), 2) {
		doc, q := findDocument(l.Draw())
		if !doc || q == nil {
			t.Errorf("%+v: not found as a document page", l)
			continue
		}
		want := l.Corners()
		tol := 0.025 * math.Hypot(float64(l.W), float64(l.H))
		for i := range 4 {
			if d := math.Hypot(q[i][0]-want[i][0], q[i][1]-want[i][1]); d > tol {
				t.Errorf("seed %d: corner %d at %.0f,%.0f, drawn at %.0f,%.0f", l.Seed, i, q[i][0], q[i][1], want[i][0], want[i][1])
			}
		}
	}
}

// No member of a family of clinical close-ups is a document: bare skin of
// any tone and light, skin with a plain white dressing (a bright
// quadrilateral with no ink), or with a small printed label.
func TestSkinPhotosAreNeverDocuments(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		for _, v := range []struct{ dressing, label bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
			m := synth.Skin(seed, 400, 300, v.dressing, v.label)
			if doc, _ := findDocument(m); doc {
				t.Errorf("seed %d dressing=%v label=%v: treated as a document", seed, v.dressing, v.label)
			}
		}
	}
}

// Nor is any member of the families of photos that have something of a
// page of text: a wound with a paper ruler beside it, hair on pale skin,
// a face against a pale wall, a dark wall with a switch plate, striped or
// checked cloth, pen marks round a lesion, moles or stubble
// (synth.NotDocuments), each in landscape and portrait.
func TestPhotosThatAreNotDocumentsNeverAre(t *testing.T) {
	for _, s := range synth.NotDocuments {
		for seed := uint64(1); seed <= 6; seed++ {
			w, h := 400, 300
			if seed%2 == 0 {
				w, h = 300, 400
			}
			if doc, _ := findDocument(s.Draw(seed, w, h)); doc {
				t.Errorf("%s, seed %d: treated as a document", s.Name, seed)
			}
		}
	}
}

// Small print (80 characters a line) on a page that fills a portrait
// frame: at the 512-px judging scale its lines run together and no line
// pitch shows, so the page is judged again at twice the size. These two
// were missed before that.
func TestSmallPrintFillingTheFrameIsFound(t *testing.T) {
	for _, c := range []struct {
		seed    uint64
		columns int
	}{{103, 652}, {105, 686}} {
		l := synth.RandomLetter(c.seed, 1200, 1600)
		l.Columns = c.columns
		if doc, q := findDocument(l.Draw()); !doc || q == nil {
			t.Errorf("seed %d, %d columns: not found as a document page", c.seed, c.columns)
		}
	}
}

// Cloth woven finer than the 512-px judging scale, photographed at a
// camera's size: sampled there its stripes break into dashes one pixel
// thick that repeat like lines of text, and it averages into grey. These
// seeds were judged documents (and would have been thresholded to black and
// white) before the page had to have few mid-tones and strokes both ways.
func TestFineClothIsNotADocument(t *testing.T) {
	var cloth synth.Scene
	for _, s := range synth.NotDocuments {
		if s.Name == "woven or striped fabric" {
			cloth = s
		}
	}
	for _, seed := range []uint64{2, 3, 13, 16} {
		w, h := 1600, 1200
		if seed%2 == 0 {
			w, h = 1200, 1600
		}
		if doc, _ := findDocument(cloth.Draw(seed, w, h)); doc {
			t.Errorf("cloth, seed %d at %dx%d: treated as a document", seed, w, h)
		}
	}
}

// Uneven light is flattened out of the page: on letters of every tint
// lit with a 45-55% falloff in any direction, the paper of the page as cut
// out and un-tilted differs by a quarter or more from one part of the page
// to another, and once flattened it is near white everywhere, with the
// text still dark.
func TestLetterPhotosComeOutFlat(t *testing.T) {
	for i, tint := range paperTints {
		seed := uint64(40 + i)
		w, h := 800, 600
		if i%2 == 1 {
			w, h = 600, 800
		}
		l := synth.RandomLetter(seed, w, h)
		l.Tint, l.Falloff = tint, 0.45+0.02*float64(i)
		m := l.Draw()
		doc, q := findDocument(m)
		if !doc || q == nil {
			t.Fatalf("seed %d: not found as a document page", seed)
		}
		pw, ph := pageSize(*q, documentMaxLongEdge)
		g := rectifyGray(m, *q, pw, ph)
		f := flattenGray(g)
		lo, hi := paperRange(g)
		if hi < 1.25*lo {
			t.Fatalf("seed %d: the photographed paper ranges only %.0f..%.0f: the test's light is not uneven", seed, lo, hi)
		}
		flo, fhi := paperRange(f)
		if flo < 225 || fhi-flo > 20 {
			t.Errorf("seed %d: flattened paper ranges %.0f..%.0f, want near white everywhere", seed, flo, fhi)
		}
		t.Logf("seed %d: paper %.0f..%.0f as photographed, %.0f..%.0f flattened", seed, lo, hi, flo, fhi)
		dark := 0
		for _, v := range f.Pix {
			if v < 100 {
				dark++
			}
		}
		if frac := float64(dark) / float64(len(f.Pix)); frac < 0.01 || frac > 0.3 {
			t.Errorf("seed %d: %.1f%% of the flattened page is ink", seed, 100*frac)
		}
	}
}

// paperRange returns the lowest and highest paper level of g's 6 x 8
// cells, a cell's paper level being its 90th percentile (text never
// covers a tenth of a cell).
func paperRange(g *image.Gray) (lo, hi float64) {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	lo = 255
	for cy := range 8 {
		for cx := range 6 {
			var v []int
			for y := h * cy / 8; y < h*(cy+1)/8; y++ {
				for x := w * cx / 6; x < w*(cx+1)/6; x++ {
					v = append(v, int(g.Pix[y*g.Stride+x]))
				}
			}
			sort.Ints(v)
			p := float64(v[len(v)*9/10])
			lo, hi = min(lo, p), max(hi, p)
		}
	}
	return lo, hi
}

// The pair: two photos of the same letter that differ only in
// paper tint and noise must come out the same way (one was a clean 35 kB
// bilevel page, the other a 952 kB JPEG); and so must two more pairs on
// other papers under other light.
func TestTwinLetterPhotosComeOutAlike(t *testing.T) {
	for _, pair := range []struct {
		seed    uint64
		w, h    int
		tint    [3]float64
		falloff float64
	}{
		{11, 1600, 1200, [3]float64{1, 0.95, 0.82}, -1},
		{12, 1200, 900, [3]float64{0.93, 0.96, 1}, 0.5},
		{13, 900, 1200, [3]float64{0.9, 0.9, 0.9}, 0.3},
	} {
		a := synth.RandomLetter(pair.seed, pair.w, pair.h)
		if pair.falloff >= 0 {
			a.Falloff = pair.falloff
		}
		b := a
		a.Tint, a.Noise = [3]float64{1, 1, 1}, 1
		b.Tint, b.Noise = pair.tint, 8
		var dims [][2]int
		for _, l := range []synth.Letter{a, b} {
			j := jpegWithExif(t, l.Draw(), 0, false)
			r := convert(t, j, Options{})
			if r.Kind != KindDocument {
				t.Fatalf("seed %d tint %v noise %.0f: %v %s, want a document", l.Seed, l.Tint, l.Noise, r.Kind, r.Encoding)
			}
			// The page was cut out of the desk: its aspect is the paper's.
			if a := float64(r.Height) / float64(r.Width); a < 1.3 || a > 1.53 {
				t.Errorf("seed %d: page is %dx%d, not A4-shaped", l.Seed, r.Width, r.Height)
			}
			dims = append(dims, [2]int{r.Width, r.Height})
		}
		if d := math.Abs(float64(dims[0][0]-dims[1][0])) / float64(dims[0][0]); d > 0.02 {
			t.Errorf("seed %d: twin photos became pages of %v and %v", pair.seed, dims[0], dims[1])
		}
	}
}

// Nor is a family of photos with almost no colour: concrete or fabric
// under uneven light, bare or with a blank pale card on it.
func TestGreyPhotosAreNeverDocuments(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		for _, sign := range []bool{false, true} {
			if doc, _ := findDocument(synth.Grey(seed, 400, 300, sign)); doc {
				t.Errorf("seed %d sign=%v: treated as a document", seed, sign)
			}
		}
	}
}

// BenchmarkDocumentDetection runs the wide families the tests sample: 120
// letter photos and 16 of small print, and 60 of every kind of photo that
// is not a document (synth.NotDocuments, plus skin with a dressing or a
// label and low-colour walls or cloth with a blank card). It fails on any
// member judged wrongly, and reports the time per detection.
//
//	go test -run '^$' -bench DocumentDetection -benchtime 1x ./internal/imaging/
func BenchmarkDocumentDetection(b *testing.B) {
	type member struct {
		name string
		m    image.Image
		doc  bool
	}
	var all []member
	for _, l := range letterFamily(120, 16) {
		all = append(all, member{"letter", l.Draw(), true})
	}
	for _, s := range synth.NotDocuments {
		for seed := uint64(1); seed <= 60; seed++ {
			all = append(all, member{s.Name, s.Draw(seed, 400, 300), false})
		}
	}
	// And at a size where fine detail falls below the judging scale.
	for _, s := range synth.NotDocuments {
		for seed := uint64(1); seed <= 8; seed++ {
			w, h := 1600, 1200
			if seed%2 == 0 {
				w, h = 1200, 1600
			}
			all = append(all, member{s.Name + " (1600 px)", s.Draw(seed, w, h), false})
		}
	}
	for seed := uint64(1); seed <= 60; seed++ {
		all = append(all, member{"skin", synth.Skin(seed, 400, 300, seed%2 == 0, seed%3 == 0), false})
		all = append(all, member{"grey", synth.Grey(seed, 400, 300, seed%2 == 0), false})
	}
	b.ResetTimer()
	var took time.Duration
	for b.Loop() {
		wrong := map[string]int{}
		start := time.Now()
		for _, c := range all {
			if doc, _ := findDocument(c.m); doc != c.doc {
				wrong[c.name]++
			}
		}
		took = time.Since(start)
		for name, n := range wrong {
			b.Errorf("%s: %d judged wrongly", name, n)
		}
	}
	b.ReportMetric(float64(len(all)), "photos")
	b.ReportMetric(float64(took.Milliseconds())/float64(len(all)), "ms/photo")
}
