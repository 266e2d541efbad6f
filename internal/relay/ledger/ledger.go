// Package ledger makes document uploads idempotent. Each (connector, idempotency key)
// is claimed before ALEX is called and completed with ALEX's id after, in the relay's
// store, so a replay returns the first result and a write whose outcome is unknown is
// looked up in ALEX before it is ever sent again.
//
// Several relays may share one store. A claim is therefore a lease held by one relay
// (Owner) and renewed while it writes (Hold): another relay that meets the key waits
// for the result instead of writing too, and takes the claim over only once the lease
// has run out, which means its holder died mid-write; the taker then looks in ALEX
// before writing, exactly as after a crash of a single relay.
package ledger

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// State of an entry.
type State string

const (
	// Pending: claimed, the ALEX write has not finished (or the relay stopped mid-way).
	Pending State = "pending"
	// Ambiguous: ALEX may have stored it; look it up before writing again.
	Ambiguous State = "ambiguous"
	// Done: stored in ALEX as DocID.
	Done State = "done"
	// Superseded: an Ambiguous or Pending claim a person released with Send again,
	// after checking the patient's Inbox Scan; the document goes on under a new key.
	Superseded State = "superseded"
)

// Lease is how long a claim stays its holder's without being renewed. Hold renews it
// every Lease/3, so only a relay that died (or lost its store for that long) loses it.
const Lease = 15 * time.Second

// MaxWait bounds how long a claim waits for another relay's write of the same key
// before answering ErrBusy.
const MaxWait = 30 * time.Second

// Entry is one idempotency key of one connector.
type Entry struct {
	Connector   string
	Key         string
	State       State
	SHA256      string
	Size        int64
	ContentType string
	DocID       string
	Correlation string // of the request that claimed it
	Created     time.Time
	Updated     time.Time
	Owner       string    // the relay holding the claim while Pending
	LeaseUntil  time.Time // when the holder's claim runs out unless renewed
	// Proof says what ALEX's answer to the write showed about what it stored: "alex"
	// (the attachment's bytes, whose SHA-256 is SHA256) or "relay" (its size and
	// type, matching what the relay sent); "" when it showed nothing, and a read-back
	// must ask ALEX.
	Proof string
}

// Proofs of what a write stored.
const (
	ProofALEX  = "alex"
	ProofRelay = "relay"
)

// Errors.
var (
	// ErrNotFound is returned when there is no entry.
	ErrNotFound = errors.New("no such document for this connector")
	// ErrBusy: another relay has been writing this key for longer than MaxWait; the
	// caller answers "retry".
	ErrBusy = errors.New("another relay is writing this document")
)

// Store keeps the entries. Insert and TakeOver are atomic in the store, so of
// several relays exactly one holds a key at a time.
type Store interface {
	// LedgerInsert adds e unless its key exists; it reports whether it did.
	LedgerInsert(ctx context.Context, e Entry) (bool, error)
	LedgerGet(ctx context.Context, connector, key string) (Entry, error)
	// LedgerByDocID returns connector's Done entry for ALEX document id.
	LedgerByDocID(ctx context.Context, connector, id string) (Entry, error)
	// LedgerTakeOver makes owner the holder of a key that is not Done when its
	// lease ran out before now, or owner already holds it; it reports whether it did.
	LedgerTakeOver(ctx context.Context, connector, key, owner string, now, until time.Time) (bool, error)
	// LedgerRenew extends owner's lease on a key it still holds.
	LedgerRenew(ctx context.Context, connector, key, owner string, until time.Time) error
	// LedgerSettle sets a key's state and document id and ends its lease.
	LedgerSettle(ctx context.Context, connector, key string, s State, docID string, now time.Time) error
	// LedgerRelease deletes a Pending key.
	LedgerRelease(ctx context.Context, connector, key string) error
	// LedgerProve records what ALEX's answer showed about a Done key.
	LedgerProve(ctx context.Context, connector, key, proof string) error
}

// Ledger is the idempotency ledger of one relay process.
type Ledger struct {
	st    Store
	owner string
	lease time.Duration
}

// New returns a ledger over st, holding claims as a fresh owner (one per process).
func New(st Store) *Ledger {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Ledger{st: st, owner: "relay-" + hex.EncodeToString(b), lease: Lease}
}

// SetLease replaces Lease, for tests of a relay that dies holding a key.
func (l *Ledger) SetLease(d time.Duration) { l.lease = d }

// Claim records e as Pending, held by this relay, when its key is new and returns
// (e, true). When the key exists it returns the stored entry and false: Done means
// replay; Pending or Ambiguous means this relay now holds it and must look in ALEX
// before writing. While another relay holds the key, Claim waits (up to MaxWait,
// then ErrBusy) for it to settle or for its lease to run out.
func (l *Ledger) Claim(ctx context.Context, e Entry) (Entry, bool, error) {
	deadline := time.Now().Add(MaxWait)
	for {
		now := time.Now().UTC()
		e.State, e.Owner, e.LeaseUntil, e.Created, e.Updated = Pending, l.owner, now.Add(l.lease), now, now
		ok, err := l.st.LedgerInsert(ctx, e)
		if err != nil {
			return Entry{}, false, err
		}
		if ok {
			return e, true, nil
		}
		got, err := l.st.LedgerGet(ctx, e.Connector, e.Key)
		if errors.Is(err, ErrNotFound) {
			continue // released between the two statements: claim it afresh
		}
		if err != nil || got.State == Done {
			return got, false, err
		}
		took, err := l.st.LedgerTakeOver(ctx, e.Connector, e.Key, l.owner, now, now.Add(l.lease))
		if err != nil {
			return Entry{}, false, err
		}
		if took {
			got.Owner, got.LeaseUntil = l.owner, now.Add(l.lease)
			return got, false, nil
		}
		if time.Now().After(deadline) {
			return got, false, ErrBusy
		}
		select {
		case <-ctx.Done():
			return Entry{}, false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Hold renews this relay's lease on a key every Lease/3 until the returned function
// is called; call it right after Claim and stop it when the key is settled.
func (l *Ledger) Hold(connector, key string) (stop func()) {
	done := make(chan struct{})
	lease := l.lease
	go func() {
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), lease/3)
				_ = l.st.LedgerRenew(ctx, connector, key, l.owner, time.Now().UTC().Add(lease))
				cancel()
			}
		}
	}()
	return func() { close(done) }
}

// Get returns the entry for a key.
func (l *Ledger) Get(ctx context.Context, connector, key string) (Entry, error) {
	return l.st.LedgerGet(ctx, connector, key)
}

// ByDocID returns the entry whose ALEX document is id, only if connector wrote it.
func (l *Ledger) ByDocID(ctx context.Context, connector, id string) (Entry, error) {
	if id == "" {
		return Entry{}, ErrNotFound
	}
	return l.st.LedgerByDocID(ctx, connector, id)
}

// Complete marks a key Done with ALEX's document id.
func (l *Ledger) Complete(ctx context.Context, connector, key, docID string) error {
	return l.st.LedgerSettle(ctx, connector, key, Done, docID, time.Now().UTC())
}

// Prove records, for a Done key, that ALEX's answer to the write showed what it
// stored (ProofALEX or ProofRelay), so a read-back needs no second call.
func (l *Ledger) Prove(ctx context.Context, connector, key, proof string) error {
	return l.st.LedgerProve(ctx, connector, key, proof)
}

// MarkAmbiguous records that ALEX may have stored the document. The lease ends with
// it: whichever relay sees the retry looks in ALEX.
func (l *Ledger) MarkAmbiguous(ctx context.Context, connector, key string) error {
	return l.st.LedgerSettle(ctx, connector, key, Ambiguous, "", time.Now().UTC())
}

// Release forgets a Pending claim after ALEX definitely did not store the document,
// so a retry writes afresh. An Ambiguous entry is never released: it must be
// resolved by a lookup.
func (l *Ledger) Release(ctx context.Context, connector, key string) error {
	return l.st.LedgerRelease(ctx, connector, key)
}

// Supersede releases a claim whose outcome is unknown (Ambiguous, or Pending with
// its holder's lease run out) when a person chooses Send again, and reports whether
// there was one to release. A Done entry, or one another relay is writing now, is
// never superseded: the caller answers with the document, or the item is retried.
func (l *Ledger) Supersede(ctx context.Context, connector, key string) (bool, error) {
	e, err := l.st.LedgerGet(ctx, connector, key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	now := time.Now().UTC()
	if e.State != Ambiguous && (e.State != Pending || now.Before(e.LeaseUntil)) {
		return false, nil
	}
	return true, l.st.LedgerSettle(ctx, connector, key, Superseded, "", now)
}
