//go:build !windows

package demo

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/phonepage"
	"github.com/clinicpro/medtech-images/internal/relay/sqlitedb"
	"github.com/clinicpro/medtech-images/internal/testutil/browser"
)

// phoneMarker is written into the test photos' EXIF Make field: finding it anywhere
// after the phone page would mean camera data survived.
const phoneMarker = "ClinicProPhoneTest"

// cameraJPEG is what a phone's camera writes: the pixels stored w×h sideways with
// EXIF orientation 6 (shown h×w, upright), a DateTimeOriginal, a GPS position and
// phoneMarker. noise makes it big, as a 12 MP photo is.
func cameraJPEG(t testing.TB, w, h int, taken string, noise bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			// The left third is red in storage: after orientation 6 it is at the top.
			c := color.RGBA{40, 120, 200, 255}
			if x < w/3 {
				c = color.RGBA{220, 30, 30, 255}
			}
			if noise {
				c.G = uint8(r.IntN(256))
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	exif := exifBlock(taken)
	app1 := []byte{0xFF, 0xE1, byte((len(exif) + 2) >> 8), byte(len(exif) + 2)}
	out := append([]byte{0xFF, 0xD8}, app1...)
	out = append(out, exif...)
	return append(out, b.Bytes()[2:]...)
}

// exifBlock: IFD0 with Make, Orientation 6, the Exif IFD (DateTimeOriginal) and a
// GPS IFD (latitude reference and latitude).
func exifBlock(taken string) []byte {
	be := binary.BigEndian
	t := []byte("MM\x00\x2a\x00\x00\x00\x08")
	entry := func(tag, typ uint16, count uint32, val []byte) {
		t = be.AppendUint16(t, tag)
		t = be.AppendUint16(t, typ)
		t = be.AppendUint32(t, count)
		t = append(t, val...)
	}
	u32 := func(v int) []byte { return be.AppendUint32(nil, uint32(v)) }
	mk := phoneMarker + "\x00"
	dt := strings.NewReplacer("-", ":", "T", " ").Replace(taken) + "\x00"
	ifd0 := 8
	ifd0Len := 2 + 4*12 + 4
	mkOff := ifd0 + ifd0Len
	exifOff := mkOff + len(mk) + len(mk)%2
	exifLen := 2 + 12 + 4
	dtOff := exifOff + exifLen
	gpsOff := dtOff + len(dt) + len(dt)%2
	t = be.AppendUint16(t, 4)
	entry(0x010F, 2, uint32(len(mk)), u32(mkOff))
	entry(0x0112, 3, 1, []byte{0, 6, 0, 0})
	entry(0x8769, 4, 1, u32(exifOff))
	entry(0x8825, 4, 1, u32(gpsOff))
	t = be.AppendUint32(t, 0)
	t = append(t, mk...)
	for len(t) < exifOff {
		t = append(t, 0)
	}
	t = be.AppendUint16(t, 1)
	entry(0x9003, 2, uint32(len(dt)), u32(dtOff))
	t = be.AppendUint32(t, 0)
	t = append(t, dt...)
	for len(t) < gpsOff {
		t = append(t, 0)
	}
	t = be.AppendUint16(t, 2)
	entry(0x0001, 2, 2, []byte{'S', 0, 0, 0})
	entry(0x0000, 1, 4, []byte{2, 3, 0, 0})
	t = be.AppendUint32(t, 0)
	return append([]byte("Exif\x00\x00"), t...)
}

// phoneItems collects the staged phone items the agent announces, per session.
type phoneItems struct {
	mu    sync.Mutex
	items map[string]map[string]localapi.Item
}

func watchPhoneItems(t *testing.T, d *Demo) *phoneItems {
	c := d.Agent()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); c.Close() })
	events, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := &phoneItems{items: map[string]map[string]localapi.Item{}}
	go func() {
		for ev := range events {
			if ev.Type == localapi.EventItem && ev.Item.Source == "phone" && ev.Item.State == localapi.StateStaged {
				p.mu.Lock()
				if p.items[ev.Item.SessionID] == nil {
					p.items[ev.Item.SessionID] = map[string]localapi.Item{}
				}
				p.items[ev.Item.SessionID][ev.Item.ID] = *ev.Item
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *phoneItems) of(session string) []localapi.Item {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []localapi.Item
	for _, it := range p.items[session] {
		out = append(out, it)
	}
	return out
}

func writeFiles(t *testing.T, files map[string][]byte) []string {
	dir := t.TempDir()
	var paths []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func count(state string) string {
	return fmt.Sprintf(`document.querySelectorAll('li[data-state=%q]').length`, state)
}

func waitCount(t *testing.T, tab context.Context, state string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](count(state)+` >= `+fmt.Sprint(n), chromedp.WithPollingTimeout(3*time.Minute))); err != nil {
		states, _ := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('li')].map(l => l.dataset.state + ': ' + l.innerText)`))
		t.Fatalf("waiting for %d photos %s: %v (page: %q)", n, state, err, states)
	}
}

func sendPhotos(t *testing.T, tab context.Context, paths []string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.SetUploadFiles(chromedp.CSS("#files"), paths)); err != nil {
		t.Fatal(err)
	}
	waitCount(t, tab, "ready", len(paths))
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("#send"))); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, tab context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The phone page in a real Chromium as a phone: photos taken, sent, ticked; in the
// capture session; saved once each to Medtech, with no EXIF or GPS anywhere after
// the page. Then the faults.
func TestPhoneCapture(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the whole product with a browser")
	}
	tab0 := browser.Phone(t) // skips without Chromium before the product is built
	d := startDemo(t, nil)
	items := watchPhoneItems(t, d)
	ctx := context.Background()
	agent := d.Agent()
	defer agent.Close()

	t.Run("PhotosReachTheWindowAndMedtechOnce", func(t *testing.T) {
		s, ps, err := d.PhoneLink(ctx, "ZZZ0016")
		if err != nil {
			t.Fatal(err)
		}
		tab := tab0
		if err := chromedp.Do(tab, chromedp.Navigate(ps.URL)); err != nil {
			t.Fatal(err)
		}
		if w := text(t, tab, "#word"); w != ps.Word {
			t.Fatalf("the page shows match word %q, the window %q", w, ps.Word)
		}
		if p := text(t, tab, "#practice"); p != "Demo practice" {
			t.Fatalf("practice %q", p)
		}
		if loc, _ := chromedp.Run(tab, chromedp.Evaluate[string](`location.pathname`)); loc != "/m/" {
			t.Fatalf("the spent link stays in the address bar: %q", loc)
		}
		taken := []string{"2024-05-01T10:11:12", "2024-05-01T10:12:13", "2024-05-02T08:00:00"}
		paths := writeFiles(t, map[string][]byte{
			"IMG_0001.JPG": cameraJPEG(t, 600, 400, taken[0], false),
			"IMG_0002.JPG": cameraJPEG(t, 480, 320, taken[1], false),
			// Past 4032 px on its long edge: the page scales it down.
			"IMG_0003.JPG": cameraJPEG(t, 4600, 240, taken[2], false),
		})
		sendPhotos(t, tab, paths)
		waitCount(t, tab, "delivered", 3)
		if ticks := text(t, tab, "#list"); strings.Count(ticks, "✓ On the PC") != 3 {
			t.Fatalf("ticks: %q", ticks)
		}
		waitFor(t, "three phone items in the window", func() bool { return len(items.of(s.ID)) == 3 })
		var edits []localapi.ItemEdit
		seen := map[string]bool{}
		for i, it := range items.of(s.ID) {
			seen[it.Taken.Format("2006-01-02T15:04:05")] = true
			b := spoolFile(t, d, it.ID)
			checkNoCameraData(t, b)
			c, err := jpeg.DecodeConfig(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s is not a JPEG: %v", it.FileName, err)
			}
			if c.Height <= c.Width || c.Height > 4032 {
				t.Errorf("%s is %d×%d: not upright, or over 4032 px", it.FileName, c.Width, c.Height)
			}
			if c.Height == 4032 {
				img, _ := jpeg.Decode(bytes.NewReader(b))
				if r, _, _, _ := img.At(c.Width/2, 10).RGBA(); r>>8 < 150 {
					t.Errorf("the tall photo's top is not red: orientation was not applied")
				}
			}
			edits = append(edits, localapi.ItemEdit{ID: it.ID, Title: fmt.Sprintf("Phone test %d", i+1), Laterality: api.LateralityLeft})
		}
		for _, tk := range taken {
			if !seen[tk] {
				t.Errorf("no item was taken at %s (DateTimeOriginal lost): %v", tk, seen)
			}
		}
		if _, err := agent.Save(ctx, s.ID, localapi.SaveRequest{Items: edits}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the three photos in alexsim", func() bool {
			n := 0
			for _, doc := range documents(t, d) {
				if strings.HasPrefix(doc.Title, "Phone test ") {
					n++
				}
			}
			return n >= 3
		})
		docs := byTitle(t, documents(t, d)) // fails on a title stored twice
		for i := 1; i <= 3; i++ {
			doc, ok := docs[fmt.Sprintf("Phone test %d", i)]
			if !ok {
				t.Fatalf("Phone test %d not stored", i)
			}
			b := content(t, d, doc.ID)
			if bytes.Contains(b, []byte(phoneMarker)) {
				t.Errorf("%s: camera data reached Medtech", doc.Title)
			}
			if _, tags, err := readTIFF(b); err == nil {
				if _, ok := tags[34853]; ok {
					t.Errorf("%s: a GPS IFD reached Medtech", doc.Title)
				}
				if _, ok := tags[34665]; ok {
					t.Errorf("%s: an Exif IFD reached Medtech", doc.Title)
				}
			}
		}
		// The window saved: the phone is told at once.
		waitFor(t, "the page to say the code ended", func() bool {
			s, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('ended').hidden ? '' : document.getElementById('ended-title').textContent`))
			return s == "This code has ended"
		})

		// Page weight and origins, as the phone loaded them.
		type entry struct {
			Name string  `json:"name"`
			Size float64 `json:"size"`
		}
		es, err := chromedp.Run(tab, chromedp.Evaluate[[]entry](`performance.getEntries().filter(e => e.entryType === 'navigation' || e.entryType === 'resource').map(e => ({name: e.name, size: e.encodedBodySize}))`))
		if err != nil {
			t.Fatal(err)
		}
		var total float64
		for _, e := range es {
			if !strings.HasPrefix(e.Name, d.RelayURL+"/") {
				t.Errorf("the page loaded %s from elsewhere", e.Name)
			}
			if !strings.Contains(e.Name, "/m/api/") {
				total += e.Size
			}
		}
		t.Logf("page weight: %.0f bytes over %d requests (HTML, script, style sheet)", total, len(es))
		if total == 0 || total > 60<<10 {
			t.Errorf("page weight %.0f bytes, budget 60 KB", total)
		}
		if w := phonepage.Weight(phonepage.Data{Practice: strings.Repeat("W", 200), Word: "walnut 99"}); w > 60<<10 {
			t.Errorf("the page with a 200-character practice name weighs %d bytes", w)
		}
	})

	t.Run("NetworkDropMidUploadResumes", func(t *testing.T) {
		s, ps, err := d.PhoneLink(ctx, "ZZZ0016")
		if err != nil {
			t.Fatal(err)
		}
		px := newCutter(t, strings.TrimPrefix(d.RelayURL, "http://"), 2<<20)
		tab := browser.Phone(t)
		url := strings.Replace(ps.URL, d.RelayURL, "http://"+px.addr, 1)
		if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
			t.Fatal(err)
		}
		// A noisy 12 MP photo: several pieces, so the cut falls inside it.
		sendPhotos(t, tab, writeFiles(t, map[string][]byte{"IMG_0100.JPG": cameraJPEG(t, 4000, 3000, "2024-06-01T12:00:00", true)}))
		waitCount(t, tab, "delivered", 1)
		size, _ := chromedp.Run(tab, chromedp.Evaluate[float64](`+document.querySelector('li').dataset.size`))
		if !px.cut.Load() {
			t.Fatal("the connection was never cut")
		}
		up := px.up.Load()
		t.Logf("photo %.0f bytes; %d bytes sent through the cut connection", size, up)
		// Resumed, it sends at most the piece the cut lost again; from the start, it
		// would send the 2 MB before the cut again.
		if float64(up) > size+float64(1<<20)+256<<10 {
			t.Errorf("%d bytes sent for a %.0f byte photo: the upload started over instead of resuming", up, size)
		}
		waitFor(t, "the photo in the window", func() bool { return len(items.of(s.ID)) == 1 })
	})

	t.Run("RelayRestartsBetweenUploadAndDownload", func(t *testing.T) {
		s, ps, err := d.PhoneLink(ctx, "ZZZ0016")
		if err != nil {
			t.Fatal(err)
		}
		tab := browser.Phone(t)
		if err := chromedp.Do(tab, chromedp.Navigate(ps.URL)); err != nil {
			t.Fatal(err)
		}
		// The PC does not take it yet (the agent is held still), the relay dies and
		// comes back; the PC then takes it from the store.
		agentProc := d.proc(t, "agent")
		syscall.Kill(agentProc.Pid(), syscall.SIGSTOP)
		resumed := false
		defer func() {
			if !resumed {
				syscall.Kill(agentProc.Pid(), syscall.SIGCONT)
			}
		}()
		sendPhotos(t, tab, writeFiles(t, map[string][]byte{"IMG_0200.JPG": cameraJPEG(t, 640, 480, "2024-06-02T09:00:00", false)}))
		waitCount(t, tab, "waiting", 1)
		if err := d.RestartRelay(ctx); err != nil {
			t.Fatal(err)
		}
		syscall.Kill(agentProc.Pid(), syscall.SIGCONT)
		resumed = true
		waitCount(t, tab, "delivered", 1)
		waitFor(t, "the photo in the window", func() bool { return len(items.of(s.ID)) == 1 })
	})

	t.Run("ExpiredSecondDeviceAndNotAPhoto", func(t *testing.T) {
		// Expired: the session's time is up (set in the relay's store, as 10 minutes
		// passing would), and the link shows a page that says what to do.
		s, ps, err := d.PhoneLink(ctx, "ZZZ0016")
		if err != nil {
			t.Fatal(err)
		}
		db, err := sqlitedb.Open(filepath.Join(filepath.Dir(d.AgentData), "relay", "data", "relay.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		expire(t, db, s.ID)
		tab := browser.Phone(t)
		if err := chromedp.Do(tab, chromedp.Navigate(ps.URL)); err != nil {
			t.Fatal(err)
		}
		if h := text(t, tab, "h1"); h != "This code has ended" || !strings.Contains(text(t, tab, "#sentence"), "Press Phone in the capture window") {
			t.Fatalf("expired link: %q", h)
		}

		// A second phone with the same link is refused; the first works on.
		_, ps, err = d.PhoneLink(ctx, "ZZZ0016")
		if err != nil {
			t.Fatal(err)
		}
		first, second := browser.Phone(t), browser.Phone(t)
		if err := chromedp.Do(first, chromedp.Navigate(ps.URL)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(second, chromedp.Navigate(ps.URL)); err != nil {
			t.Fatal(err)
		}
		if h := text(t, second, "h1"); h != "This code is in use on another phone" {
			t.Fatalf("second device: %q", h)
		}
		if w := text(t, first, "#word"); w != ps.Word {
			t.Fatalf("the first phone lost its page: %q", w)
		}

		// Not a photo: refused on the phone with a sentence, nothing sent.
		if err := chromedp.Do(first, chromedp.SetUploadFiles(chromedp.CSS("#files"), writeFiles(t, map[string][]byte{"referral.txt": []byte("Dear Doctor, please see this patient.")}))); err != nil {
			t.Fatal(err)
		}
		waitCount(t, first, "refused", 1)
		if msg := text(t, first, "#list"); !strings.Contains(msg, "not a photo") {
			t.Fatalf("refusal: %q", msg)
		}
		if dis, _ := chromedp.Run(first, chromedp.Evaluate[bool](`document.getElementById('send').disabled`)); !dis {
			t.Fatal("Send is offered for a file that is not a photo")
		}
	})
}

func expire(t *testing.T, db *sql.DB, capture string) {
	t.Helper()
	res, err := db.Exec(`UPDATE phone_sessions SET expires=1 WHERE capture_id=?`, capture)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d phone sessions for the capture session", n)
	}
}

func (d *Demo) proc(t *testing.T, name string) *Proc {
	for _, p := range d.Sup.Procs() {
		if p.Spec.Name == name {
			return p
		}
	}
	t.Fatalf("no %s process", name)
	return nil
}

// spoolFile finds the agent's copy of an item.
func spoolFile(t *testing.T, d *Demo, id string) []byte {
	t.Helper()
	var found []byte
	filepath.WalkDir(d.AgentData, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.Contains(e.Name(), id) && !strings.HasSuffix(p, ".tmp") {
			found, _ = os.ReadFile(p)
		}
		return nil
	})
	if found == nil {
		t.Fatalf("no spool file for item %s", id)
	}
	return found
}

func checkNoCameraData(t *testing.T, b []byte) {
	t.Helper()
	for _, bad := range [][]byte{[]byte("Exif\x00\x00"), []byte(phoneMarker), []byte("http://ns.adobe.com/xap/")} {
		if bytes.Contains(b, bad) {
			t.Errorf("the photo from the phone still carries %q", bad)
		}
	}
}

// cutter is a TCP front for the relay that cuts every connection once, after limit
// bytes have gone up, and refuses connections for a moment: the phone's network
// dropping mid-upload.
type cutter struct {
	addr string
	up   atomic.Int64
	cut  atomic.Bool
	mu   sync.Mutex
	open map[net.Conn]bool
	down time.Time
}

func newCutter(t *testing.T, target string, limit int64) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{addr: ln.Addr().String(), open: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			refused := time.Now().Before(c.down)
			c.mu.Unlock()
			if refused {
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.open[in], c.open[out] = true, true
			c.mu.Unlock()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := in.Read(buf)
					if n > 0 {
						if c.up.Add(int64(n)) > limit && c.cut.CompareAndSwap(false, true) {
							c.dropAll()
							return
						}
						if _, werr := out.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				out.Close()
			}()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return c
}

func (c *cutter) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = time.Now().Add(1500 * time.Millisecond)
	for conn := range c.open {
		conn.Close()
	}
	c.open = map[net.Conn]bool{}
}
