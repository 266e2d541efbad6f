package localapi

import (
	"context"
	"time"
)

// Follow keeps an event stream open against svc until ctx ends, reconnecting with
// backoff when the agent restarts. After every (re)connect it delivers a fresh Status
// as an EventStatus first, so the caller never misses state that changed while the
// stream was down. handle runs on Follow's goroutine; keep it quick.
func Follow(ctx context.Context, svc Service, handle func(Event)) {
	wait := 250 * time.Millisecond
	for ctx.Err() == nil {
		ch, err := svc.Events(ctx)
		if err == nil {
			if st, err2 := svc.Status(ctx); err2 == nil {
				handle(Event{Type: EventStatus, Status: &st})
			}
			wait = 250 * time.Millisecond
			for e := range ch {
				handle(e)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if wait < 5*time.Second {
			wait *= 2
		}
	}
}
