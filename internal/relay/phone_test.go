package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/phone"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// phoneDevice is a phone's browser as the relay sees it: its own cookie jar.
type phoneDevice struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newPhone(t *testing.T, base string) *phoneDevice {
	jar, _ := cookiejar.New(nil)
	return &phoneDevice{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: time.Minute}}
}

func (p *phoneDevice) get(path string) (*http.Response, string) {
	p.t.Helper()
	resp, err := p.hc.Get(p.base + path)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// piece sends one piece as the page does; extra sets headers (nil: the page's own).
func (p *phoneDevice) piece(key string, size, off int64, taken string, data []byte, extra map[string]string) (int, map[string]any) {
	p.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("key", key)
	mw.WriteField("size", strconv.FormatInt(size, 10))
	mw.WriteField("offset", strconv.FormatInt(off, 10))
	if taken != "" {
		mw.WriteField("taken", taken)
	}
	fw, _ := mw.CreateFormFile("piece", "piece")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, p.base+"/m/api/photos", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-Requested-With", "clinicpro-phone")
	for k, v := range extra {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// send sends a whole photo in pieces of n bytes.
func (p *phoneDevice) send(key string, data []byte, n int, taken string) {
	p.t.Helper()
	for off := 0; off < len(data); off += n {
		end := min(off+n, len(data))
		if st, out := p.piece(key, int64(len(data)), int64(off), taken, data[off:end], nil); st != 200 {
			p.t.Fatalf("piece at %d: %d %v", off, st, out)
		}
	}
}

func (p *phoneDevice) state() (int, pageState) {
	p.t.Helper()
	resp, body := p.get("/m/api/state")
	var s pageState
	json.Unmarshal([]byte(body), &s)
	return resp.StatusCode, s
}

func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 3), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withExif puts an APP1 Exif segment (as a camera writes) after the JPEG's SOI.
func withExif(jpg []byte) []byte {
	seg := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00"), make([]byte, 16)...)
	app1 := []byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// openPhone opens a session as the agent does and returns the link's path.
func openPhone(t *testing.T, c *client.Client) client.PhoneSession {
	t.Helper()
	ps, err := c.OpenPhone(context.Background(), phone.NewID())
	if err != nil {
		t.Fatal(err)
	}
	if ps.State != api.PhoneWaiting || ps.Word == "" || !strings.HasPrefix(ps.Path, "/m/") || !phone.WellFormed(strings.TrimPrefix(ps.Path, "/m/")) {
		t.Fatalf("opened %+v", ps)
	}
	return ps
}

func TestPhoneCaptureRoundTrip(t *testing.T) {
	e := start(t, Config{})
	c, _ := e.connector("F2N060-E")
	ctx := context.Background()
	ps := openPhone(t, c)
	if !strings.HasPrefix(ps.URL, e.url+"/m/") || ps.Practice != "test practice" {
		t.Fatalf("url %q practice %q", ps.URL, ps.Practice)
	}

	// The first load pairs the phone: the page, its headers, the cookie.
	ph := newPhone(t, e.url)
	resp, body := ph.get(ps.Path)
	if resp.StatusCode != 200 || !strings.Contains(body, ps.Word) || !strings.Contains(body, "test practice") {
		t.Fatalf("page: %d\n%s", resp.StatusCode, body)
	}
	for k, v := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"X-Robots-Tag": "noindex, nofollow, noarchive", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Errorf("the page allows or names another origin:\n%s\n%s", csp, body)
	}
	sc := resp.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Strict") || strings.Contains(sc, ps.Path[3:]) {
		t.Fatalf("cookie %q", sc)
	}
	// Same phone reloading: the page again. Another phone with the same URL: refused.
	if resp, _ := ph.get(ps.Path); resp.StatusCode != 200 {
		t.Fatalf("reload on the paired phone: %d", resp.StatusCode)
	}
	if resp, _ := ph.get("/m/"); resp.StatusCode != 200 {
		t.Fatalf("the page at /m/ on the paired phone: %d", resp.StatusCode)
	}
	other := newPhone(t, e.url)
	resp, body = other.get(ps.Path)
	if resp.StatusCode != 403 || !strings.Contains(body, "in use on another phone") {
		t.Fatalf("second device: %d\n%s", resp.StatusCode, body)
	}
	if st, _ := other.state(); st != 403 {
		t.Fatalf("second device's API call: %d", st)
	}

	// The agent learns the phone paired.
	up, err := c.PollPhone(ctx, []api.PhoneKnown{{ID: ps.ID, State: api.PhoneWaiting}}, 5)
	if err != nil || len(up.Sessions) != 1 || up.Sessions[0].State != api.PhonePaired {
		t.Fatalf("poll after pairing: %+v %v", up, err)
	}

	jpg := testJPEG(t, 300, 200)
	ph.send("photo-key-0001", jpg, 1000, "2024-05-01T10:11:12")
	// Sending the last piece again (its answer was lost) changes nothing.
	if st, _ := ph.piece("photo-key-0001", int64(len(jpg)), 0, "", jpg[:1000], nil); st != 409 {
		t.Fatalf("a piece sent twice: %d", st)
	}
	up, err = c.PollPhone(ctx, []api.PhoneKnown{{ID: ps.ID, State: api.PhonePaired}}, 5)
	if err != nil || len(up.Sessions[0].Ready) != 1 {
		t.Fatalf("poll after the photo: %+v %v", up, err)
	}
	rp := up.Sessions[0].Ready[0]
	if rp.Size != int64(len(jpg)) || rp.Taken != "2024-05-01T10:11:12" || rp.ContentType != "image/jpeg" {
		t.Fatalf("ready photo %+v", rp)
	}
	if _, s := ph.state(); len(s.Photos) != 1 || s.Photos[0].State != "ready" {
		t.Fatalf("page state before the PC took it: %+v", s)
	}
	d, err := c.DownloadPhoto(ctx, rp.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(d.Body)
	d.Body.Close()
	if err != nil || !bytes.Equal(got, jpg) || d.Taken != rp.Taken {
		t.Fatalf("download: %d bytes, %v, taken %q", len(got), err, d.Taken)
	}
	if err := c.AckPhoto(ctx, rp.ID); err != nil {
		t.Fatal(err)
	}
	if offs, _ := e.st.PhonePhotoPieces(ctx, rp.ID); len(offs) != 0 {
		t.Fatalf("the relay still holds the photo after the PC took it: %d pieces", len(offs))
	}
	if _, s := ph.state(); s.Photos[0].State != "delivered" {
		t.Fatalf("page state after: %+v (the tick)", s)
	}
	if _, err := c.DownloadPhoto(ctx, rp.ID); err == nil {
		t.Fatal("a delivered photo was downloaded again")
	}

	// Another PC of the practice cannot see or end this PC's session.
	c2, _ := e.connector("F2N060-E")
	if err := c2.ClosePhone(ctx, ps.ID); err == nil {
		t.Fatal("another connector closed this session")
	}
	if up, _ := c2.PollPhone(ctx, []api.PhoneKnown{{ID: ps.ID, State: api.PhonePaired}}, 0); up.Sessions[0].State != api.PhoneExpired {
		t.Fatalf("another connector saw this session: %+v", up)
	}

	// The capture window closes: the phone is told at once.
	if err := c.ClosePhone(ctx, ps.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := ph.state(); st != 410 {
		t.Fatalf("page API after close: %d", st)
	}
	resp, body = ph.get(ps.Path)
	if resp.StatusCode != 410 || !strings.Contains(body, "This code has ended") {
		t.Fatalf("link after close: %d\n%s", resp.StatusCode, body)
	}

	// The audit has counts and sizes, and what each was. A row is written after
	// its answer has gone (the client does not wait on the audit), so under load
	// the last ones may still be on their way.
	wantOps := []string{"phone_open", "phone_pair", "phone_photo", "phone_download", "phone_ack", "phone_close"}
	var ops, out map[string]int64
	e.auditWhere(50, func(recs []audit.Record) bool {
		ops, out = map[string]int64{}, map[string]int64{}
		for _, r := range recs {
			if strings.HasPrefix(r.Operation, "phone_") && r.Outcome == "ok" {
				ops[r.Operation] += r.BytesIn
				out[r.Operation] += r.BytesOut
			}
		}
		for _, op := range wantOps {
			if _, ok := ops[op]; !ok {
				return false
			}
		}
		return true
	})
	for _, op := range wantOps {
		if _, ok := ops[op]; !ok {
			t.Errorf("no audit row for %s: %v", op, ops)
		}
	}
	if ops["phone_photo"] != int64(len(jpg)) || out["phone_download"] != int64(len(jpg)) || ops["phone_ack"] != int64(len(jpg)) {
		t.Errorf("audit sizes in %v out %v", ops, out)
	}
	if strings.Contains(e.logs.String(), ps.Path[3:]) {
		t.Error("the link's token is in the relay's log")
	}
}

func TestPhoneRefusesWhatIsNotAPhoto(t *testing.T) {
	e := start(t, Config{})
	c, _ := e.connector("F2N060-E")
	ps := openPhone(t, c)
	ph := newPhone(t, e.url)
	ph.get(ps.Path)
	text := []byte("Dear Dr, please find attached the referral. " + strings.Repeat("x", 200))
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"text", text, "not a photo"},
		{"html", []byte("<html><script>alert(1)</script></html>"), "not a photo"},
		{"truncated jpeg", testJPEG(t, 50, 50)[:40], "not a photo"},
		{"camera data", withExif(testJPEG(t, 50, 50)), "camera's data"},
	} {
		st, out := ph.piece("photo-"+strings.ReplaceAll(tc.name, " ", "-"), int64(len(tc.data)), 0, "", tc.data, nil)
		msg, _ := out["message"].(string)
		if st != 415 || !strings.Contains(msg, tc.want) || !strings.HasSuffix(msg, ".") {
			t.Errorf("%s: %d %q", tc.name, st, msg)
		}
	}
	st, out := ph.piece("photo-too-big", phone.MaxPhotoBytes+1, 0, "", testJPEG(t, 10, 10), nil)
	if st != 413 || !strings.Contains(out["message"].(string), "25 MB") {
		t.Errorf("over 25 MB: %d %v", st, out)
	}
	// Another site cannot post on the phone's behalf: no page header, or a foreign origin.
	jpg := testJPEG(t, 20, 20)
	if st, _ := ph.piece("photo-csrf-0001", int64(len(jpg)), 0, "", jpg, map[string]string{"X-Requested-With": ""}); st != 403 {
		t.Errorf("without the page's header: %d", st)
	}
	if st, _ := ph.piece("photo-csrf-0002", int64(len(jpg)), 0, "", jpg, map[string]string{"Origin": "https://evil.example"}); st != 403 {
		t.Errorf("from another origin: %d", st)
	}
	if _, s := ph.state(); len(s.Photos) != 0 {
		t.Fatalf("refused uploads left photos: %+v", s.Photos)
	}
}

// A piece that does not start where the relay stands is refused and the state says
// where to carry on: the resume after a dropped connection.
func TestPhoneResumesWhereTheRelayStands(t *testing.T) {
	e := start(t, Config{})
	c, _ := e.connector("F2N060-E")
	ps := openPhone(t, c)
	ph := newPhone(t, e.url)
	ph.get(ps.Path)
	jpg := testJPEG(t, 400, 300)
	n := int64(len(jpg))
	if st, _ := ph.piece("photo-resume-1", n, 0, "", jpg[:2000], nil); st != 200 {
		t.Fatal(st)
	}
	// The page lost the answer and thinks it is at 0; then skips ahead by mistake.
	if st, _ := ph.piece("photo-resume-1", n, 0, "", jpg[:2000], nil); st != 409 {
		t.Fatalf("repeat: %d", st)
	}
	if st, _ := ph.piece("photo-resume-1", n, 3000, "", jpg[3000:4000], nil); st != 409 {
		t.Fatalf("gap: %d", st)
	}
	_, s := ph.state()
	if len(s.Photos) != 1 || s.Photos[0].Received != 2000 || s.Photos[0].State != "receiving" {
		t.Fatalf("state %+v", s)
	}
	ph.send2(jpg, 2000)
	up, _ := c.PollPhone(context.Background(), []api.PhoneKnown{{ID: ps.ID, State: api.PhonePaired}}, 5)
	d, err := c.DownloadPhoto(context.Background(), up.Sessions[0].Ready[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(d.Body)
	if !bytes.Equal(got, jpg) {
		t.Fatal("the resumed photo is not the photo")
	}
}

func (p *phoneDevice) send2(jpg []byte, from int) {
	for off := from; off < len(jpg); off += 3000 {
		if st, out := p.piece("photo-resume-1", int64(len(jpg)), int64(off), "", jpg[off:min(off+3000, len(jpg))], nil); st != 200 {
			p.t.Fatalf("%d %v", st, out)
		}
	}
}

func TestPhoneSessionsExpire(t *testing.T) {
	e := start(t, Config{})
	c, _ := e.connector("F2N060-E")
	ctx := context.Background()
	clock := testutil.NewClock(time.Now())
	e.srv.ph.now = clock.Now

	// Unpaired for 10 minutes: the link shows a clear page.
	idle := openPhone(t, c)
	clock.Add(phone.UnpairedTTL)
	resp, body := newPhone(t, e.url).get(idle.Path)
	if resp.StatusCode != 410 || !strings.Contains(body, "This code has ended") || !strings.Contains(body, "Press Phone") {
		t.Fatalf("expired link: %d\n%s", resp.StatusCode, body)
	}
	// Paired: 30 minutes from pairing, then the page is told, and the photo waiting
	// at the relay is erased by the sweep.
	ps := openPhone(t, c)
	ph := newPhone(t, e.url)
	ph.get(ps.Path)
	jpg := testJPEG(t, 60, 40)
	ph.send("photo-expiry-1", jpg, 1<<20, "")
	clock.Add(phone.PairedTTL - time.Second)
	if st, _ := ph.state(); st != 200 {
		t.Fatalf("before 30 minutes: %d", st)
	}
	clock.Add(time.Second)
	if err := e.srv.SweepPhone(ctx); err != nil {
		t.Fatal(err)
	}
	var pieces int
	e.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM phone_pieces`).Scan(&pieces)
	if pieces != 0 {
		t.Fatalf("%d pieces left after expiry", pieces)
	}
	if st, _ := ph.state(); st != 410 {
		t.Fatalf("after 30 minutes: %d", st)
	}
	up, err := c.PollPhone(ctx, []api.PhoneKnown{{ID: ps.ID, State: api.PhonePaired}, {ID: idle.ID, State: api.PhoneWaiting}}, 0)
	if err != nil || up.Sessions[0].State != api.PhoneExpired || up.Sessions[1].State != api.PhoneExpired {
		t.Fatalf("the agent's view: %+v %v", up, err)
	}
	recs, _ := e.aud.Recent(ctx, 50)
	var ended int
	for _, r := range recs {
		if r.Operation == "phone_end" && r.Outcome == "expired" {
			ended++
			if r.Facility == "" && r.BytesIn == int64(len(jpg)) {
				t.Error("expiry row lacks its facility")
			}
		}
	}
	if ended != 2 {
		t.Fatalf("%d expiry audit rows, want 2", ended)
	}
	// Rows of ended sessions go after an hour.
	clock.Add(PhoneKeepEnded + time.Minute)
	e.srv.SweepPhone(ctx)
	if _, err := e.st.PhoneGet(ctx, ps.ID); !errors.Is(err, phone.ErrNotFound) {
		t.Fatalf("ended session kept: %v", err)
	}
}

// The agent's long poll answers as soon as a photo is ready: at once through the
// same relay, within its tick through another relay on the same store. A relay that
// restarts between upload and download loses nothing.
func TestPhoneLongPollAcrossRelaysAndRestart(t *testing.T) {
	e := start(t, Config{})
	two := e.secondRelay()
	ca, creds := e.connector("F2N060-E")
	cb, err := client.New(two.url, creds)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ps := openPhone(t, ca)
	ph := newPhone(t, two.url) // the phone's requests reach the other relay
	ph.get(ps.Path)
	for _, agent := range []*client.Client{ca, cb} {
		var wg sync.WaitGroup
		var up api.PhoneUpdate
		var perr error
		start := time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			up, perr = agent.PollPhone(ctx, []api.PhoneKnown{{ID: ps.ID, State: api.PhonePaired}}, api.PhoneMaxWait)
		}()
		time.Sleep(300 * time.Millisecond) // the poll is waiting
		jpg := testJPEG(t, 80, 60)
		key := fmt.Sprintf("photo-poll-%d", time.Now().UnixNano())
		ph.send(key, jpg, 1<<20, "")
		wg.Wait()
		if perr != nil || len(up.Sessions[0].Ready) != 1 {
			t.Fatalf("poll: %+v %v", up, perr)
		}
		if waited := time.Since(start); waited > api.PhoneMaxWait*time.Second/2 {
			t.Fatalf("the poll waited %s: it was not woken", waited)
		}
		d, err := agent.DownloadPhoto(ctx, up.Sessions[0].Ready[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, d.Body)
		d.Body.Close()
		if err := agent.AckPhoto(ctx, up.Sessions[0].Ready[0].ID); err != nil {
			t.Fatal(err)
		}
	}

	// Upload through relay two, which then stops; a relay started afresh on the store
	// hands the photo over.
	jpg := testJPEG(t, 90, 70)
	ph.send("photo-restart-1", jpg, 2000, "2023-01-02T03:04:05")
	three := e.secondRelay()
	if err := three.srv.SweepPhone(ctx); err != nil { // what a start does
		t.Fatal(err)
	}
	cc, _ := client.New(three.url, creds)
	up, err := cc.PollPhone(ctx, []api.PhoneKnown{{ID: ps.ID, State: api.PhonePaired}}, 5)
	if err != nil || len(up.Sessions[0].Ready) != 1 {
		t.Fatalf("after the restart: %+v %v", up, err)
	}
	d, err := cc.DownloadPhoto(ctx, up.Sessions[0].Ready[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(d.Body)
	if !bytes.Equal(got, jpg) || d.Taken != "2023-01-02T03:04:05" {
		t.Fatal("the photo after the restart is not the photo")
	}
}

// Unknown links spend the source address's guesses; the page's requests are limited
// per address and per session.
func TestPhoneLinksAreLimited(t *testing.T) {
	e := start(t, Config{})
	c, _ := e.connector("F2N060-E")
	ps := openPhone(t, c)
	guesser := newPhone(t, e.url)
	guesser.hc = from("127.0.0.7")
	guesser.hc.Jar, _ = cookiejar.New(nil)
	fake, _ := phone.Secret()
	for i := 0; i < EnrolGuessBurst; i++ {
		if resp, body := guesser.get("/m/" + fake); resp.StatusCode != 404 || !strings.Contains(body, "not valid") {
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := guesser.get("/m/" + fake); resp.StatusCode != 429 {
		t.Fatalf("guess past the limit: %d", resp.StatusCode)
	}
	// Another address is not held up, and its right link works.
	if resp, _ := newPhone(t, e.url).get(ps.Path); resp.StatusCode != 200 {
		t.Fatalf("a right link from another address: %d", resp.StatusCode)
	}
	if e.metric("clinicpro_relay_rejected_total", map[string]string{"reason": "phone_guess_limit"}) < 1 {
		t.Fatal("refusals are not counted")
	}
}
