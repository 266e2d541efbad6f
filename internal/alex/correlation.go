package alex

import (
	"context"
	"crypto/rand"
	"fmt"
)

type correlationKey struct{}

// WithCorrelation returns a ctx whose calls send id as mt-correlationid, so one id
// follows a request from the agent through the relay to Medtech.
func WithCorrelation(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey{}, id)
}

// correlationFrom returns ctx's correlation id or a new random UUID.
func correlationFrom(ctx context.Context) string {
	if id, ok := ctx.Value(correlationKey{}).(string); ok && id != "" {
		return id
	}
	return NewCorrelationID()
}

// NewCorrelationID returns a random (v4) UUID.
func NewCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
