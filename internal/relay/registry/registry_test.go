package registry_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/clinicpro/medtech-images/internal/relay/registry"
	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/relay/store/storetest"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.RunWithPostgres(m)) }

// each runs f on a registry over each kind of store.
func each(t *testing.T, f func(t *testing.T, r *Registry)) {
	storetest.Each(t, func(t *testing.T, st *store.Store) { f(t, New(st)) })
}

func TestEnrolOnceThenAuthenticateAndToken(t *testing.T) {
	each(t, func(t *testing.T, r *Registry) {
		ctx := context.Background()
		c, code, err := r.Add(ctx, "f2n060-e", "Healthier Care")
		if err != nil {
			t.Fatal(err)
		}
		if c.Facility != "F2N060-E" || c.Status != Pending || len(code) != 11 {
			t.Fatalf("Add = %+v %q", c, code)
		}
		// Typed in lower case without the dash: still accepted.
		got, secret, err := r.Enrol(ctx, strings.ToLower(strings.ReplaceAll(code, "-", "")), "pc1")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.Status != Active || secret == "" {
			t.Fatalf("Enrol = %+v", got)
		}
		if _, _, err := r.Enrol(ctx, code, "pc1"); !errors.Is(err, ErrCodeUsed) {
			t.Fatalf("second Enrol: %v, want ErrCodeUsed", err)
		}
		if _, err := r.Authenticate(ctx, c.ID, secret+"x"); !errors.Is(err, ErrBadSecret) {
			t.Fatalf("wrong secret: %v", err)
		}
		if _, err := r.Authenticate(ctx, "cpc_nobody", secret); !errors.Is(err, ErrBadSecret) {
			t.Fatalf("unknown client: %v", err)
		}
		a, err := r.Authenticate(ctx, c.ID, secret)
		if err != nil || a.Facility != "F2N060-E" {
			t.Fatalf("Authenticate = %+v, %v", a, err)
		}
		tok, _, err := r.IssueToken(ctx, a, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if tc, err := r.TokenConnector(ctx, tok); err != nil || tc.ID != c.ID {
			t.Fatalf("TokenConnector = %+v, %v", tc, err)
		}
		if _, err := r.TokenConnector(ctx, tok+"x"); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("forged token: %v", err)
		}
	})
}

func TestCodeExpires(t *testing.T) {
	each(t, func(t *testing.T, r *Registry) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		r.SetClock(func() time.Time { return now })
		_, code, err := r.Add(ctx, "F2N060-E", "x")
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(CodeTTL)
		if _, _, err := r.Enrol(ctx, code, "pc1"); !errors.Is(err, ErrCodeExpired) {
			t.Fatalf("Enrol after 72h: %v", err)
		}
		if _, _, err := r.Enrol(ctx, "ABCDE-FGHJK", "pc1"); !errors.Is(err, ErrCodeUnknown) {
			t.Fatalf("unknown code: %v", err)
		}
	})
}

func TestTokenExpiresAndRevokeEndsEverything(t *testing.T) {
	each(t, func(t *testing.T, r *Registry) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		r.SetClock(func() time.Time { return now })
		c, code, _ := r.Add(ctx, "F2N060-E", "x")
		_, secret, err := r.Enrol(ctx, code, "pc1")
		if err != nil {
			t.Fatal(err)
		}
		short, _, _ := r.IssueToken(ctx, c, time.Minute)
		long, _, _ := r.IssueToken(ctx, c, time.Hour)
		now = now.Add(2 * time.Minute)
		if _, err := r.TokenConnector(ctx, short); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("expired token accepted: %v", err)
		}
		if _, err := r.TokenConnector(ctx, long); err != nil {
			t.Fatalf("live token refused: %v", err)
		}
		rot, err := r.Rotate(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Revoke(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.TokenConnector(ctx, long); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("token of revoked connector accepted: %v", err)
		}
		if _, err := r.Authenticate(ctx, c.ID, secret); !errors.Is(err, ErrBadSecret) {
			t.Fatalf("secret of revoked connector accepted: %v", err)
		}
		if _, _, err := r.Enrol(ctx, rot, "pc1"); err == nil {
			t.Fatal("rotation code of a revoked connector was accepted")
		}
		if err := r.Revoke(ctx, "cpc_nobody"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Revoke unknown: %v", err)
		}
	})
}

func TestRotateReplacesSecretOnRedeem(t *testing.T) {
	each(t, func(t *testing.T, r *Registry) {
		ctx := context.Background()
		c, code, _ := r.Add(ctx, "F2N060-E", "x")
		_, old, _ := r.Enrol(ctx, code, "pc1")
		tok, _, _ := r.IssueToken(ctx, c, time.Hour)
		rot, err := r.Rotate(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Authenticate(ctx, c.ID, old); err != nil {
			t.Fatalf("old secret must work until the new code is redeemed: %v", err)
		}
		_, fresh, err := r.Enrol(ctx, rot, "pc1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Authenticate(ctx, c.ID, old); !errors.Is(err, ErrBadSecret) {
			t.Fatalf("old secret still accepted after rotation: %v", err)
		}
		if _, err := r.TokenConnector(ctx, tok); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("old token still accepted after rotation: %v", err)
		}
		if _, err := r.Authenticate(ctx, c.ID, fresh); err != nil {
			t.Fatal(err)
		}
		list, err := r.List(ctx)
		if err != nil || len(list) != 1 || list[0].Status != Active {
			t.Fatalf("List = %+v, %v", list, err)
		}
	})
}

func TestBadFacility(t *testing.T) {
	each(t, func(t *testing.T, r *Registry) {
		for _, f := range []string{"", "F2N060", "X2N060-E", "F2N060-EE"} {
			if _, _, err := r.Add(context.Background(), f, "x"); !errors.Is(err, ErrBadFacility) {
				t.Errorf("Add(%q): %v", f, err)
			}
		}
	})
}

func FuzzNormalizeCode(f *testing.F) {
	f.Add("abcde-fghjk")
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeCode(s)
		if NormalizeCode(n) != n {
			t.Fatalf("not idempotent: %q -> %q", s, n)
		}
		if strings.ContainsAny(n, "-OIL") {
			t.Fatalf("NormalizeCode(%q) = %q", s, n)
		}
	})
}
