package registry_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	. "github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/relay/store/storetest"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

func TestPracticeCodeEnrolsUpToNPCs(t *testing.T) {
	each(t, func(t *testing.T, r *Registry) {
		ctx := context.Background()
		clk := testutil.NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
		r.SetClock(clk.Now)
		p, code, err := r.AddPractice(ctx, "f2n060-e", "Healthier Care", 3, 7*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$`).MatchString(code) || p.Facility != "F2N060-E" || p.PCs != 3 {
			t.Fatalf("AddPractice = %+v %q", p, code)
		}
		secrets := map[string]string{}
		for i, host := range []string{"RECEPTION-1", "nurse room\x00<b>", ""} {
			c, secret, err := r.Enrol(ctx, code, host)
			if err != nil {
				t.Fatalf("PC %d: %v", i+1, err)
			}
			if c.Practice != p.ID || c.Facility != "F2N060-E" || c.Status != Active || secrets[c.ID] != "" {
				t.Fatalf("PC %d = %+v", i+1, c)
			}
			secrets[c.ID] = secret
		}
		c, _, err := r.Enrol(ctx, code, "ONE-TOO-MANY")
		if !errors.Is(err, ErrPracticeFull) || c.Practice != p.ID {
			t.Fatalf("a fourth PC: %+v %v", c, err)
		}
		_, pcs, err := r.Practice(ctx, p.ID)
		if err != nil || len(pcs) != 3 {
			t.Fatalf("practice lists %d PCs: %v", len(pcs), err)
		}
		names := map[string]bool{}
		for _, c := range pcs {
			names[c.Name] = true
			if _, err := r.Authenticate(ctx, c.ID, secrets[c.ID]); err != nil {
				t.Errorf("%s cannot authenticate with its own secret: %v", c.Name, err)
			}
		}
		if !names["RECEPTION-1"] || !names["nurseroomb"] || !names["unnamed PC"] {
			t.Fatalf("PC names %v", names)
		}
		// Last seen moves with each token.
		tok, _, _ := r.IssueToken(ctx, pcs[0], time.Hour)
		got, _ := r.Get(ctx, pcs[0].ID)
		if !got.LastSeen.Equal(clk.Now()) {
			t.Fatalf("last seen %v, want %v", got.LastSeen, clk.Now())
		}
		// One PC revoked; the others keep working.
		if err := r.Revoke(ctx, pcs[1].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.TokenConnector(ctx, tok); err != nil {
			t.Fatalf("a revoked neighbour ended this PC's token: %v", err)
		}
		if _, err := r.Authenticate(ctx, pcs[1].ID, secrets[pcs[1].ID]); !errors.Is(err, ErrBadSecret) {
			t.Fatalf("revoked PC authenticated: %v", err)
		}
		// Expired.
		clk.Add(8 * 24 * time.Hour)
		_, late, _ := r.AddPractice(ctx, "F2N060-E", "late", 5, 7*24*time.Hour)
		clk.Add(7 * 24 * time.Hour)
		if _, _, err := r.Enrol(ctx, late, "PC"); !errors.Is(err, ErrCodeExpired) {
			t.Fatalf("expired practice code: %v", err)
		}
		// The whole practice revoked.
		if err := r.RevokePractice(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.TokenConnector(ctx, tok); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("token after the practice was revoked: %v", err)
		}
		if _, _, err := r.Enrol(ctx, code, "PC"); !errors.Is(err, ErrPracticeRevoked) {
			t.Fatalf("revoked practice's code: %v", err)
		}
		if err := r.RevokePractice(ctx, "prc_nobody"); !errors.Is(err, ErrPracticeNotFound) {
			t.Fatalf("unknown practice: %v", err)
		}
	})
}

func TestPracticeLimits(t *testing.T) {
	each(t, func(t *testing.T, r *Registry) {
		ctx := context.Background()
		for _, tc := range []struct {
			pcs   int
			valid time.Duration
		}{{0, time.Hour}, {MaxPracticePCs + 1, time.Hour}, {3, 0}, {3, MaxPracticeValidity + time.Hour}} {
			if _, _, err := r.AddPractice(ctx, "F2N060-E", "x", tc.pcs, tc.valid); err == nil {
				t.Errorf("pcs %d valid %s accepted", tc.pcs, tc.valid)
			}
		}
		if _, _, err := r.AddPractice(ctx, "F2N060", "x", 3, time.Hour); !errors.Is(err, ErrBadFacility) {
			t.Errorf("bad facility: %v", err)
		}
	})
}

// Several relays on one store (one Registry each): codes are spent once, a
// practice never enrols more than its PCs, and a revocation on one relay is refused
// by the other within RevocationLag.
func TestCodesAcrossRelays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		relays := []*Registry{New(st), New(st)}
		if st.Kind() == store.Postgres {
			// Truly separate relays: each its own connection pool and listener.
			other := reopen(t, st)
			relays[1] = New(other)
		}
		ctx := context.Background()
		_, single, _ := relays[0].Add(ctx, "F2N060-E", "one PC")
		p, practice, _ := relays[0].AddPractice(ctx, "F2N060-E", "practice", 3, time.Hour)
		var mu sync.Mutex
		wins := map[string]int{}
		var wg sync.WaitGroup
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := relays[i%2]
				for _, code := range []string{single, practice} {
					_, _, err := r.Enrol(ctx, code, fmt.Sprint("PC-", i))
					mu.Lock()
					switch {
					case err == nil:
						wins[code]++
					case errors.Is(err, ErrCodeUsed), errors.Is(err, ErrPracticeFull):
					default:
						t.Errorf("enrol: %v", err)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins[single] != 1 || wins[practice] != 3 {
			t.Fatalf("12 PCs on two relays: the single-use code enrolled %d, the practice code %d of 3", wins[single], wins[practice])
		}
		if got, _, _ := relays[1].Practice(ctx, p.ID); got.Enrolled != 3 {
			t.Fatalf("practice counts %d enrolled", got.Enrolled)
		}

		_, pcs, _ := relays[0].Practice(ctx, p.ID)
		tok, _, err := relays[0].IssueToken(ctx, pcs[0], time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := relays[1].TokenConnector(ctx, tok); err != nil {
			t.Fatal(err) // relay 1 now remembers the token as good
		}
		if err := relays[0].Revoke(ctx, pcs[0].ID); err != nil {
			t.Fatal(err)
		}
		// The bound holds by construction: after RevocationLag relay 1 asks the store.
		time.Sleep(RevocationLag)
		if _, err := relays[1].TokenConnector(ctx, tok); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("relay 1 accepted a token revoked on relay 0 %s earlier: %v", RevocationLag, err)
		}
	})
}

// reopen opens a second handle on st's PostgreSQL database, as another relay would.
func reopen(t *testing.T, st *store.Store) *store.Store {
	t.Helper()
	other, err := store.Open(context.Background(), st.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return other
}
