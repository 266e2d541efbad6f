package hcm

import "time"

// Policy says when the agent restarts a stopped HCM service. It is on by default on
// the PC that hosts HCM: a stopped HCM takes the whole practice offline to ALEX.
type Policy struct {
	Enabled bool
	// Grace is how long the service must stay stopped before a restart, so an
	// operator stopping it for maintenance is not fought over at once.
	Grace time.Duration
	// MaxPerHour bounds restarts in any sliding hour, so a service that crashes on
	// start is not restarted in a loop.
	MaxPerHour int
}

// defaultPolicy is the policy used when the configuration says nothing.
func defaultPolicy() Policy { return Policy{Enabled: true, Grace: 2 * time.Minute, MaxPerHour: 3} }

// recovery applies a Policy to successive readings of one service.
type recovery struct {
	p            Policy
	stoppedSince time.Time
	restarts     []time.Time
}

// observe records a reading and reports whether the service should be started now.
func (r *recovery) observe(now time.Time, s ServiceState) bool {
	if s != Stopped {
		r.stoppedSince = time.Time{}
		return false
	}
	if r.stoppedSince.IsZero() {
		r.stoppedSince = now
	}
	if !r.p.Enabled || now.Sub(r.stoppedSince) < r.p.Grace {
		return false
	}
	return r.inLastHour(now) < r.p.MaxPerHour
}

// started records a restart attempt.
func (r *recovery) started(now time.Time) {
	r.restarts = append(r.restarts, now)
	r.stoppedSince = time.Time{}
}

func (r *recovery) inLastHour(now time.Time) int {
	keep := r.restarts[:0]
	for _, t := range r.restarts {
		if now.Sub(t) < time.Hour {
			keep = append(keep, t)
		}
	}
	r.restarts = keep
	return len(keep)
}

// exhausted reports whether the hourly budget is used up.
func (r *recovery) exhausted(now time.Time) bool {
	return r.p.Enabled && r.inLastHour(now) >= r.p.MaxPerHour
}
