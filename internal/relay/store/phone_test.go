package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/phone"
	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/relay/store/storetest"
)

func newPhoneSession(connector string, now time.Time) phone.Session {
	_, h := phone.Secret()
	return phone.Session{ID: phone.NewID(), Connector: connector, Facility: "F2N060-E", Capture: phone.NewID(),
		Practice: "Healthier Care", Word: phone.NewWord(), TokenHash: h, Created: now, Expires: now.Add(phone.UnpairedTTL)}
}

func pairedSession(t *testing.T, st phone.Store, connector string, now time.Time) phone.Session {
	t.Helper()
	s := newPhoneSession(connector, now)
	if err := st.PhoneCreate(context.Background(), s, phone.MaxOpenPerConnector); err != nil {
		t.Fatal(err)
	}
	_, dev := phone.Secret()
	if err := st.PhonePair(context.Background(), s.ID, dev, now, now.Add(phone.PairedTTL)); err != nil {
		t.Fatal(err)
	}
	s.DeviceHash = dev
	return s
}

// A session's life: created, paired once, a photo in pieces (a piece at the wrong
// offset refused with where to resume), delivered (its bytes erased), ended.
func TestPhoneSessionLife(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		s := newPhoneSession("cpc_a", now)
		if err := st.PhoneCreate(ctx, s, phone.MaxOpenPerConnector); err != nil {
			t.Fatal(err)
		}
		got, err := st.PhoneByToken(ctx, s.TokenHash)
		if err != nil || got.ID != s.ID || got.State != phone.Waiting || got.Word != s.Word {
			t.Fatalf("by token: %+v %v", got, err)
		}
		_, dev := phone.Secret()
		if err := st.PhonePair(ctx, s.ID, dev, now, now.Add(phone.PairedTTL)); err != nil {
			t.Fatal(err)
		}
		_, dev2 := phone.Secret()
		if err := st.PhonePair(ctx, s.ID, dev2, now, now.Add(phone.PairedTTL)); !errors.Is(err, phone.ErrAlreadyPaired) {
			t.Fatalf("second pairing: %v", err)
		}
		if got, err := st.PhoneByDevice(ctx, dev); err != nil || got.ID != s.ID || got.State != phone.Paired {
			t.Fatalf("by device: %+v %v", got, err)
		}
		if _, err := st.PhoneByDevice(ctx, dev2); !errors.Is(err, phone.ErrNotFound) {
			t.Fatalf("the refused phone's cookie: %v", err)
		}

		data := bytes.Repeat([]byte{0xAB}, 2500)
		p, err := st.PhonePhotoStart(ctx, "cpc_a", phone.Photo{ID: phone.NewID(), Session: s.ID, Key: "photo-0001", Size: 2500,
			ContentType: "image/jpeg", Taken: "2024-05-01T10:11:12", Created: now})
		if err != nil || p.State != phone.Receiving {
			t.Fatalf("start: %+v %v", p, err)
		}
		// Starting it again (a retry) gives the same photo; another size is refused.
		if again, err := st.PhonePhotoStart(ctx, "cpc_a", phone.Photo{ID: phone.NewID(), Session: s.ID, Key: "photo-0001", Size: 2500}); err != nil || again.ID != p.ID {
			t.Fatalf("restart: %+v %v", again, err)
		}
		if _, err := st.PhonePhotoStart(ctx, "cpc_a", phone.Photo{ID: phone.NewID(), Session: s.ID, Key: "photo-0001", Size: 9}); !errors.Is(err, phone.ErrPhotoChanged) {
			t.Fatalf("another size under the same key: %v", err)
		}
		if _, err := st.PhonePhotoAppend(ctx, p.ID, 0, data[:1000], now); err != nil {
			t.Fatal(err)
		}
		var oe *phone.OffsetError
		if _, err := st.PhonePhotoAppend(ctx, p.ID, 0, data[:1000], now); !errors.As(err, &oe) || oe.Received != 1000 {
			t.Fatalf("a piece sent twice: %v", err)
		}
		if _, err := st.PhonePhotoAppend(ctx, p.ID, 1000, append(bytes.Clone(data[1000:]), 0), now); err == nil {
			t.Fatal("a piece past the declared size was taken")
		}
		p, err = st.PhonePhotoAppend(ctx, p.ID, 1000, data[1000:], now)
		if err != nil || p.State != phone.Ready || p.Received != 2500 {
			t.Fatalf("last piece: %+v %v", p, err)
		}
		offs, err := st.PhonePhotoPieces(ctx, p.ID)
		if err != nil || len(offs) != 2 {
			t.Fatalf("pieces %v %v", offs, err)
		}
		var whole []byte
		for _, o := range offs {
			b, err := st.PhonePhotoPiece(ctx, p.ID, o)
			if err != nil {
				t.Fatal(err)
			}
			whole = append(whole, b...)
		}
		if !bytes.Equal(whole, data) {
			t.Fatal("the pieces read back are not the photo")
		}
		if s2, _ := st.PhoneGet(ctx, s.ID); s2.Bytes != 2500 || s2.Photos != 1 {
			t.Fatalf("held %+v", s2)
		}
		if d, err := st.PhonePhotoDeliver(ctx, p.ID, now); err != nil || d.State != phone.Delivered {
			t.Fatalf("deliver: %+v %v", d, err)
		}
		if _, err := st.PhonePhotoDeliver(ctx, p.ID, now); err != nil {
			t.Fatalf("delivering twice: %v", err)
		}
		if offs, _ := st.PhonePhotoPieces(ctx, p.ID); len(offs) != 0 {
			t.Fatalf("a delivered photo's bytes are still held: %v", offs)
		}
		if s2, _ := st.PhoneGet(ctx, s.ID); s2.Bytes != 0 {
			t.Fatalf("delivered bytes still counted: %+v", s2)
		}
		// A second photo, left waiting, goes with the session.
		q, _ := st.PhonePhotoStart(ctx, "cpc_a", phone.Photo{ID: phone.NewID(), Session: s.ID, Key: "photo-0002", Size: 3, Created: now})
		st.PhonePhotoAppend(ctx, q.ID, 0, []byte{1, 2, 3}, now)
		before, err := st.PhoneEnd(ctx, s.ID, phone.Closed, now)
		if err != nil || before.State != phone.Paired || before.Bytes != 3 {
			t.Fatalf("end: %+v %v", before, err)
		}
		if ps, _ := st.PhonePhotos(ctx, s.ID); len(ps) != 0 {
			t.Fatalf("an ended session's photos are kept: %+v", ps)
		}
		var pieces int
		st.DB().QueryRowContext(ctx, `SELECT count(*) FROM phone_pieces`).Scan(&pieces)
		if pieces != 0 {
			t.Fatalf("%d pieces left after the session ended", pieces)
		}
		if _, err := st.PhoneEnd(ctx, s.ID, phone.Expired, now); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.PhoneGet(ctx, s.ID); got.State != phone.Closed {
			t.Fatalf("ending twice changed it to %s", got.State)
		}
		if _, err := st.PhonePhotoStart(ctx, "cpc_a", phone.Photo{ID: phone.NewID(), Session: s.ID, Key: "photo-0003", Size: 3}); !errors.Is(err, phone.ErrNotOpen) {
			t.Fatalf("a photo into an ended session: %v", err)
		}
		if n, err := st.PhonePurge(ctx, now.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("purge %d %v", n, err)
		}
	})
}

func TestPhoneLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		for i := 0; i < phone.MaxOpenPerConnector; i++ {
			if err := st.PhoneCreate(ctx, newPhoneSession("cpc_b", now), phone.MaxOpenPerConnector); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.PhoneCreate(ctx, newPhoneSession("cpc_b", now), phone.MaxOpenPerConnector); !errors.Is(err, phone.ErrTooManyOpen) {
			t.Fatalf("one session too many: %v", err)
		}
		if err := st.PhoneCreate(ctx, newPhoneSession("cpc_other", now), phone.MaxOpenPerConnector); err != nil {
			t.Fatalf("another PC is not limited by this one: %v", err)
		}
		due, err := st.PhoneDue(ctx, now.Add(phone.UnpairedTTL+time.Second))
		if err != nil || len(due) != phone.MaxOpenPerConnector+1 {
			t.Fatalf("due %v %v", due, err)
		}

		s := pairedSession(t, st, "cpc_c", now)
		for i := 0; i < phone.MaxPhotos; i++ {
			if _, err := st.PhonePhotoStart(ctx, "cpc_c", phone.Photo{ID: phone.NewID(), Session: s.ID, Key: fmt.Sprintf("photo-%04d", i), Size: 10, Created: now}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.PhonePhotoStart(ctx, "cpc_c", phone.Photo{ID: phone.NewID(), Session: s.ID, Key: "photo-9999", Size: 10}); !errors.Is(err, phone.ErrTooManyPhotos) {
			t.Fatalf("photo 41: %v", err)
		}
		// The PC's cap counts every open session's photos not yet taken.
		a, b := pairedSession(t, st, "cpc_d", now), pairedSession(t, st, "cpc_d", now)
		if _, err := st.PhonePhotoStart(ctx, "cpc_d", phone.Photo{ID: phone.NewID(), Session: a.ID, Key: "photo-big1", Size: phone.MaxConnectorBytes - 100, Created: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PhonePhotoStart(ctx, "cpc_d", phone.Photo{ID: phone.NewID(), Session: b.ID, Key: "photo-big2", Size: 101, Created: now}); !errors.Is(err, phone.ErrConnectorFull) {
			t.Fatalf("over the PC's cap: %v", err)
		}
		if _, err := st.PhonePhotoStart(ctx, "cpc_d", phone.Photo{ID: phone.NewID(), Session: b.ID, Key: "photo-big3", Size: 100, Created: now}); err != nil {
			t.Fatalf("up to the PC's cap: %v", err)
		}
	})
}

// Two relays (two handles on one PostgreSQL) racing: a link pairs once, and a
// session's photos stop at the limit however the starts interleave.
func TestPhoneLimitsHoldAcrossRelays(t *testing.T) {
	a := storetest.Open(t, store.Postgres)
	b, err := store.Open(context.Background(), a.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	now := time.Now()
	for round := 0; round < 5; round++ {
		s := newPhoneSession("cpc_race", now)
		if err := a.PhoneCreate(ctx, s, 100); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, st := range []*store.Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, dev := phone.Secret()
				errs[i] = st.PhonePair(ctx, s.ID, dev, now, now.Add(phone.PairedTTL))
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: both or neither paired: %v", round, errs)
		}
	}
	s := pairedSession(t, a, "cpc_race2", now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < phone.MaxPhotos+10; i++ {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.PhonePhotoStart(ctx, "cpc_race2", phone.Photo{ID: phone.NewID(), Session: s.ID, Key: fmt.Sprintf("photo-%04d", i), Size: 1, Created: now})
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if !errors.Is(err, phone.ErrTooManyPhotos) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != phone.MaxPhotos {
		t.Fatalf("%d photos started, want %d", ok, phone.MaxPhotos)
	}
}
