package agent_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"

	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/relay/phone"
)

// fakePhoneRelay keeps phone sessions in memory as the relay does in its store, so
// the shared suite can drive the agent's long poll, download and acknowledgement.
// The real relay's side is tested in internal/relay and end to end in internal/demo.
type fakePhoneRelay struct {
	mu            sync.Mutex
	failDownloads bool
	tries         int
	sessions      map[string]*fakePhone
	photos        map[string]*fakePhoto
	bell          chan struct{}
}

type fakePhone struct {
	capture, state string
	photos         []string
}

type fakePhoto struct {
	data     []byte
	acked    bool
	taken    string
	downHits int
}

func newFakePhoneRelay() *fakePhoneRelay {
	return &fakePhoneRelay{sessions: map[string]*fakePhone{}, photos: map[string]*fakePhoto{}, bell: make(chan struct{})}
}

func (f *fakePhoneRelay) ring() {
	close(f.bell)
	f.bell = make(chan struct{})
}

func (f *fakePhoneRelay) OpenPhone(ctx context.Context, capture string) (client.PhoneSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := phone.NewID()
	tok, _ := phone.Secret()
	f.sessions[id] = &fakePhone{capture: capture, state: api.PhoneWaiting}
	return client.PhoneSession{PhoneSession: api.PhoneSession{ID: id, Word: "maple 47", Practice: "Healthier Care",
		State: api.PhoneWaiting, Expires: time.Now().Add(phone.UnpairedTTL)}, URL: "http://127.0.0.1:1/m/" + tok}, nil
}

func (f *fakePhoneRelay) ClosePhone(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.sessions[id]; ok {
		s.state = api.PhoneClosed
		f.ring()
	}
	return nil
}

func (f *fakePhoneRelay) update(known []api.PhoneKnown) (api.PhoneUpdate, bool) {
	var out api.PhoneUpdate
	changed := false
	for _, k := range known {
		s, ok := f.sessions[k.ID]
		if !ok {
			out.Sessions = append(out.Sessions, api.PhoneSession{ID: k.ID, State: api.PhoneExpired})
			changed = true
			continue
		}
		ps := api.PhoneSession{ID: k.ID, State: s.state}
		for _, id := range s.photos {
			if !f.photos[id].acked {
				ps.Ready = append(ps.Ready, api.PhonePhoto{ID: id, Size: int64(len(f.photos[id].data)), ContentType: "image/jpeg", Taken: f.photos[id].taken})
			}
		}
		changed = changed || ps.State != k.State || len(ps.Ready) > 0
		out.Sessions = append(out.Sessions, ps)
	}
	return out, changed
}

func (f *fakePhoneRelay) PollPhone(ctx context.Context, known []api.PhoneKnown, wait int) (api.PhoneUpdate, error) {
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		f.mu.Lock()
		out, changed := f.update(known)
		bell := f.bell
		f.mu.Unlock()
		if changed || time.Now().After(deadline) {
			return out, nil
		}
		select {
		case <-bell:
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(time.Until(deadline)):
		}
	}
}

func (f *fakePhoneRelay) DownloadPhoto(ctx context.Context, id string) (client.PhotoDownload, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.photos[id]
	f.tries++
	if !ok || p.acked || f.failDownloads {
		return client.PhotoDownload{}, errors.New("no such photo")
	}
	p.downHits++
	return client.PhotoDownload{Body: io.NopCloser(bytes.NewReader(p.data)), Size: int64(len(p.data)), ContentType: "image/jpeg", Taken: p.taken}, nil
}

func (f *fakePhoneRelay) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries
}

func (f *fakePhoneRelay) AckPhoto(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p, ok := f.photos[id]; ok {
		p.acked = true
	}
	return nil
}

// send is the phone pairing (if it had not) and sending a photo to capture's session.
func (f *fakePhoneRelay) send(capture string, jpg []byte, taken string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.sessions {
		if s.capture == capture && (s.state == api.PhoneWaiting || s.state == api.PhonePaired) {
			s.state = api.PhonePaired
			id := phone.NewID()
			f.photos[id] = &fakePhoto{data: jpg, taken: taken}
			s.photos = append(s.photos, id)
			f.ring()
			return
		}
	}
	panic("no open phone session for the capture session")
}

// A photo from the phone lands in its window once, with the camera's date, and is
// acknowledged so the relay erases it; the window's Save ends the code at the relay.
func TestPhonePhotosReachTheirWindow(t *testing.T) {
	pr := newFakePhoneRelay()
	e := newEnv(t, envOpt{relay: fakeRelay{}, phone: pr})
	ctx := context.Background()
	h := e.harness(t)
	s, err := e.a.Launch(ctx, h.Patient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.OpenPhone(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	jpg := localapitest.UniqueJPEG(t)
	pr.send(s.ID, jpg, "2024-05-01T10:11:12")
	waitFor(t, "the photo acknowledged", func() bool {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		for _, p := range pr.photos {
			return p.acked
		}
		return false
	})
	items, _ := e.a.Queue(ctx)
	staged := 0
	for _, it := range e.stagedIn(t, s.ID) {
		staged++
		want := time.Date(2024, 5, 1, 10, 11, 12, 0, time.Local)
		if it.Source != "phone" || !it.Taken.Equal(want) || it.Size != int64(len(jpg)) {
			t.Fatalf("phone item %+v", it)
		}
	}
	if staged != 1 {
		t.Fatalf("%d staged phone items (queue %d), want 1", staged, len(items))
	}
	for _, p := range pr.photos {
		if p.downHits != 1 {
			t.Fatalf("downloaded %d times", p.downHits)
		}
	}
	if ps, _ := e.a.Phone(ctx, s.ID); ps.Received != 1 || ps.State != "paired" {
		t.Fatalf("phone session %+v", ps)
	}
	if err := e.a.CloseSession(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the relay told the window closed", func() bool {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		for _, ps := range pr.sessions {
			return ps.state == "closed"
		}
		return false
	})
}

func (e *env) stagedIn(t *testing.T, sessionID string) []localapi.Item {
	t.Helper()
	ids, err := e.a.StagedIDs(context.Background(), sessionID)
	if err != nil {
		t.Fatal(err)
	}
	var out []localapi.Item
	for _, id := range ids {
		wire, err := e.a.Item(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, wire)
	}
	return out
}

// A photo the relay lists but will not hand over is asked for again with a growing
// wait, not in a tight loop.
func TestPhoneDownloadFailuresBackOff(t *testing.T) {
	pr := newFakePhoneRelay()
	e := newEnv(t, envOpt{relay: fakeRelay{}, phone: pr})
	ctx := context.Background()
	s, err := e.a.Launch(ctx, e.harness(t).Patient)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.OpenPhone(ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	pr.mu.Lock()
	pr.failDownloads = true
	pr.mu.Unlock()
	pr.send(s.ID, localapitest.UniqueJPEG(t), "")
	waitFor(t, "a first attempt", func() bool { return pr.attempts() >= 1 })
	time.Sleep(1500 * time.Millisecond) // the bound below only ever holds more easily on a slow machine
	if n := pr.attempts(); n > 3 {
		t.Fatalf("%d download attempts in 1.5 s: no backoff", n)
	}
	// Once the relay hands it over, it arrives.
	pr.mu.Lock()
	pr.failDownloads = false
	pr.mu.Unlock()
	waitFor(t, "the photo in the window", func() bool { return len(e.stagedIn(t, s.ID)) == 1 })
}
