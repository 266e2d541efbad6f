package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// revokeChannel is the PostgreSQL notification channel on which a relay announces
// that tokens may have ended (a revocation, a rotation); every relay listening drops
// the token checks it remembers.
const revokeChannel = "clinicpro_relay_revoke"

// OnRevoke implements registry.Store: f is called when another relay (or the
// operator's command) may have ended tokens. Only PostgreSQL stores call it; on
// SQLite there is one relay, and the registry's short memory covers the operator's
// commands.
func (s *Store) OnRevoke(f func()) {
	s.mu.Lock()
	s.onRevoke = append(s.onRevoke, f)
	s.mu.Unlock()
}

func (s *Store) revoked() {
	s.mu.Lock()
	fs := append([]func(){}, s.onRevoke...)
	s.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// notifyRevoke announces a revocation as part of t: PostgreSQL delivers it when t
// commits, and not at all if it rolls back.
func (s *Store) notifyRevoke(ctx context.Context, t *tx) error {
	if s.kind != Postgres {
		return nil
	}
	_, err := t.exec(ctx, `SELECT pg_notify(?, '')`, revokeChannel)
	return err
}

// listen keeps one connection LISTENing for revocations until Close. While it is
// not connected every notification may be missed, so on each (re)connection the
// callbacks run once as if one had arrived.
func (s *Store) listen() {
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.stop = cancel
	s.listened = make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.listened)
		backoff := 100 * time.Millisecond
		for ctx.Err() == nil {
			err := s.listenOnce(ctx)
			if ctx.Err() != nil {
				return
			}
			_ = err // the registry's short memory covers the gap; readiness reports the store
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}()
}

func (s *Store) listenOnce(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, s.cfg.DSN)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+revokeChannel); err != nil {
		return err
	}
	s.revoked()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.revoked()
	}
}
