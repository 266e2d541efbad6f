package queue

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

type env struct {
	t     *testing.T
	dir   string
	db    string
	spool string
	clock *testutil.Clock
	q     *Queue
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, db: filepath.Join(dir, "data", "queue.db"), spool: filepath.Join(dir, "data", "spool"),
		clock: testutil.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))}
	e.open()
	return e
}

func (e *env) open() {
	e.t.Helper()
	q, err := Open(context.Background(), e.db, e.spool, Options{Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.q = q
	e.t.Cleanup(func() { q.Close() })
}

func (e *env) reopen() {
	e.t.Helper()
	if err := e.q.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *env) file(name, content string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, "in", name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

var zzz = Patient{NHI: "ZZZ0016"}

func (e *env) add(path string, p Patient) (Item, error) {
	st := StateQueued
	if !p.Known() {
		st = StateUnassigned
	}
	return e.q.Add(context.Background(), New{Source: "Scanner", SourcePath: path, SourceAction: config.ActionMove,
		Patient: p, Facility: "F99669-C", State: st})
}

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestAddCopiesIntoSpoolAndLeavesSource(t *testing.T) {
	e := newEnv(t)
	src := e.file("ZZZ0016 knee.JPG", "jpeg bytes")
	it, err := e.add(src, zzz)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("jpeg bytes"))
	if it.SHA256 != hex.EncodeToString(sum[:]) || it.Size != 10 || it.State != StateQueued {
		t.Fatalf("item: %+v", it)
	}
	if it.FileName != "ZZZ0016 knee.JPG" || it.Patient != zzz || it.IdempotencyKey == "" {
		t.Fatalf("item: %+v", it)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(it.Correlation) {
		t.Fatalf("correlation %q is not a UUIDv4", it.Correlation)
	}
	got, err := os.ReadFile(it.SpoolPath)
	if err != nil || string(got) != "jpeg bytes" {
		t.Fatalf("spool copy: %q %v", got, err)
	}
	if strings.Contains(it.SpoolPath, "ZZZ0016") || filepath.Ext(it.SpoolPath) != ".jpg" {
		t.Fatalf("spool name %q must carry only the id and extension", it.SpoolPath)
	}
	if b, _ := os.ReadFile(src); string(b) != "jpeg bytes" {
		t.Fatal("source changed")
	}
	e.reopen()
	again, err := e.q.Get(context.Background(), it.ID)
	if err != nil || again.SHA256 != it.SHA256 || again.Patient != zzz {
		t.Fatalf("after reopen: %+v %v", again, err)
	}
}

func TestDuplicates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.file("a.jpg", "same")
	first, err := e.add(a, zzz)
	if err != nil {
		t.Fatal(err)
	}
	// The same file seen again (a rescan after restart, or "leave in place").
	dup, err := e.add(a, zzz)
	if !errors.Is(err, ErrDuplicate) || dup.ID != first.ID {
		t.Fatalf("same source: %v %+v", err, dup)
	}
	// Same content for the same patient from another file.
	b := e.file("sub/b.jpg", "same")
	if dup, err := e.add(b, zzz); !errors.Is(err, ErrDuplicate) || dup.ID != first.ID {
		t.Fatalf("same content and patient: %v", err)
	}
	// Same content for another patient is a different document.
	if _, err := e.add(b, Patient{NHI: "ZZZ0024"}); err != nil {
		t.Fatalf("other patient: %v", err)
	}
	// Left-in-place source still recognised after it was sent.
	e.q.Claim(ctx)
	if _, err := e.q.MarkSent(ctx, first.ID, "doc-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.add(a, Patient{}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("sent source seen again: %v", err)
	}
	if n := len(spoolFiles(t, e.spool)); n != 1 { // only the other patient's copy remains
		t.Fatalf("spool has %d files, duplicates must leave nothing behind", n)
	}
}

func TestRejectedItemReleasesItsKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	it, _ := e.add(e.file("a.jpg", "x"), zzz)
	e.q.Claim(ctx)
	e.q.Park(ctx, it.ID, "refused", "bad")
	if _, err := e.q.Reject(ctx, it.ID, "discarded"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(it.SpoolPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("rejected item's spool copy should be gone (the caller moved the original)")
	}
	if _, err := e.add(e.file("a.jpg", "x"), zzz); err != nil {
		t.Fatalf("re-adding rejected content on purpose: %v", err)
	}
}

func TestConcurrentAddsOfOneFileMakeOneItem(t *testing.T) {
	e := newEnv(t)
	src := e.file("a.jpg", strings.Repeat("x", 100000))
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]int{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it, err := e.add(src, zzz)
			if err != nil && !errors.Is(err, ErrDuplicate) {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[it.ID]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	items, _ := e.q.List(context.Background())
	if len(items) != 1 || len(ids) != 1 {
		t.Fatalf("got %d items, ids %v", len(items), ids)
	}
	if n := len(spoolFiles(t, e.spool)); n != 1 {
		t.Fatalf("spool has %d files", n)
	}
}

func TestTransitionsTable(t *testing.T) {
	all := []State{StateStaged, StateUnassigned, StateQueued,
		StateUploading, StateSent, StateParked, StateRejected}
	allowed := map[[2]State]bool{
		{StateStaged, StateQueued}:        true,
		{StateStaged, StateUnassigned}:    true,
		{StateStaged, StateRejected}:      true,
		{StateUnassigned, StateQueued}:    true,
		{StateUnassigned, StateStaged}:    true,
		{StateUnassigned, StateRejected}:  true,
		{StateQueued, StateUploading}:     true,
		{StateQueued, StateParked}:        true,
		{StateUploading, StateSent}:       true,
		{StateUploading, StateQueued}:     true,
		{StateUploading, StateParked}:     true,
		{StateUploading, StateUnassigned}: true, // Medtech has no such patient
		{StateParked, StateQueued}:        true,
		{StateParked, StateRejected}:      true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := CanTransition(from, to); got != allowed[[2]State{from, to}] {
				t.Errorf("%s -> %s: %v", from, to, got)
			}
		}
	}
}

func TestIllegalTransitionsRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	it, _ := e.add(e.file("a.jpg", "x"), zzz)
	var te *TransitionError
	if _, err := e.q.Retry(ctx, it.ID); !errors.As(err, &te) || te.From != StateQueued {
		t.Fatalf("retry of a queued item: %v", err)
	}
	if _, err := e.q.MarkSent(ctx, it.ID, "d"); !errors.As(err, &te) {
		t.Fatalf("sent without uploading: %v", err)
	}
	if _, err := e.q.Reject(ctx, it.ID, ""); !errors.As(err, &te) {
		t.Fatalf("reject of a queued item: %v", err)
	}
	if _, err := e.q.Assign(ctx, it.ID, zzz, "F"); !errors.As(err, &te) {
		t.Fatalf("assign of a queued item: %v", err)
	}
	if err := e.q.Drop(ctx, it.ID); !errors.As(err, &te) {
		t.Fatalf("drop of a queued item: %v", err)
	}
	if _, err := e.q.Retry(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	got, _ := e.q.Get(ctx, it.ID)
	if got.State != StateQueued {
		t.Fatalf("state changed by refused transitions: %s", got.State)
	}
}

func TestClaimOrderBackoffAndRecovery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := e.add(e.file("a.jpg", "a"), zzz)
	e.clock.Add(time.Second)
	b, _ := e.add(e.file("b.jpg", "b"), zzz)

	got, err := e.q.Claim(ctx)
	if err != nil || got.ID != a.ID || got.State != StateUploading {
		t.Fatalf("first claim: %+v %v", got, err)
	}
	if _, err := e.q.Requeue(ctx, a.ID, e.clock.Now().Add(time.Minute), "The relay answered HTTP 503."); err != nil {
		t.Fatal(err)
	}
	got, _ = e.q.Claim(ctx)
	if got.ID != b.ID {
		t.Fatalf("a is backing off, want b; got %s", got.ID)
	}
	if _, err := e.q.Claim(ctx); !errors.Is(err, ErrEmpty) {
		t.Fatalf("nothing due: %v", err)
	}
	due, ok, _ := e.q.NextDue(ctx)
	if !ok || !due.Equal(e.clock.Now().Add(time.Minute)) {
		t.Fatalf("next due %v %v", due, ok)
	}
	// A crash now leaves b uploading; Open puts it back.
	e.reopen()
	b2, _ := e.q.Get(ctx, b.ID)
	if b2.State != StateQueued {
		t.Fatalf("after recovery b is %s", b2.State)
	}
	e.clock.Add(time.Minute)
	if b3, _ := e.q.Claim(ctx); b3.ID != b.ID { // b has been due longest
		t.Fatalf("want b first, got %s", b3.ID)
	}
	a2, _ := e.q.Claim(ctx)
	if a2.ID != a.ID || a2.Attempts != 1 || a2.Reason != "The relay answered HTTP 503." {
		t.Fatalf("a after backoff: %+v", a2)
	}
}

func TestOpenSweepsSpoolCopiesThatWereNeverCommitted(t *testing.T) {
	e := newEnv(t)
	live, _ := e.add(e.file("a.jpg", "a"), zzz)
	// What a crash between copy and commit leaves behind.
	os.WriteFile(filepath.Join(e.spool, "deadbeef.jpg"), []byte("orphan"), 0o600)
	os.WriteFile(filepath.Join(e.spool, "cafe.jpg.tmp"), []byte("half"), 0o600)
	e.reopen()
	files := spoolFiles(t, e.spool)
	if len(files) != 1 || files[0] != filepath.Base(live.SpoolPath) {
		t.Fatalf("spool after recovery: %v", files)
	}
}

func TestUnassignedAssignStageAndSave(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	it, err := e.q.Add(ctx, New{Source: "Scanner", SourcePath: e.file("scan.pdf", "pdf"), State: StateUnassigned,
		Reason: "There is no NHI number in the file name."})
	if err != nil || it.IdempotencyKey != "" || it.State != StateUnassigned {
		t.Fatalf("%+v %v", it, err)
	}
	if _, err := e.q.Assign(ctx, it.ID, Patient{}, "F"); err == nil {
		t.Fatal("assign without a patient must fail")
	}
	st, err := e.q.Stage(ctx, it.ID, Patient{PatientID: "p-1", SessionID: "s-1"}, "F")
	if err != nil || st.State != StateStaged || st.Reason != "" || st.IdempotencyKey == "" {
		t.Fatalf("stage: %+v %v", st, err)
	}
	un, err := e.q.Unstage(ctx, it.ID, "The capture window closed before Save.")
	if err != nil || un.Patient.Known() || un.IdempotencyKey != "" {
		t.Fatalf("unstage: %+v %v", un, err)
	}
	as, err := e.q.Assign(ctx, it.ID, Patient{PatientID: "p-1", SessionID: "s-1"}, "F")
	if err != nil || as.State != StateQueued {
		t.Fatalf("assign: %+v %v", as, err)
	}

	// A capture: staged, then saved with the GP's edits.
	c, err := e.q.AddReader(ctx, New{Source: "capture", FileName: "IMG_0001.jpg", Patient: Patient{PatientID: "p-1", SessionID: "s-1"},
		Facility: "F", State: StateStaged}, bytes.NewReader([]byte("capture")))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := e.q.Save(ctx, c.ID, Meta{Title: "Left knee", Rotation: 90, Laterality: "left", BodySite: "knee"})
	if err != nil || saved.State != StateQueued || saved.Meta.Rotation != 90 || saved.Meta.Laterality != "left" {
		t.Fatalf("save: %+v %v", saved, err)
	}
	// A capture removed before Save disappears with its copy.
	d, _ := e.q.AddReader(ctx, New{Source: "capture", FileName: "x.jpg", Patient: zzz, State: StateStaged}, strings.NewReader("drop me"))
	if err := e.q.Drop(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.SpoolPath); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("dropped capture's copy remains")
	}
	if _, err := e.q.Get(ctx, d.ID); !errors.Is(err, ErrNotFound) {
		t.Fatal("dropped capture remains")
	}
}

func TestAssignToPatientWhoAlreadyHasTheContentIsDuplicate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.add(e.file("a.jpg", "same"), zzz)
	un, _ := e.add(e.file("b.jpg", "same"), Patient{})
	if _, err := e.q.Assign(ctx, un.ID, zzz, "F99669-C"); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("want ErrDuplicate, got %v", err)
	}
	got, _ := e.q.Get(ctx, un.ID)
	if got.State != StateUnassigned {
		t.Fatalf("state %s", got.State)
	}
}

func TestReasonsAreRedacted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	it, _ := e.add(e.file("a.jpg", "a"), zzz)
	e.q.Claim(ctx)
	p, err := e.q.Park(ctx, it.ID, "", "ALEX said patient ZZZ0016 has no such record.")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(p.Reason, "ZZZ0016") || !strings.Contains(p.Reason, "[redacted]") {
		t.Fatalf("reason %q", p.Reason)
	}
}

func TestCountsAndLastSent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := e.add(e.file("a.jpg", "a"), zzz)
	e.add(e.file("b.jpg", "b"), zzz)
	e.add(e.file("c.jpg", "c"), Patient{})
	d, _ := e.add(e.file("d.jpg", "d"), zzz)
	e.q.Claim(ctx)
	e.q.MarkSent(ctx, a.ID, "doc")
	e.q.Claim(ctx)
	e.q.Park(ctx, e.mustClaimedID(), "", "x")
	_ = d
	c, err := e.q.Counts(ctx, e.clock.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Queued: 1, Uploading: 0, Parked: 1, Unassigned: 1, SentToday: 1}
	if c != want {
		t.Fatalf("counts %+v, want %+v", c, want)
	}
	last, _ := e.q.LastSent(ctx)
	if !last.Equal(e.clock.Now()) {
		t.Fatalf("last sent %v", last)
	}
}

func (e *env) mustClaimedID() string {
	items, _ := e.q.List(context.Background(), StateUploading)
	if len(items) != 1 {
		e.t.Fatalf("%d uploading", len(items))
	}
	return items[0].ID
}

func TestOnChangeAndWake(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Clinic data #1") // spaces and '#' from --data must work
	var mu sync.Mutex
	var states []State
	q, err := Open(context.Background(), filepath.Join(dir, "q.db"), filepath.Join(dir, "spool"), Options{OnChange: func(it Item) {
		mu.Lock()
		states = append(states, it.State)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	p := filepath.Join(dir, "a.jpg")
	os.WriteFile(p, []byte("a"), 0o644)
	if _, err := q.Add(context.Background(), New{SourcePath: p, Patient: zzz, State: StateQueued}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-q.Wake():
	default:
		t.Fatal("adding a queued item must wake the uploader")
	}
	q.Claim(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if len(states) != 2 || states[0] != StateQueued || states[1] != StateUploading {
		t.Fatalf("changes %v", states)
	}
}

func TestTooLargeAndUnreadable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	_, err := e.q.AddReader(ctx, New{FileName: "huge.jpg", Patient: zzz, State: StateQueued},
		&zeroReader{n: MaxFileSize + 1})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("want ErrTooLarge, got %v", err)
	}
	_, err = e.add(filepath.Join(e.dir, "in", "ZZZ0016 missing.jpg"), zzz)
	if !errors.Is(err, os.ErrNotExist) || strings.Contains(err.Error(), "ZZZ0016") {
		t.Fatalf("missing file error must not carry the path: %v", err)
	}
	if n := len(spoolFiles(t, e.spool)); n != 0 {
		t.Fatalf("failed adds left %d spool files", n)
	}
}

type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, errors.New("EOF") // never reached: LimitReader stops first
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

func TestIdempotencyKey(t *testing.T) {
	k := IdempotencyKey("abc", zzz, "F1")
	if k != IdempotencyKey("abc", zzz, "F1") || len(k) != 32 {
		t.Fatal("key not stable")
	}
	for _, other := range []string{IdempotencyKey("abd", zzz, "F1"), IdempotencyKey("abc", Patient{NHI: "ZZZ0024"}, "F1"),
		IdempotencyKey("abc", zzz, "F2"), IdempotencyKey("abc", Patient{PatientID: "ZZZ0016"}, "F1")} {
		if other == k {
			t.Fatal("distinct inputs share a key")
		}
	}
	if strings.Contains(k, "ZZZ") {
		t.Fatal("key leaks the NHI")
	}
}

func TestDurabilitySettings(t *testing.T) {
	e := newEnv(t)
	var mode string
	var sync, busy int
	e.q.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	e.q.db.QueryRow("PRAGMA synchronous").Scan(&sync)
	e.q.db.QueryRow("PRAGMA busy_timeout").Scan(&busy)
	if mode != "wal" || sync != 2 || busy != 10000 {
		t.Fatalf("journal_mode=%s synchronous=%d busy_timeout=%d", mode, sync, busy)
	}
}

func TestAudit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, _ := e.add(e.file("a.jpg", "a"), zzz)
	b, _ := e.add(e.file("b.jpg", "b"), zzz)
	e.q.Claim(ctx)
	e.q.MarkSent(ctx, a.ID, "doc")
	au, err := e.q.Audit(ctx)
	if err != nil || !au.OK() || au.States[StateSent] != 1 || au.States[StateQueued] != 1 {
		t.Fatalf("healthy queue: %+v %v", au, err)
	}
	os.Remove(b.SpoolPath)
	os.WriteFile(filepath.Join(e.spool, "stray.jpg"), []byte("x"), 0o600)
	au, _ = e.q.Audit(ctx)
	if au.OK() || len(au.MissingCopies) != 1 || au.MissingCopies[0] != b.ID || len(au.StraySpool) != 1 {
		t.Fatalf("damaged queue: %+v", au)
	}
}

func TestListSentSince(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	send := func(name string) Item {
		it, err := e.add(e.file(name, name), zzz)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.q.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.q.MarkSent(ctx, it.ID, "doc-"+name); err != nil {
			t.Fatal(err)
		}
		return it
	}
	send("old.jpg")
	e.clock.Add(2 * time.Hour)
	cutoff := e.clock.Now()
	recent := send("recent.jpg")
	e.add(e.file("waiting.jpg", "waiting"), zzz)
	got, err := e.q.ListSentSince(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != recent.ID || got[0].State != StateSent || got[0].DocumentID != "doc-recent.jpg" {
		t.Fatalf("sent since the cutoff: %+v", got)
	}
	if got, _ := e.q.ListSentSince(ctx, cutoff.Add(time.Second)); len(got) != 0 {
		t.Fatalf("%d items sent after the last send", len(got))
	}
}

// TestContractFieldsRoundTrip: every field of the upload contract the queue keeps
// comes back as it went in.
func TestContractFieldsRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	taken := time.Date(2026, 11, 20, 14, 5, 6, 0, time.UTC)
	it, err := e.q.Add(ctx, New{Source: "camera", Folder: "SD card", SourcePath: e.file("k.jpg", "k"), SourceAction: config.ActionMove,
		Patient: Patient{NHI: "ZZZ0016", ProviderID: "prov-1"}, Facility: "F99669-C", State: StateQueued, Taken: taken,
		Meta: Meta{Title: "Knee", Laterality: "left", BodySite: "Knee", BodySiteCode: "72696002", Kind: "photo"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := e.q.Get(ctx, it.ID)
	if got.Source != "camera" || got.Folder != "SD card" || !got.Taken.Equal(taken) || got.Patient.ProviderID != "prov-1" ||
		got.Meta.BodySiteCode != "72696002" || got.Meta.Kind != "photo" || got.KeyGen != 1 || got.SendKey() != got.IdempotencyKey ||
		got.PreviousKey() != "" {
		t.Fatalf("round trip: %+v", got)
	}
}

// TestCropIsKeptWithTheSave: the crop the GP drew is stored with the save and
// survives a restart; the whole image is stored as no crop.
func TestCropIsKeptWithTheSave(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	it, err := e.q.Add(ctx, New{Source: "drop", SourcePath: e.file("c.jpg", "c"), Patient: zzz, Facility: "F99669-C", State: StateStaged})
	if err != nil {
		t.Fatal(err)
	}
	c := Crop{X: 0.1, Y: 0.2, W: 0.5, H: 0.25}
	if _, err := e.q.Save(ctx, it.ID, Meta{Crop: c}); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	got, err := e.q.Get(ctx, it.ID)
	if err != nil || got.Meta.Crop != c {
		t.Fatalf("after reopening: crop %+v, %v", got.Meta.Crop, err)
	}
	if cropText(Crop{W: 1, H: 1}) != "" || parseCrop(`{"x":0.5,"y":0,"w":0.7,"h":1}`) != (Crop{}) {
		t.Fatal("the whole image is stored as a crop, or a crop outside the image is read back")
	}
}

// TestSendAgainMovesTheKeyOn: a parked item whose earlier attempt may be in Medtech
// is sent again only under the next generation of its key, which names the one it
// replaces.
func TestSendAgainMovesTheKeyOn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	it, _ := e.add(e.file("a.jpg", "x"), zzz)
	e.q.Claim(ctx)
	if _, err := e.q.SendAgain(ctx, it.ID); err == nil {
		t.Fatal("an uploading item was sent again")
	}
	p, _ := e.q.Park(ctx, it.ID, "unresolved", "This file may already be in Medtech.")
	if p.Cause != "unresolved" {
		t.Fatalf("parked: %+v", p)
	}
	again, err := e.q.SendAgain(ctx, it.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.State != StateQueued || again.KeyGen != 2 || again.SendKey() != it.IdempotencyKey+".2" ||
		again.PreviousKey() != it.IdempotencyKey || again.Cause != "" || again.Reason != "" || again.Attempts != 0 {
		t.Fatalf("sent again: %+v", again)
	}
	e.reopen()
	if got, _ := e.q.Get(ctx, it.ID); got.KeyGen != 2 {
		t.Fatalf("generation not kept: %d", got.KeyGen)
	}
}

// TestUnknownPatientGoesToUnassignedAndCanBeReassigned: an item whose patient
// Medtech does not have goes back to Unassigned with the reason, forgetting the
// patient; given another, it is queued under a new key. A parked item can be given
// another patient too.
func TestUnknownPatientGoesToUnassignedAndCanBeReassigned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	it, _ := e.add(e.file("a.jpg", "x"), Patient{NHI: "ZAA0075"})
	e.q.Claim(ctx)
	un, err := e.q.Unassign(ctx, it.ID, "patient_not_found", "Medtech has no patient with this NHI at this practice.")
	if err != nil {
		t.Fatal(err)
	}
	if un.State != StateUnassigned || un.Patient.Known() || un.IdempotencyKey != "" || un.Cause != "patient_not_found" {
		t.Fatalf("unassigned: %+v", un)
	}
	as, err := e.q.Assign(ctx, it.ID, Patient{NHI: "ZZZ0016", SessionID: "s1", ProviderID: "prov-1"}, "F99669-C")
	if err != nil {
		t.Fatal(err)
	}
	if as.State != StateQueued || as.Patient.NHI != "ZZZ0016" || as.Patient.ProviderID != "prov-1" ||
		as.IdempotencyKey == it.IdempotencyKey || as.Cause != "" || as.Reason != "" {
		t.Fatalf("assigned: %+v", as)
	}

	b, _ := e.add(e.file("b.jpg", "y"), zzz)
	e.q.Claim(ctx)
	e.q.Claim(ctx)
	e.q.Park(ctx, b.ID, "alex_forbidden", "refused")
	moved, err := e.q.Assign(ctx, b.ID, Patient{NHI: "ZZZ0024"}, "F99669-C")
	if err != nil || moved.State != StateQueued || moved.Patient.NHI != "ZZZ0024" || moved.IdempotencyKey == b.IdempotencyKey {
		t.Fatalf("parked item given another patient: %+v %v", moved, err)
	}
	if _, err := e.q.Stage(ctx, moved.ID, zzz, "F99669-C"); err == nil {
		t.Fatal("a queued item was staged")
	}
}

// TestSchema1IsUpgraded opens a queue written by the previous release: its rows
// gain the new columns, and the folder label it kept as the source moves to folder.
func TestSchema1IsUpgraded(t *testing.T) {
	e := newEnv(t)
	e.q.Close()
	os.Remove(e.db)
	db, err := sql.Open("sqlite", e.db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO items (id, state, source, file_name, spool_name, size, sha256, nhi, idem_key, correlation, added, updated)
		VALUES ('old1','parked','Scanner','a.jpg','old1.jpg',1,'aa','ZZZ0016','k-old-1','c',1,1),
		       ('old2','queued','drop','b.jpg','old2.jpg',1,'bb','ZZZ0016','k-old-2','c',1,1)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	e.open()
	ctx := context.Background()
	a, err := e.q.Get(ctx, "old1")
	if err != nil || a.Source != "drop" || a.Folder != "Scanner" || a.KeyGen != 1 || a.SendKey() != "k-old-1" {
		t.Fatalf("upgraded row: %+v %v", a, err)
	}
	if b, _ := e.q.Get(ctx, "old2"); b.Source != "drop" || b.Folder != "" {
		t.Fatalf("upgraded drop row: %+v", b)
	}
	e.reopen() // upgrading twice is harmless
}
