package alex

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokens caches one client-credentials token. oauth2.ReuseTokenSource cannot be told
// to drop a token that ALEX refused, and a 401 must be retried with a fresh one.
type tokens struct {
	cc   clientcredentials.Config
	http *http.Client
	now  func() time.Time

	mu  sync.Mutex
	tok *oauth2.Token
}

// refreshMargin is how long before expiry a token is replaced, so a slow upload never
// starts with a token that expires mid-flight. Entra tokens last about an hour.
const refreshMargin = 5 * time.Minute

func (t *tokens) valid(tok *oauth2.Token) bool {
	if tok == nil || tok.AccessToken == "" {
		return false
	}
	if tok.Expiry.IsZero() {
		return true
	}
	margin := refreshMargin
	// Short-lived tokens (tests, odd tenants) refresh at 90% of their life instead.
	if life := time.Duration(tok.ExpiresIn) * time.Second; life > 0 && life < 2*refreshMargin {
		margin = life / 10
	}
	return t.now().Add(margin).Before(tok.Expiry)
}

// get returns a cached token or fetches one. stale, when non-empty, is a token ALEX
// refused: it is replaced even if it looks valid.
func (t *tokens) get(ctx context.Context, stale string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.valid(t.tok) && t.tok.AccessToken != stale {
		return t.tok.AccessToken, nil
	}
	tok, err := t.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, t.http))
	if err != nil {
		t.tok = nil
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			if re.Response != nil && re.Response.StatusCode >= 500 {
				return "", &StatusError{Status: re.Response.StatusCode}
			}
			return "", ErrUnauthorized
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", &TransportError{Err: unwrapURL(err)}
	}
	if !tok.Expiry.IsZero() {
		// oauth2 stamps expiry with the wall clock; restate it on ours (a test clock,
		// or the same wall clock) and keep the lifetime for the refresh margin.
		life := time.Until(tok.Expiry).Round(time.Second)
		tok.Expiry = t.now().Add(life)
		tok.ExpiresIn = int64(life / time.Second)
	}
	t.tok = tok
	return tok.AccessToken, nil
}
