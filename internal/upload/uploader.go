package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/originals"
	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Options configure an Uploader. Queue, Converter and Relay are required.
type Options struct {
	Queue     *queue.Queue
	Converter Converter
	Relay     Relay
	// ByteBudget is passed to the converter; config.DefaultByteBudget when zero.
	ByteBudget int64
	// RejectedDir receives discarded items that have no source file of their own.
	RejectedDir string
	// Roots are the watched folders: an original is moved or deleted only inside
	// the one it came from, and left alone when it is in none.
	Roots   RootFinder
	Backoff Backoff
	Breaker BreakerPolicy
	// Workers is how many items are converted and sent at once; 1 when zero. More
	// shortens a burst on a PC with cores to spare, at the cost of the GP's CPU.
	Workers int
	// ItemTimeout bounds converting, sending and reading back one item, so one
	// pathological file cannot stall the queue; 5 min when zero.
	ItemTimeout time.Duration
	Now         func() time.Time // time.Now when nil
	Log         *slog.Logger     // must be a redacting logger in production

	// crash, when set, is called between steps; a non-nil error makes the uploader
	// stop at once as if the process died there. Tests use it.
	crash func(step string) error
}

// RootFinder finds the watched folder an original is in: originals.Roots, or the
// agent's set, which grows as users with a per-user folder sign in.
type RootFinder interface {
	Find(path string) (originals.Root, string, bool)
}

// Uploader drains the queue. Create with New, start with Run.
type Uploader struct {
	opt     Options
	q       *queue.Queue
	now     func() time.Time
	log     *slog.Logger
	breaker *Breaker

	mu        sync.Mutex
	paused    bool
	holdUntil time.Time // a wait cause's Retry-After holds every upload, not just one item
	holdCause api.Cause
	lastCause api.Cause // of the last failure that counted against the breaker
	lastCorr  string
	poke      chan struct{}
	rnd       *rand.Rand
}

// New creates an Uploader.
func New(opt Options) *Uploader {
	if opt.ByteBudget == 0 {
		opt.ByteBudget = config.DefaultByteBudget
	}
	if opt.ItemTimeout <= 0 {
		opt.ItemTimeout = 5 * time.Minute
	}
	if opt.Roots == nil {
		opt.Roots = originals.Roots(nil)
	}
	u := &Uploader{opt: opt, q: opt.Queue, now: opt.Now, log: opt.Log, poke: make(chan struct{}, 1),
		rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	if u.now == nil {
		u.now = time.Now
	}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	u.breaker = NewBreaker(opt.Breaker)
	return u
}

// Pause stops starting new uploads (the queue keeps accepting items); an upload in
// progress finishes.
func (u *Uploader) Pause(paused bool) {
	u.mu.Lock()
	u.paused = paused
	u.mu.Unlock()
	u.wake()
}

// Paused reports whether uploads are paused.
func (u *Uploader) Paused() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.paused
}

func (u *Uploader) wake() {
	select {
	case u.poke <- struct{}{}:
	default:
	}
}

// Health reports the connection to Medtech as the uploader sees it, in the words of
// the last failure's cause.
func (u *Uploader) Health() health.Check {
	c := health.Check{Name: CheckName, Title: "Sending to Medtech", Critical: true}
	st := u.breaker.State()
	now := u.now()
	u.mu.Lock()
	cause, corr, hold, holdCause := u.lastCause, u.lastCorr, u.holdUntil, u.holdCause
	u.mu.Unlock()
	c.Since = st.Since
	switch {
	case st.Open:
		c.State, c.Detail, c.Fix = health.Offline, "Uploads are paused. "+cause.Sentence()+withCorrelation(corr), cause.Fix()
	case now.Before(hold):
		c.State, c.Detail, c.Fix = health.Degraded, "Uploads are waiting. "+holdCause.Sentence(), holdCause.Fix()
	case st.Failures > 0:
		c.State = health.Degraded
		c.Detail, c.Fix = "The last upload attempt failed and will be retried. "+cause.Sentence()+withCorrelation(corr), cause.Fix()
	default:
		c.State = health.OK
		c.Detail = "Uploads are working."
	}
	return c
}

// CheckName is the uploader's health check.
const CheckName = "upload.relay"

func withCorrelation(corr string) string {
	if corr == "" {
		return ""
	}
	return " (correlation id " + corr + ")"
}

// Run drains the queue until ctx ends; it returns nil then. Items it was working on
// when stopped go back to the queue.
func (u *Uploader) Run(ctx context.Context) error {
	n := max(u.opt.Workers, 1)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errs <- u.loop(ctx) }()
	}
	var first error
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (u *Uploader) loop(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		wait, err := u.step(ctx)
		if errors.Is(err, errCrashed) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			u.log.Error("upload step failed", "err", err)
			wait = time.Second
		}
		if wait <= 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-u.q.Wake():
		case <-u.poke:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// idle is the longest the loop sleeps with nothing due; a queue change wakes it sooner.
const idle = time.Minute

// step uploads at most one item and says how long to wait before the next step.
func (u *Uploader) step(ctx context.Context) (time.Duration, error) {
	now := u.now()
	u.mu.Lock()
	paused, hold := u.paused, u.holdUntil
	u.mu.Unlock()
	if paused {
		return idle, nil
	}
	if now.Before(hold) {
		return hold.Sub(now), nil
	}
	if ok, until := u.breaker.Allow(now); !ok {
		return until.Sub(now), nil
	}
	it, err := u.q.Claim(ctx)
	if errors.Is(err, queue.ErrEmpty) {
		due, ok, err := u.q.NextDue(ctx)
		if err != nil || !ok {
			return idle, err
		}
		return min(max(due.Sub(now), 10*time.Millisecond), idle), nil
	}
	if err != nil {
		return 0, err
	}
	u.wake() // there may be more: let an idle worker look
	return 0, u.process(ctx, it)
}

var errCrashed = errors.New("crashed (test)")

func (u *Uploader) crashAt(step string) error {
	if u.opt.crash != nil && u.opt.crash(step) != nil {
		return errCrashed
	}
	return nil
}

// process takes one claimed (uploading) item as far as it can go.
func (u *Uploader) process(parent context.Context, it queue.Item) error {
	if err := u.crashAt("claimed"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(parent, u.opt.ItemTimeout)
	defer cancel()
	// Queue writes finish even when stopping: a half-recorded outcome only costs a
	// repeat upload after restart, but there is no reason to pay it.
	db := context.WithoutCancel(parent)
	conv, err := u.opt.Converter.Convert(ctx, ConvertRequest{
		Path: it.SpoolPath, FileName: it.FileName, Format: it.Format,
		ByteBudget: u.opt.ByteBudget, Rotation: it.Meta.Rotation, Crop: it.Meta.Crop,
	})
	if parent.Err() != nil {
		return u.release(it)
	}
	if ctx.Err() != nil {
		return u.tooSlow(parent, it)
	}
	if err != nil {
		if temporary(err) {
			return u.retryLater(db, it, err, 0)
		}
		_, perr := u.q.Park(db, it.ID, "", err.Error())
		u.log.Warn("item parked: conversion failed", "item", it.ID, "correlation", it.Correlation, "err", err)
		return perr
	}
	if err := u.crashAt("converted"); err != nil {
		return err
	}
	rec, err := u.opt.Relay.Upload(ctx, document(it, conv))
	if cerr := u.crashAt("uploaded"); cerr != nil {
		return cerr // the ambiguous write: stored, but we never heard
	}
	if err != nil {
		return u.failed(parent, ctx, it, err)
	}
	got, err := u.opt.Relay.ReadBack(ctx, rec.DocumentID, it.Correlation)
	if err != nil {
		return u.failed(parent, ctx, it, err)
	}
	if !matches(got, conv) {
		u.breaker.Success(u.now())
		_, perr := u.q.Park(db, it.ID, "", fmt.Sprintf(
			"Medtech stored the file but reading it back gave different content (document %s): check it in the patient's inbox, then discard or retry.", rec.DocumentID))
		return perr
	}
	u.breaker.Success(u.now())
	if err := u.crashAt("verified"); err != nil {
		return err
	}
	note := ""
	if err := u.applySourceAction(it); err != nil {
		// The image is safely in Medtech; a source we could not move is only untidy,
		// and the queue remembers it was sent, so it is not sent again.
		note = "Sent, but the original could not be tidied away: " + err.Error()
		u.log.Warn("source action failed after upload", "item", it.ID, "err", err)
	}
	if err := u.crashAt("source-done"); err != nil {
		return err
	}
	u.clearCutShort(db, it)
	if _, err := u.q.MarkSent(db, it.ID, rec.DocumentID); err != nil {
		return err
	}
	if note != "" {
		u.log.Info("item sent", "item", it.ID, "correlation", it.Correlation, "note", note)
	} else {
		u.log.Info("item sent", "item", it.ID, "correlation", it.Correlation)
	}
	return nil
}

// document is everything the queue row says about the item, in the upload
// contract's terms: nothing known about it is dropped on the way to the relay.
func document(it queue.Item, conv Converted) Document {
	title := api.CleanTitle(it.Meta.Title)
	if title == "" {
		title = api.CleanTitle(conv.FileName)
	}
	kind := it.Meta.Kind
	if kind == "" {
		kind = api.DefaultKind(conv.ContentType)
	}
	taken := it.Taken
	if taken.IsZero() {
		taken = it.Added
	}
	return Document{
		IdempotencyKey: it.SendKey(), Supersedes: it.PreviousKey(), Correlation: it.Correlation, Facility: it.Facility,
		Patient: it.Patient, Title: title, Kind: kind, Source: it.Source, Laterality: it.Meta.Laterality,
		BodySite: it.Meta.BodySite, BodySiteCode: it.Meta.BodySiteCode, FileName: conv.FileName,
		ContentType: conv.ContentType, Data: conv.Data, Taken: taken,
	}
}

// matches reports whether what ALEX holds is what we sent.
func matches(got Stored, sent Converted) bool {
	if !strings.EqualFold(got.ContentType, sent.ContentType) {
		return false
	}
	sum := sha256.Sum256(sent.Data)
	if got.Data == nil && got.SHA256 != "" {
		return strings.EqualFold(got.SHA256, hex.EncodeToString(sum[:]))
	}
	return sha256.Sum256(got.Data) == sum
}

// tooSlow retries an item whose own time ran out. It is not an outage: one huge or
// strange file must not pause everyone else's uploads.
func (u *Uploader) tooSlow(ctx context.Context, it queue.Item) error {
	return u.retryLater(ctx, it, fmt.Errorf("converting and sending the file took longer than %v; it will be tried again", u.opt.ItemTimeout), 0)
}

// failed handles an error from the relay by its cause's scope. ctx is the
// uploader's, itemCtx the item's own (with its timeout). Only a cause that stops
// every upload alike counts against the breaker: one document's problem (refused,
// ambiguous, an unknown patient, a search ALEX does not allow) never pauses the
// queue for the others.
func (u *Uploader) failed(ctx, itemCtx context.Context, it queue.Item, err error) error {
	if ctx.Err() != nil {
		return u.release(it)
	}
	if itemCtx.Err() != nil {
		return u.tooSlow(ctx, it)
	}
	cause, after, corr := classify(err)
	switch cause.Scope() {
	case api.ScopeEveryone:
		u.mu.Lock()
		u.lastCause, u.lastCorr = cause, corr
		u.mu.Unlock()
		u.breaker.Failure(u.now())
		u.log.Warn("upload failed for every item", "item", it.ID, "correlation", it.Correlation, "cause", string(cause), "err", err)
		// Due again at once: the breaker, not the item's backoff, decides when to
		// try, so the whole queue resumes as soon as a probe succeeds.
		_, qerr := u.q.Requeue(ctx, it.ID, u.now().Add(after), cause.Sentence())
		return qerr
	case api.ScopeWait:
		after = max(after, minHold)
		u.mu.Lock()
		u.holdUntil, u.holdCause = u.now().Add(after), cause
		u.mu.Unlock()
		return u.retryLater(ctx, it, err, after)
	case api.ScopePark:
		u.breaker.Success(u.now()) // the far side answered: it is up
		_, perr := u.q.Park(ctx, it.ID, string(cause), reasonFor(cause, err))
		u.log.Warn("item parked", "item", it.ID, "correlation", it.Correlation, "cause", string(cause), "err", err)
		return perr
	case api.ScopeUnassign:
		u.breaker.Success(u.now())
		_, perr := u.q.Unassign(ctx, it.ID, string(cause), reasonFor(cause, err))
		u.log.Warn("item returned to Unassigned", "item", it.ID, "correlation", it.Correlation, "cause", string(cause))
		return perr
	}
	return u.retryLater(ctx, it, err, after)
}

// minHold is the shortest pause a wait cause without Retry-After imposes.
const minHold = 5 * time.Second

func (u *Uploader) retryLater(ctx context.Context, it queue.Item, err error, after time.Duration) error {
	u.mu.Lock()
	d := u.opt.Backoff.Delay(it.Attempts, u.rnd.Float64())
	u.mu.Unlock()
	d = max(d, after)
	u.log.Info("upload will be retried", "item", it.ID, "correlation", it.Correlation, "in", d.Round(time.Millisecond), "err", err)
	_, qerr := u.q.Requeue(ctx, it.ID, u.now().Add(d), err.Error())
	return qerr
}

// release puts an item back untouched when we are stopping mid-way.
func (u *Uploader) release(it queue.Item) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := u.q.Release(ctx, it.ID)
	return err
}

// reasonFor is what a person reads on a parked or unassigned item: the cause's
// sentence and fix, or, for a refusal, the relay's own sentence, which says what was
// wrong with this file.
func reasonFor(cause api.Cause, err error) string {
	var e *Error
	if cause == api.CauseRefused && errors.As(err, &e) && e.Msg != "" {
		return e.Msg
	}
	return cause.Sentence() + " " + cause.Fix()
}
