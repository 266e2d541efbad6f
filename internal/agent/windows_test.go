package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clinicpro/medtech-images/internal/agent"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/internal/profiles"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/upload"
)

// Two GPs signed in to one PC (or Remote Desktop server).
var (
	gpA = localapi.Peer{User: "S-1-5-21-7-7-7-1001", Session: 2}
	gpB = localapi.Peer{User: "S-1-5-21-7-7-7-1002", Session: 3}
)

func launchAs(t *testing.T, e *env, p localapi.Peer, c string) localapi.Session {
	t.Helper()
	ctx := context.Background()
	if p.Known() {
		ctx = localapi.WithPeer(ctx, p)
	}
	s, err := e.a.Launch(ctx, localapi.LaunchRequest{Context: c, Signature: localapitest.SignatureFor(c)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// arrives writes a file into dir and returns its item once the agent took it.
func arrives(t *testing.T, e *env, dir, name string) localapi.Item {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), localapitest.UniqueJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	var got localapi.Item
	waitFor(t, name+" to be taken", func() bool {
		for _, list := range [][]localapi.Item{must(e.a.Queue(context.Background())), must(e.a.Unassigned(context.Background()))} {
			for _, it := range list {
				if it.FileName == name {
					got = it
					return true
				}
			}
		}
		// Staged items are in neither list: look them up by their window.
		for _, s := range e.sessions() {
			for _, it := range s.Items {
				if it.FileName == name {
					got = it
					return true
				}
			}
		}
		return false
	})
	return got
}

// sessions reads back every session a test opened, as their openers.
func (e *env) sessions() []localapi.Session {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []localapi.Session
	for id, p := range e.opened {
		ctx := context.Background()
		if p.Known() {
			ctx = localapi.WithPeer(ctx, p)
		}
		if s, err := e.a.Session(ctx, id); err == nil {
			out = append(out, s)
		}
	}
	return out
}

func (e *env) track(s localapi.Session, p localapi.Peer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.opened == nil {
		e.opened = map[string]localapi.Peer{}
	}
	e.opened[s.ID] = p
}

// TestSessionFolderGoesToTheMostRecentLaunch: files from a "session" folder go to
// the window of the patient opened last, not to whichever window was touched last;
// a second click on a patient whose window is open is that window, launched again.
func TestSessionFolderGoesToTheMostRecentLaunch(t *testing.T) {
	e := newEnv(t, envOpt{relay: fakeRelay{}})
	ctx := context.Background()
	first := launchAs(t, e, localapi.Peer{}, localapitest.ContextPatient)
	other := launchAs(t, e, localapi.Peer{}, localapitest.ContextOther)
	e.track(first, localapi.Peer{})
	e.track(other, localapi.Peer{})
	// The GP adds a file in the first window: it is used, but not launched again.
	if _, err := e.a.AddFile(ctx, first.ID, localapi.NewFile{Name: "drop.jpg"}, strings.NewReader(string(localapitest.UniqueJPEG(t)))); err != nil {
		t.Fatal(err)
	}
	if it := arrives(t, e, e.session, "one.jpg"); it.SessionID != other.ID || it.State != localapi.StateStaged {
		t.Fatalf("file went to %s (%s), want the most recent launch %s", it.SessionID, it.State, other.ID)
	}
	st, _ := e.a.Status(ctx)
	if len(st.SessionFolders) != 1 || st.SessionFolders[0].Label != "Camera" || st.SessionFolders[0].Receiver != other.ID {
		t.Fatalf("status session folders = %+v, want Camera going to %s", st.SessionFolders, other.ID)
	}
	// Medtech's icon clicked again on the first patient: its window, now the newest.
	again := launchAs(t, e, localapi.Peer{}, localapitest.Again(localapitest.ContextPatient, 2))
	if again.ID != first.ID || len(again.Items) != 1 || again.Items[0].FileName != "drop.jpg" {
		t.Fatalf("second launch = %s with %d items, want window %s with its dropped file", again.ID, len(again.Items), first.ID)
	}
	if it := arrives(t, e, e.session, "two.jpg"); it.SessionID != first.ID {
		t.Fatalf("after the second launch the file went to %s, want %s", it.SessionID, first.ID)
	}
}

// TestPerUserFoldersGoToThatUsersWindow: %USERPROFILE%\Pictures\Camera Roll is
// watched for each signed-in user; a photo in a GP's own Camera Roll goes to that
// GP's newest window only, never to another GP's patient; with no window of theirs
// open it waits in Unassigned. A GP signing in or out starts or stops the watch.
func TestPerUserFoldersGoToThatUsersWindow(t *testing.T) {
	home := t.TempDir()
	rollA := filepath.Join(home, "drsmith", "Pictures", "Camera Roll")
	rollB := filepath.Join(home, "drjones", "Pictures", "Camera Roll")
	for _, d := range []string{rollA, rollB} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	users := &switchable{users: []profiles.User{
		{SID: gpA.User, Name: "drsmith", Profile: filepath.Join(home, "drsmith"), Sessions: []uint32{gpA.Session}},
		{SID: gpB.User, Name: "drjones", Profile: filepath.Join(home, "drjones"), Sessions: []uint32{gpB.Session}},
	}}
	e := newEnv(t, envOpt{relay: fakeRelay{}, profiles: users, folders: `[[folder]]
path = '%USERPROFILE%\Pictures\Camera Roll'
routing = "session"
`})
	ctx := context.Background()
	waitFor(t, "both users' Camera Rolls watched", func() bool {
		return checkDetail(e, health.FolderCheckName("Camera Roll (each signed-in user)"), "2 signed-in user(s): drjones, drsmith")
	})
	st, _ := e.a.Status(ctx)
	var roll localapi.SessionFolder
	for _, f := range st.SessionFolders {
		if f.Label == "Camera Roll" {
			roll = f
		}
	}
	if !roll.PerUser || !roll.CameraRoll || roll.Receiver != "" {
		t.Fatalf("status says %+v for the Camera Roll", roll)
	}

	// B opens a patient; A has no window: A's photo waits, it never goes to B's patient.
	sb := launchAs(t, e, gpB, localapitest.ContextOther)
	e.track(sb, gpB)
	if it := arrives(t, e, rollA, "a1.jpg"); it.State != localapi.StateUnassigned || it.Reason != agent.ReasonNoWindow || it.Folder != "Camera Roll (drsmith)" {
		t.Fatalf("A's photo with only B's window open: %+v", it)
	}
	sa := launchAs(t, e, gpA, localapitest.ContextPatient)
	e.track(sa, gpA)
	if it := arrives(t, e, rollA, "a2.jpg"); it.SessionID != sa.ID {
		t.Fatalf("A's photo went to %s, want A's window %s", it.SessionID, sa.ID)
	}
	if it := arrives(t, e, rollB, "b1.jpg"); it.SessionID != sb.ID {
		t.Fatalf("B's photo went to %s, want B's window %s (A launched later)", it.SessionID, sb.ID)
	}

	// B signs out: B's folder is no longer watched.
	users.set(users.users[:1])
	waitFor(t, "only A's Camera Roll watched", func() bool {
		return checkDetail(e, health.FolderCheckName("Camera Roll (each signed-in user)"), "1 signed-in user(s): drsmith")
	})
	if err := os.WriteFile(filepath.Join(rollB, "b2.jpg"), localapitest.UniqueJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	arrives(t, e, rollA, "a3.jpg") // a later file of A's is taken, so B's would have been by now
	for _, list := range [][]localapi.Item{must(e.a.Queue(ctx)), must(e.a.Unassigned(ctx))} {
		for _, it := range list {
			if it.FileName == "b2.jpg" {
				t.Fatal("a signed-out user's folder is still watched")
			}
		}
	}
}

func checkDetail(e *env, name, want string) bool {
	st, err := e.a.Status(context.Background())
	if err != nil {
		return false
	}
	for _, c := range st.Health.Checks {
		if c.Name == name {
			return c.State == health.OK && strings.Contains(c.Detail, want)
		}
	}
	return false
}

// switchable is a profiles.Source whose users change while the agent runs.
type switchable struct {
	mu    sync.Mutex
	users []profiles.User
}

func (s *switchable) set(us []profiles.User) {
	s.mu.Lock()
	s.users = us
	s.mu.Unlock()
}

func (s *switchable) SignedIn() ([]profiles.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]profiles.User(nil), s.users...), nil
}

func (s *switchable) Public() (string, error) { return "", nil }

// recordingConverter remembers what it was asked to convert and converts nothing.
type recordingConverter struct {
	mu   sync.Mutex
	reqs []upload.ConvertRequest
}

func (c *recordingConverter) Convert(ctx context.Context, req upload.ConvertRequest) (upload.Converted, error) {
	c.mu.Lock()
	c.reqs = append(c.reqs, req)
	c.mu.Unlock()
	return upload.Converted{}, &upload.Error{Msg: "not converted in this test"}
}

func (c *recordingConverter) asked() []upload.ConvertRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]upload.ConvertRequest(nil), c.reqs...)
}

// TestCropReachesTheConverter: the crop and rotation a GP set travel from Save to
// the conversion; the spool copy (and the original) are never changed.
func TestCropReachesTheConverter(t *testing.T) {
	conv := &recordingConverter{}
	e := newEnv(t, envOpt{relay: fakeRelay{}, uploads: refusingUploads{}, converter: conv})
	ctx := context.Background()
	s := launchAs(t, e, localapi.Peer{}, localapitest.ContextPatient)
	body := localapitest.UniqueJPEG(t)
	it, err := e.a.AddFile(ctx, s.ID, localapi.NewFile{Name: "wound.jpg"}, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	c := localapi.Crop{X: 0.2, Y: 0.1, W: 0.5, H: 0.4}
	if _, err := e.a.Save(ctx, s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{{ID: it.ID, Rotation: 90, Crop: &c}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the conversion", func() bool { return len(conv.asked()) > 0 })
	req := conv.asked()[0]
	if req.Crop != (queue.Crop{X: c.X, Y: c.Y, W: c.W, H: c.H}) || req.Rotation != 90 {
		t.Fatalf("converter asked for crop %+v rotation %d, want %+v and 90", req.Crop, req.Rotation, c)
	}
	spool, err := os.ReadFile(req.Path)
	if err != nil || string(spool) != string(body) {
		t.Fatalf("the spool copy changed: %v", err)
	}
}

// TestCropRefusedOnAPDF: a PDF is a document and is sent whole.
func TestCropRefusedOnAPDF(t *testing.T) {
	e := newEnv(t, envOpt{relay: fakeRelay{}})
	ctx := context.Background()
	s := launchAs(t, e, localapi.Peer{}, localapitest.ContextPatient)
	pdf := "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
	it, err := e.a.AddFile(ctx, s.ID, localapi.NewFile{Name: "letter.pdf"}, strings.NewReader(pdf))
	if err != nil {
		t.Fatal(err)
	}
	c := localapi.Crop{X: 0, Y: 0, W: 0.5, H: 0.5}
	_, err = e.a.Save(ctx, s.ID, localapi.SaveRequest{Items: []localapi.ItemEdit{{ID: it.ID, Crop: &c}}})
	if err != localapi.ErrCropPDF {
		t.Fatalf("crop of a PDF: err = %v, want %v", err, localapi.ErrCropPDF)
	}
}
