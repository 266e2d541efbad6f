package upload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/originals"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

var zzz = queue.Patient{NHI: "ZZZ0016"}

type env struct {
	t      *testing.T
	dir    string
	in     string
	relay  *fakeRelay
	conv   *fakeConverter
	q      *queue.Queue
	u      *Uploader
	cancel context.CancelFunc
	done   chan error
}

func newEnv(t *testing.T) *env {
	dir := t.TempDir()
	e := &env{t: t, dir: dir, in: filepath.Join(dir, "Scans"), relay: newFakeRelay(t), conv: &fakeConverter{}}
	os.MkdirAll(e.in, 0o755)
	e.openQueue()
	return e
}

func (e *env) openQueue() {
	q, err := queue.Open(context.Background(), filepath.Join(e.dir, "data", "queue.db"), filepath.Join(e.dir, "data", "spool"), queue.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.q = q
	e.t.Cleanup(func() { q.Close() })
}

func (e *env) options() Options {
	return Options{
		Queue: e.q, Converter: e.conv, Relay: httpRelay{e.relay.srv.URL},
		RejectedDir: filepath.Join(e.dir, "data", "Rejected"),
		Roots:       originals.Roots{originals.NewRoot(e.in)},
		Backoff:     Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Breaker:     BreakerPolicy{Threshold: 2, Cooldown: 10 * time.Millisecond, MaxCooldown: 40 * time.Millisecond},
	}
}

func (e *env) start(opt Options) {
	e.u = New(opt)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	go func() { e.done <- e.u.Run(ctx) }()
	e.t.Cleanup(e.stop)
}

func (e *env) stop() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
		e.cancel = nil
	}
}

func (e *env) file(name, content string) string {
	p := filepath.Join(e.in, name)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) add(path string, action config.SourceAction, p queue.Patient) queue.Item {
	it, err := e.q.Add(context.Background(), queue.New{Source: "Scanner", SourcePath: path, SourceAction: action,
		Patient: p, Facility: "F99669-C", State: queue.StateQueued})
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// waitState polls until the item reaches want. The limit only stops a hung test.
func (e *env) waitState(id string, want queue.State) queue.Item {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		it, err := e.q.Get(context.Background(), id)
		if err == nil && it.State == want {
			return it
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("item never became %s: %+v %v", want, it, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestSendsVerifiesAndAppliesSourceActions(t *testing.T) {
	e := newEnv(t)
	move := e.add(e.file("ZZZ0016 knee.jpg", "knee"), config.ActionMove, zzz)
	leave := e.add(e.file("leave.jpg", "leave"), config.ActionLeave, zzz)
	del := e.add(e.file("del.jpg", "del"), config.ActionDelete, zzz)
	e.start(e.options())

	m := e.waitState(move.ID, queue.StateSent)
	e.waitState(leave.ID, queue.StateSent)
	e.waitState(del.ID, queue.StateSent)

	docs := e.relay.stored()
	if len(docs) != 3 {
		t.Fatalf("relay holds %d documents", len(docs))
	}
	d := docs[m.DocumentID]
	if string(d.Data) != "TIFF:knee" || d.ContentType != "image/tiff" || d.Key != move.IdempotencyKey || d.Title != "ZZZ0016 knee.tiff" {
		t.Fatalf("stored %+v", d)
	}
	if exists(move.SourcePath) || !exists(filepath.Join(e.in, "Sent", "ZZZ0016 knee.jpg")) {
		t.Fatal("moved source not in Sent")
	}
	if !exists(leave.SourcePath) {
		t.Fatal("left source is gone")
	}
	if exists(del.SourcePath) {
		t.Fatal("deleted source remains")
	}
	if exists(m.SpoolPath) {
		t.Fatal("spool copy of a sent item remains")
	}
	if h := e.u.Health(); h.State != health.OK {
		t.Fatalf("health %+v", h)
	}
	// The left source, seen again by the watcher, is not sent again.
	if _, err := e.q.Add(context.Background(), queue.New{SourcePath: leave.SourcePath, Patient: zzz, Facility: "F99669-C",
		State: queue.StateQueued}); !errors.Is(err, queue.ErrDuplicate) {
		t.Fatalf("left source re-added: %v", err)
	}
}

func TestSentFolderNeverOverwrites(t *testing.T) {
	e := newEnv(t)
	e.file("Sent/a.jpg", "earlier")
	it := e.add(e.file("a.jpg", "later"), config.ActionMove, zzz)
	e.start(e.options())
	e.waitState(it.ID, queue.StateSent)
	a, _ := os.ReadFile(filepath.Join(e.in, "Sent", "a.jpg"))
	b, _ := os.ReadFile(filepath.Join(e.in, "Sent", "a (2).jpg"))
	if string(a) != "earlier" || string(b) != "later" {
		t.Fatalf("Sent holds %q and %q", a, b)
	}
}

func TestRefusalParksThenRetryAndDiscard(t *testing.T) {
	e := newEnv(t)
	e.relay.fail(fault{status: 422, cause: api.CauseRefused, message: "The document type is not accepted by this practice."})
	a := e.add(e.file("a.jpg", "a"), config.ActionMove, zzz)
	e.start(e.options())
	p := e.waitState(a.ID, queue.StateParked)
	if p.Cause != string(api.CauseRefused) || !strings.Contains(p.Reason, "not accepted") || strings.Contains(p.Reason, "422") || !exists(a.SourcePath) {
		t.Fatalf("parked %+v", p)
	}
	if h := e.u.Health(); h.State != health.OK {
		t.Fatalf("a refusal is not an outage: %+v", h)
	}
	if _, err := e.u.Retry(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	e.waitState(a.ID, queue.StateSent)

	// Undecodable content parks with the converter's sentence and keeps the original.
	b := e.add(e.file("b.jpg", "bad bytes"), config.ActionMove, zzz)
	pb := e.waitState(b.ID, queue.StateParked)
	if !strings.Contains(pb.Reason, "not a picture") || !exists(b.SourcePath) {
		t.Fatalf("parked %+v", pb)
	}
	r, err := e.u.Discard(context.Background(), b.ID)
	if err != nil || r.State != queue.StateRejected {
		t.Fatalf("discard: %+v %v", r, err)
	}
	if exists(b.SourcePath) || !exists(filepath.Join(e.in, "Rejected", "b.jpg")) {
		t.Fatal("discarded original not in Rejected")
	}
	if _, err := e.u.Discard(context.Background(), b.ID); err == nil {
		t.Fatal("discarding twice must fail")
	}
}

func TestDiscardCaptureKeepsItsOnlyCopy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	it, err := e.q.AddReader(ctx, queue.New{Source: "capture", FileName: "IMG_0001.jpg", Patient: zzz, State: queue.StateQueued},
		strings.NewReader("bad capture"))
	if err != nil {
		t.Fatal(err)
	}
	e.start(e.options())
	e.waitState(it.ID, queue.StateParked)
	if _, err := e.u.Discard(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(e.dir, "data", "Rejected"))
	if len(ents) != 1 || !strings.HasSuffix(ents[0].Name(), "IMG_0001.jpg") {
		t.Fatalf("Rejected holds %v", ents)
	}
}

func TestOutageOpensBreakerAndResumes(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 6; i++ {
		e.relay.fail(fault{status: 503, message: "Medtech cannot reach the practice."})
	}
	var items []queue.Item
	for i := 0; i < 3; i++ {
		items = append(items, e.add(e.file(fmt.Sprintf("%d.jpg", i), fmt.Sprint(i)), config.ActionMove, zzz))
	}
	e.start(e.options())
	for _, it := range items {
		e.waitState(it.ID, queue.StateSent)
	}
	if len(e.relay.stored()) != 3 {
		t.Fatal("not exactly one document each")
	}
	if h := e.u.Health(); h.State != health.OK {
		t.Fatalf("after recovery: %+v", h)
	}
}

// TestBreakerPausesEveryUpload drives the uploader step by step on a fake clock:
// once the breaker opens, no item is claimed until the cooldown ends; the probe
// that fails reopens it; the probe that succeeds lets the rest through.
func TestBreakerPausesEveryUpload(t *testing.T) {
	e := newEnv(t)
	clock := testutil.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	e.q.Close()
	q, err := queue.Open(context.Background(), filepath.Join(e.dir, "data", "queue.db"), filepath.Join(e.dir, "data", "spool"),
		queue.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	e.q = q
	a := e.add(e.file("a.jpg", "a"), config.ActionMove, zzz)
	b := e.add(e.file("b.jpg", "b"), config.ActionMove, zzz)
	opt := e.options()
	opt.Now = clock.Now
	opt.Breaker = BreakerPolicy{Threshold: 2, Cooldown: time.Minute, MaxCooldown: 4 * time.Minute}
	u := New(opt)
	ctx := context.Background()
	e.relay.fail(fault{status: 503}, fault{status: 503}, fault{status: 503})

	u.step(ctx) // a fails
	u.step(ctx) // b fails: the breaker opens
	if h := u.Health(); h.State != health.Offline {
		t.Fatalf("health after two outages: %+v", h)
	}
	posts := e.relay.postCount()
	wait, err := u.step(ctx)
	if err != nil || wait != time.Minute || e.relay.postCount() != posts {
		t.Fatalf("open breaker: wait %v, err %v, posts %d->%d", wait, err, posts, e.relay.postCount())
	}
	clock.Add(time.Minute)
	u.step(ctx) // the probe fails: open for twice as long
	if wait, _ := u.step(ctx); wait != 2*time.Minute {
		t.Fatalf("after a failed probe wait %v", wait)
	}
	clock.Add(2 * time.Minute)
	for i := 0; i < 2; i++ {
		if _, err := u.step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, it := range []queue.Item{a, b} {
		got, _ := q.Get(ctx, it.ID)
		if got.State != queue.StateSent {
			t.Fatalf("%s after recovery: %s (%s)", it.FileName, got.State, got.Reason)
		}
	}
	if h := u.Health(); h.State != health.OK {
		t.Fatalf("health after recovery: %+v", h)
	}
}

func TestBreakerHealthWhileOpen(t *testing.T) {
	b := NewBreaker(BreakerPolicy{Threshold: 2, Cooldown: time.Second, MaxCooldown: 4 * time.Second})
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	b.Failure(t0)
	if ok, _ := b.Allow(t0); !ok {
		t.Fatal("one failure must not open")
	}
	b.Failure(t0)
	ok, until := b.Allow(t0)
	if ok || !until.Equal(t0.Add(time.Second)) {
		t.Fatalf("open: %v %v", ok, until)
	}
	// The probe fails: longer wait, capped.
	b.Failure(t0.Add(time.Second))
	if _, until := b.Allow(t0.Add(time.Second)); !until.Equal(t0.Add(3 * time.Second)) {
		t.Fatalf("first reopen until %v", until)
	}
	b.Failure(t0.Add(3 * time.Second))
	b.Failure(t0.Add(7 * time.Second))
	if _, until := b.Allow(t0.Add(7 * time.Second)); !until.Equal(t0.Add(11 * time.Second)) {
		t.Fatalf("cooldown not capped: %v", until)
	}
	b.Success(t0.Add(11 * time.Second))
	if st := b.State(); st.Open || st.Failures != 0 {
		t.Fatalf("after success %+v", st)
	}
	for _, c := range []struct {
		cause     api.Cause
		detail    string
		fixNeedle string
	}{
		{api.CauseFacilityOffline, "Hybrid Connection Manager", "awake"},
		{api.CauseFacilityUnknown, "facility", "Medtech support"},
		{api.CauseCredentials, "credentials", "clinicpro enrol"},
		{api.CauseALEXUnavailable, "not answering", "correlation id"},
		{api.CauseRelayUnreachable, "cannot reach the ClinicPro relay", "internet"},
	} {
		e := newEnv(t)
		e.add(e.file("a.jpg", "a"), config.ActionMove, zzz)
		it, err := e.q.Claim(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		u := New(Options{Queue: e.q, Breaker: BreakerPolicy{Threshold: 1, Cooldown: time.Hour}})
		if err := u.failed(context.Background(), context.Background(), it, &Error{Cause: c.cause, Msg: "Patient ZZZ0016: it failed.", Correlation: "corr-9"}); err != nil {
			t.Fatal(err)
		}
		h := u.Health()
		if h.State != health.Offline || !h.Critical || !strings.Contains(h.Detail, c.detail) || !strings.Contains(h.Detail, "corr-9") ||
			h.Fix != c.cause.Fix() || !strings.Contains(h.Fix, c.fixNeedle) {
			t.Errorf("%s: health %+v", c.cause, h)
		}
		if strings.Contains(h.Detail, "ZZZ0016") {
			t.Errorf("health detail leaks an NHI: %q", h.Detail)
		}
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	e := newEnv(t)
	e.relay.fail(fault{status: 429, cause: api.CauseRelayBusy, retryAfter: "1", message: "Slow down."})
	it := e.add(e.file("a.jpg", "a"), config.ActionMove, zzz)
	started := time.Now()
	e.start(e.options())
	q := e.waitState(it.ID, queue.StateQueued)
	for q.Attempts == 0 {
		q = e.waitState(it.ID, queue.StateQueued)
	}
	if gap := q.NextAttempt.Sub(started); gap < time.Second {
		t.Fatalf("next attempt only %v after the 429, Retry-After said 1s", gap)
	}
	e.waitState(it.ID, queue.StateSent)
}

func TestAmbiguousWriteStoresOnce(t *testing.T) {
	e := newEnv(t)
	e.relay.fail(fault{status: 502, cause: api.CauseAmbiguous, storeFirst: true}, fault{status: 504, cause: api.CauseAmbiguous, storeFirst: true})
	it := e.add(e.file("a.jpg", "a"), config.ActionMove, zzz)
	e.start(e.options())
	e.waitState(it.ID, queue.StateSent)
	if n := len(e.relay.stored()); n != 1 {
		t.Fatalf("%d documents after ambiguous writes", n)
	}
}

func TestReadBackMismatchParks(t *testing.T) {
	e := newEnv(t)
	e.relay.mu.Lock()
	e.relay.corrupt = true
	e.relay.mu.Unlock()
	it := e.add(e.file("a.jpg", "a"), config.ActionMove, zzz)
	e.start(e.options())
	p := e.waitState(it.ID, queue.StateParked)
	if !strings.Contains(p.Reason, "reading it back") || !exists(it.SourcePath) {
		t.Fatalf("parked %+v", p)
	}
}

func TestTemporaryConverterErrorRetries(t *testing.T) {
	e := newEnv(t)
	it := e.add(e.file("a.jpg", "busy"), config.ActionMove, zzz)
	e.start(e.options())
	s := e.waitState(it.ID, queue.StateSent)
	if s.Attempts != 1 {
		t.Fatalf("attempts %d", s.Attempts)
	}
}

func TestPause(t *testing.T) {
	e := newEnv(t)
	opt := e.options()
	e.u = New(opt)
	e.u.Pause(true)
	// Drive the loop by hand: a paused uploader claims nothing.
	it := e.add(e.file("a.jpg", "a"), config.ActionMove, zzz)
	wait, err := e.u.step(context.Background())
	if err != nil || wait <= 0 {
		t.Fatal(wait, err)
	}
	if got, _ := e.q.Get(context.Background(), it.ID); got.State != queue.StateQueued {
		t.Fatalf("paused uploader touched the item: %s", got.State)
	}
	e.u.Pause(false)
	if _, err := e.u.step(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.waitState(it.ID, queue.StateSent)
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 10 * time.Second}
	for _, c := range []struct {
		attempts int
		r        float64
		want     time.Duration
	}{
		{0, 0, 500 * time.Millisecond},
		{0, 0.999999999, time.Second - 1},
		{1, 0, time.Second},
		{3, 0.5, 6 * time.Second},
		{10, 0, 5 * time.Second},
		{1000, 0.5, 7500 * time.Millisecond},
	} {
		if got := b.Delay(c.attempts, c.r); got.Round(time.Millisecond) != c.want.Round(time.Millisecond) {
			t.Errorf("Delay(%d, %v) = %v, want %v", c.attempts, c.r, got, c.want)
		}
	}
}

// TestClassify: the uploader acts on the cause the relay client gave, never on a
// status; Retry-After counts only for causes that wait or retry.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err   error
		want  api.Cause
		after time.Duration
	}{
		{&Error{Cause: api.CauseRefused}, api.CauseRefused, 0},
		{&Error{Cause: api.CauseRefused, After: time.Second}, api.CauseRefused, 0},
		{&Error{Cause: api.CausePatientNotFound, After: time.Second}, api.CausePatientNotFound, 0},
		{&Error{Cause: api.CauseRelayBusy, After: 3 * time.Second}, api.CauseRelayBusy, 3 * time.Second},
		{&Error{Cause: api.CauseFacilityOffline, After: time.Second}, api.CauseFacilityOffline, time.Second},
		{&Error{Cause: api.CauseAmbiguous}, api.CauseAmbiguous, 0},
		{&Error{}, api.CauseRelayFailing, 0},
		{&Error{Cause: "from-a-newer-relay"}, api.CauseRelayFailing, 0},
		{fmt.Errorf("wrapped: %w", &Error{Cause: api.CauseUnresolved}), api.CauseUnresolved, 0},
		{errors.New("connection reset"), api.CauseRelayUnreachable, 0},
		{context.DeadlineExceeded, api.CauseRelayUnreachable, 0},
		{context.Canceled, api.CauseRetry, 0},
	} {
		got, after, _ := classify(c.err)
		if got != c.want || after != c.after {
			t.Errorf("%v: got %v %v", c.err, got, after)
		}
	}
}

// TestOneDocumentsProblemNeverPausesTheQueue: items refused, unresolved, for an
// unknown patient or stopped by a search ALEX does not allow are dealt with one by
// one (parked, or back to Unassigned with the reason) while every other item goes
// through, and the breaker never opens.
func TestOneDocumentsProblemNeverPausesTheQueue(t *testing.T) {
	e := newEnv(t)
	e.relay.fail(
		fault{status: 409, cause: api.CauseUnresolved, message: "may already be in Medtech"},
		fault{status: 403, cause: api.CauseALEXForbidden, message: "Authorization failed"},
		fault{status: 501, cause: api.CauseNotExposed, message: "not offered"},
		fault{status: 404, cause: api.CausePatientNotFound, message: "no such patient"},
		fault{status: 400, cause: api.CauseRefused, message: "The title is empty: give the image a title."},
	)
	var bad []queue.Item
	for i := 0; i < 5; i++ {
		bad = append(bad, e.add(e.file(fmt.Sprintf("bad%d.jpg", i), fmt.Sprint("failing-content-", i)), config.ActionMove, zzz))
	}
	good := e.add(e.file("good.jpg", "good"), config.ActionMove, zzz)
	opt := e.options()
	opt.Breaker = BreakerPolicy{Threshold: 1, Cooldown: time.Hour}
	e.start(opt)
	e.waitState(good.ID, queue.StateSent)
	want := map[api.Cause]queue.State{api.CauseUnresolved: queue.StateParked, api.CauseALEXForbidden: queue.StateParked,
		api.CauseNotExposed: queue.StateParked, api.CausePatientNotFound: queue.StateUnassigned, api.CauseRefused: queue.StateParked}
	got := map[api.Cause]queue.Item{}
	testutil.WaitFor(t, "every failing item settled", time.Minute, 20*time.Millisecond, func() bool {
		for _, b := range bad {
			it, _ := e.q.Get(context.Background(), b.ID)
			if it.State != queue.StateParked && it.State != queue.StateUnassigned {
				return false
			}
			got[api.Cause(it.Cause)] = it
		}
		return len(got) == len(want)
	})
	for c, st := range want {
		it := got[c]
		if it.State != st {
			t.Errorf("%s: %s, want %s", c, it.State, st)
		}
		wantReason := c.Sentence() + " " + c.Fix()
		if c == api.CauseRefused {
			wantReason = "The title is empty: give the image a title."
		}
		if it.Reason != wantReason {
			t.Errorf("%s: reason %q, want %q", c, it.Reason, wantReason)
		}
	}
	if it := got[api.CausePatientNotFound]; it.Patient.Known() {
		t.Errorf("an item Medtech has no patient for kept its patient")
	}
	if h := e.u.Health(); h.State != health.OK {
		t.Fatalf("one document's problem reached the uploader's health: %+v", h)
	}
}

// TestBusyRelayHoldsEveryoneWithoutBlame: the relay's own busy answer holds every
// upload for the time it gave and says so, without opening the breaker.
func TestBusyRelayHoldsEveryoneWithoutBlame(t *testing.T) {
	e := newEnv(t)
	e.q.Close()
	clock := testutil.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	q, err := queue.Open(context.Background(), filepath.Join(e.dir, "data", "queue.db"), filepath.Join(e.dir, "data", "spool"),
		queue.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	e.q = q
	e.add(e.file("a.jpg", "a"), config.ActionMove, zzz)
	e.add(e.file("b.jpg", "b"), config.ActionMove, zzz)
	opt := e.options()
	opt.Now = clock.Now
	opt.Breaker = BreakerPolicy{Threshold: 1, Cooldown: time.Hour}
	u := New(opt)
	e.relay.fail(fault{status: 503, cause: api.CauseRelayBusy, retryAfter: "30"})
	ctx := context.Background()
	u.step(ctx)
	h := u.Health()
	if h.State != health.Degraded || !strings.Contains(h.Detail, api.CauseRelayBusy.Sentence()) || h.Fix != api.CauseRelayBusy.Fix() ||
		u.breaker.State().Open {
		t.Fatalf("busy: %+v", h)
	}
	posts := e.relay.postCount()
	if wait, _ := u.step(ctx); wait != 30*time.Second || e.relay.postCount() != posts {
		t.Fatalf("the other item did not wait out the relay: wait %v", wait)
	}
	clock.Add(31 * time.Second)
	if h := u.Health(); h.State != health.OK {
		t.Fatalf("after the wait: %+v", h)
	}
}

// TestCrashAtEveryStepLosesNothingAndDoublesNothing stops the uploader as if the
// process died at each step between claiming and marking sent, many times, reopening
// the queue each time; in the end every file is stored exactly once and every source
// is in Sent.
func TestCrashAtEveryStepLosesNothingAndDoublesNothing(t *testing.T) {
	e := newEnv(t)
	const n = 40
	var items []queue.Item
	for i := 0; i < n; i++ {
		items = append(items, e.add(e.file(fmt.Sprintf("ZZZ0016 %02d.jpg", i), fmt.Sprintf("photo %d", i)), config.ActionMove, zzz))
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	steps := []string{"claimed", "converted", "uploaded", "verified", "source-done"}
	crashes := 0
	for round := 0; round < 200; round++ {
		c, _ := e.q.Counts(context.Background(), time.Time{})
		if c.Queued == 0 && c.Uploading == 0 {
			break
		}
		target := steps[rnd.IntN(len(steps))]
		after := rnd.IntN(3) // let a few items through first
		var mu sync.Mutex
		opt := e.options()
		opt.crash = func(step string) error {
			mu.Lock()
			defer mu.Unlock()
			if step != target {
				return nil
			}
			if after > 0 {
				after--
				return nil
			}
			return errors.New("kill")
		}
		u := New(opt)
		for {
			wait, err := u.step(context.Background())
			if errors.Is(err, errCrashed) {
				crashes++
				break
			}
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if wait > 0 {
				break // nothing due: everything got through before the crash point
			}
		}
		// The process is gone: close the database and start again.
		e.q.Close()
		e.openQueue()
		if au, err := e.q.Audit(context.Background()); err != nil || !au.OK() {
			t.Fatalf("round %d: queue and spool disagree after restart: %+v %v", round, au, err)
		}
	}
	// Finally run to completion with no crashes.
	e.start(e.options())
	for _, it := range items {
		e.waitState(it.ID, queue.StateSent)
	}
	e.stop()
	if crashes < 10 {
		t.Fatalf("only %d crashes exercised", crashes)
	}
	docs := e.relay.stored()
	if len(docs) != n {
		t.Fatalf("relay holds %d documents for %d files", len(docs), n)
	}
	for _, it := range items {
		if exists(it.SourcePath) || !exists(filepath.Join(e.in, "Sent", filepath.Base(it.SourcePath))) {
			t.Fatalf("%s not accounted for in Sent", filepath.Base(it.SourcePath))
		}
	}
	ents, _ := os.ReadDir(filepath.Join(e.in, "Sent"))
	if len(ents) != n {
		t.Fatalf("Sent holds %d files, want %d (a source moved twice?)", len(ents), n)
	}
}

func TestMatches(t *testing.T) {
	sent := Converted{Data: []byte("TIFF:a"), ContentType: "image/tiff"}
	sum := "2c5a4d4f5a8f3dd4d0b9d0c2c0b5a4b8e0f0e36b3f3b0b7d2c1e1b7f0c4b0a9e" // not the digest
	good := fmt.Sprintf("%x", sha256sum(sent.Data))
	for _, c := range []struct {
		got  Stored
		want bool
	}{
		{Stored{ContentType: "image/tiff", Data: []byte("TIFF:a")}, true},
		{Stored{ContentType: "IMAGE/TIFF", SHA256: strings.ToUpper(good)}, true},
		{Stored{ContentType: "image/tiff", SHA256: sum}, false},
		{Stored{ContentType: "application/pdf", Data: []byte("TIFF:a")}, false},
		{Stored{ContentType: "image/tiff", Data: []byte("TIFF:b")}, false},
		{Stored{ContentType: "image/tiff"}, false},
	} {
		if got := matches(c.got, sent); got != c.want {
			t.Errorf("%+v: %v", c.got, got)
		}
	}
}

func sha256sum(b []byte) [32]byte { return sha256.Sum256(b) }

func TestSlowItemDoesNotStallTheQueue(t *testing.T) {
	e := newEnv(t)
	slow := e.add(e.file("slow.jpg", "slow"), config.ActionMove, zzz)
	fine := e.add(e.file("fine.jpg", "fine"), config.ActionMove, zzz)
	opt := e.options()
	opt.ItemTimeout = 50 * time.Millisecond
	opt.Backoff = Backoff{Base: time.Hour, Max: time.Hour}
	e.start(opt)
	e.waitState(fine.ID, queue.StateSent)
	s := e.waitState(slow.ID, queue.StateQueued)
	for s.Attempts == 0 {
		s = e.waitState(slow.ID, queue.StateQueued)
	}
	if !strings.Contains(s.Reason, "took longer") || !s.NextAttempt.After(time.Now().Add(10*time.Minute)) {
		t.Fatalf("slow item: %+v", s)
	}
	if h := e.u.Health(); h.State != health.OK {
		t.Fatalf("a slow file is not an outage: %+v", h)
	}
}

// barrierRelay holds each upload until n are in flight at once (or a minute has
// passed, which the test reports): proof that workers really run side by side.
type barrierRelay struct {
	Relay
	n        int
	mu       sync.Mutex
	arrived  int
	all      chan struct{}
	timedOut bool
}

func (b *barrierRelay) Upload(ctx context.Context, d Document) (Receipt, error) {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	select {
	case <-b.all:
	case <-time.After(time.Minute):
		b.mu.Lock()
		b.timedOut = true
		b.mu.Unlock()
	}
	return b.Relay.Upload(ctx, d)
}

func TestWorkersUploadSideBySide(t *testing.T) {
	e := newEnv(t)
	var items []queue.Item
	for i := 0; i < 6; i++ {
		items = append(items, e.add(e.file(fmt.Sprintf("%d.jpg", i), fmt.Sprint(i)), config.ActionMove, zzz))
	}
	br := &barrierRelay{Relay: httpRelay{e.relay.srv.URL}, n: 3, all: make(chan struct{})}
	opt := e.options()
	opt.Relay, opt.Workers = br, 3
	e.start(opt)
	for _, it := range items {
		e.waitState(it.ID, queue.StateSent)
	}
	br.mu.Lock()
	defer br.mu.Unlock()
	if br.timedOut {
		t.Fatal("three uploads were never in flight together")
	}
	if n := len(e.relay.stored()); n != 6 {
		t.Fatalf("%d documents", n)
	}
}

// TestDocumentCarriesEveryField: what the queue row knows reaches the relay: the
// provider, the date taken (else when it was queued, never when it is sent), the
// kind (decided by the file when nobody chose), the coded body site, the source and a
// title cleaned and cut as the relay cuts it.
func TestDocumentCarriesEveryField(t *testing.T) {
	added := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	taken := time.Date(2026, 11, 20, 1, 5, 6, 0, time.UTC)
	it := queue.Item{IdempotencyKey: "k-00000001", KeyGen: 2, Source: api.SourcePhone, Added: added, Taken: taken,
		Patient: queue.Patient{NHI: "ZZZ0016", ProviderID: "prov-1"},
		Meta:    queue.Meta{Title: "Knee\u202e " + strings.Repeat("x", 300), Laterality: api.LateralityLeft, BodySite: "Knee", BodySiteCode: "72696002"}}
	d := document(it, Converted{ContentType: api.ContentTypePDF, FileName: "scan.pdf"})
	if d.Patient.ProviderID != "prov-1" || !d.Taken.Equal(taken) || d.Kind != api.KindDocument || d.Source != api.SourcePhone ||
		d.BodySiteCode != "72696002" || d.Laterality != api.LateralityLeft || d.IdempotencyKey != "k-00000001.2" ||
		d.Supersedes != "k-00000001" || len([]rune(d.Title)) != api.MaxTitle || strings.ContainsRune(d.Title, '\u202e') {
		t.Fatalf("document %+v", d)
	}
	it.Taken, it.Meta = time.Time{}, queue.Meta{Kind: api.KindPhoto}
	d = document(it, Converted{ContentType: api.ContentTypePDF, FileName: "scan\u0007.pdf"})
	if !d.Taken.Equal(added) || d.Kind != api.KindPhoto || d.Title != "scan.pdf" {
		t.Fatalf("fallbacks %+v", d)
	}
}
