package relay

import (
	"context"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/nhi"
	"github.com/clinicpro/medtech-images/internal/relay/limit"
)

// alexWait is the longest a request waits for its turn under the relay-wide ALEX
// limit before it is answered 429 with a Retry-After: long enough to ride out a burst
// from several practices at once, short enough that an agent's request does not
// time out.
const alexWait = 20 * time.Second

// limitedALEX holds every call to ALEX to the relay-wide limit that protects
// Medtech (alex_rate_per_second), taking turns fairly by connector: each PC that is
// waiting gets the next call in turn, however many requests it has in flight.
// Methods it does not list pass through unlimited (embedding), so a new ALEX call is
// never blocked by this wrapper, only not yet counted.
type limitedALEX struct {
	ALEX
	fair *limit.Fair
}

type turnKey struct{}

// withTurnKey names whose turn a call under ctx takes (the connector's id).
func withTurnKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, turnKey{}, key)
}

func (l *limitedALEX) turn(ctx context.Context, facility string) error {
	key, _ := ctx.Value(turnKey{}).(string)
	if key == "" {
		key = "facility:" + facility // health probes
	}
	if err := l.fair.Wait(ctx, key, alexWait); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &alex.RateLimitedError{RetryAfter: 5 * time.Second}
	}
	return nil
}

func (l *limitedALEX) ResolveLaunch(ctx context.Context, facility, launchContext, signature string) (alex.LaunchContext, alex.CallInfo, error) {
	if err := l.turn(ctx, facility); err != nil {
		return alex.LaunchContext{}, alex.CallInfo{}, err
	}
	return l.ALEX.ResolveLaunch(ctx, facility, launchContext, signature)
}

func (l *limitedALEX) ReadPatient(ctx context.Context, facility, id string) (alex.Patient, alex.CallInfo, error) {
	if err := l.turn(ctx, facility); err != nil {
		return alex.Patient{}, alex.CallInfo{}, err
	}
	return l.ALEX.ReadPatient(ctx, facility, id)
}

func (l *limitedALEX) FindPatientByNHI(ctx context.Context, facility string, n nhi.NHI) (alex.Patient, alex.CallInfo, error) {
	if err := l.turn(ctx, facility); err != nil {
		return alex.Patient{}, alex.CallInfo{}, err
	}
	return l.ALEX.FindPatientByNHI(ctx, facility, n)
}

func (l *limitedALEX) CreateScanDocument(ctx context.Context, facility string, d alex.ScanDocument) (alex.Created, alex.CallInfo, error) {
	if err := l.turn(ctx, facility); err != nil {
		return alex.Created{}, alex.CallInfo{}, err
	}
	return l.ALEX.CreateScanDocument(ctx, facility, d)
}

func (l *limitedALEX) ReadDocumentReference(ctx context.Context, facility, id string) (alex.DocumentReference, alex.CallInfo, error) {
	if err := l.turn(ctx, facility); err != nil {
		return alex.DocumentReference{}, alex.CallInfo{}, err
	}
	return l.ALEX.ReadDocumentReference(ctx, facility, id)
}

func (l *limitedALEX) FindDocuments(ctx context.Context, facility, identifier string, patient nhi.NHI) ([]alex.DocumentReference, alex.CallInfo, error) {
	if err := l.turn(ctx, facility); err != nil {
		return nil, alex.CallInfo{}, err
	}
	return l.ALEX.FindDocuments(ctx, facility, identifier, patient)
}

func (l *limitedALEX) Ping(ctx context.Context, facility string) (alex.CallInfo, error) {
	if err := l.turn(ctx, facility); err != nil {
		return alex.CallInfo{}, err
	}
	return l.ALEX.Ping(ctx, facility)
}
