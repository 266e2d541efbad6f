// Package fakeagent is a scriptable stand-in for the agent, used by the tray's tests,
// its screenshot run and its benchmark. It wraps localapitest.Fake (which keeps the
// agent's state rules) and adds what the tray must be shown to survive: a slow relay,
// a refused or unreachable launch, a failed save, the uploader's progress, bad health.
package fakeagent

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// Launch URLs the fake resolves: the test patient, and a launch with no patient.
var (
	PatientURL   = "clinicpro://launch?context=" + localapitest.ContextPatient + "&signature=" + localapitest.SignatureFor(localapitest.ContextPatient)
	NoPatientURL = "clinicpro://launch?context=" + localapitest.ContextNoPatient + "&signature=" + localapitest.SignatureFor(localapitest.ContextNoPatient)
	// OtherPatientURL opens a second patient.
	OtherPatientURL = "clinicpro://launch?context=" + localapitest.ContextOther + "&signature=" + localapitest.SignatureFor(localapitest.ContextOther)
	// RefusedURL carries a signature ALEX would reject (tampered or expired).
	RefusedURL = "clinicpro://launch?context=" + localapitest.ContextPatient + "&signature=forged"
)

// Agent is a localapi.Service with scripted faults.
type Agent struct {
	*localapitest.Fake

	mu          sync.Mutex
	launchDelay time.Duration
	launchErr   error
	saveErr     error
	health      *health.Report
	counts      *localapi.Counts
	status      *localapi.Status
	launches    int
}

var _ localapi.Service = (*Agent)(nil)

// New returns an enrolled, healthy agent.
func New() *Agent { return &Agent{Fake: localapitest.NewFake()} }

// SetLaunchDelay makes every launch take d, as a relay answering slowly would.
func (a *Agent) SetLaunchDelay(d time.Duration) {
	a.mu.Lock()
	a.launchDelay = d
	a.mu.Unlock()
}

// FailLaunch makes launches fail with err until called with nil.
func (a *Agent) FailLaunch(err error) {
	a.mu.Lock()
	a.launchErr = err
	a.mu.Unlock()
}

// FailSave makes saves fail with err until called with nil.
func (a *Agent) FailSave(err error) {
	a.mu.Lock()
	a.saveErr = err
	a.mu.Unlock()
}

// Launches counts launches that reached the agent.
func (a *Agent) Launches() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.launches
}

func (a *Agent) Launch(ctx context.Context, req localapi.LaunchRequest) (localapi.Session, error) {
	a.mu.Lock()
	d, err := a.launchDelay, a.launchErr
	a.launches++
	a.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return localapi.Session{}, ctx.Err()
		}
	}
	if err != nil {
		return localapi.Session{}, err
	}
	return a.Fake.Launch(ctx, req)
}

func (a *Agent) Save(ctx context.Context, sessionID string, req localapi.SaveRequest) ([]localapi.Item, error) {
	a.mu.Lock()
	err := a.saveErr
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return a.Fake.Save(ctx, sessionID, req)
}

// SetHealth replaces the health report Status returns and announces it.
func (a *Agent) SetHealth(r health.Report) {
	a.mu.Lock()
	a.health = &r
	a.mu.Unlock()
	a.publishStatus()
}

// SetStatus replaces the whole Status (a real agent's, recorded) and announces it.
func (a *Agent) SetStatus(st localapi.Status) {
	a.mu.Lock()
	a.status = &st
	a.mu.Unlock()
	a.publishStatus()
}

// SetCounts overrides the queue counts Status returns (for icon states) and announces them.
func (a *Agent) SetCounts(c localapi.Counts) {
	a.mu.Lock()
	a.counts = &c
	a.mu.Unlock()
	a.publishStatus()
}

func (a *Agent) publishStatus() {
	st, _ := a.Status(context.Background())
	a.Hub.Publish(localapi.Event{Type: localapi.EventStatus, Status: &st})
}

func (a *Agent) Status(ctx context.Context) (localapi.Status, error) {
	st, err := a.Fake.Status(ctx)
	a.mu.Lock()
	if a.status != nil {
		st = *a.status
	}
	if a.health != nil {
		st.Health = *a.health
	}
	if a.counts != nil {
		st.Counts = *a.counts
	}
	a.mu.Unlock()
	return st, err
}

func (a *Agent) Pause(ctx context.Context, paused bool) (localapi.Status, error) {
	if _, err := a.Fake.Pause(ctx, paused); err != nil {
		return localapi.Status{}, err
	}
	return a.Status(ctx)
}

// Progress announces an item's move through the uploader (uploading, sent), as the
// agent's event stream does; state may be StateUploading or StateSent.
func (a *Agent) Progress(itemID string, state localapi.ItemState) {
	it, err := a.Fake.Item(context.Background(), itemID)
	if err != nil {
		return
	}
	it.State, it.Updated = state, time.Now().UTC()
	a.Hub.Publish(localapi.Event{Type: localapi.EventItem, Item: &it})
}

// Arrive stages a file in a session as the agent does for a watched folder or the
// Camera Roll while a capture window is open (session routing).
func (a *Agent) Arrive(sessionID, source, fileName string, data []byte) (localapi.Item, error) {
	it, err := a.Fake.AddFile(context.Background(), sessionID, localapi.NewFile{Name: fileName}, bytes.NewReader(data))
	if err != nil {
		return it, err
	}
	// The fake marks every file as dropped; the agent names the watched folder.
	it.Folder = source
	a.Hub.Publish(localapi.Event{Type: localapi.EventItem, Item: &it})
	return it, nil
}

// ParkWithCause parks an item for a typed cause, with the cause's sentence as its
// reason, as the agent's uploader does.
func (a *Agent) ParkWithCause(itemID string, cause api.Cause) {
	a.ParkCause(itemID, string(cause), cause.Sentence())
}
