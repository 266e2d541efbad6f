package localapitest

import (
	"context"
	"time"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// What the Fake's phone sessions show: a link on a relay that does not exist (the
// token has the real one's length), the practice's name and a match word.
const (
	PhoneURLPrefix = "https://relay.example.nz/m/"
	PhonePractice  = "Healthier Care"
	PhoneWord      = "maple 47"
)

// OpenPhone implements localapi.PhoneService as the agent does.
func (f *Fake) OpenPhone(ctx context.Context, sessionID string) (localapi.PhoneSession, error) {
	f.mu.Lock()
	s, ok := f.sessions[sessionID]
	if !ok {
		f.mu.Unlock()
		return localapi.PhoneSession{}, localapi.ErrNotFound
	}
	if !s.PatientSelected {
		f.mu.Unlock()
		return localapi.PhoneSession{}, localapi.NewError(localapi.CodeConflict, "No patient is selected in Medtech; open the patient and click the ClinicPro icon again.")
	}
	if p, ok := f.phones[sessionID]; ok && (p.State == localapi.PhoneWaiting || p.State == localapi.PhonePaired) {
		out := *p
		f.mu.Unlock()
		return out, nil
	}
	p := &localapi.PhoneSession{SessionID: sessionID, URL: PhoneURLPrefix + newID() + newID() + "fakeTok",
		Word: PhoneWord, Practice: PhonePractice, State: localapi.PhoneWaiting, Expires: time.Now().Add(10 * time.Minute).UTC()}
	f.phones[sessionID] = p
	out := *p
	f.mu.Unlock()
	f.publishPhone(&out)
	return out, nil
}

// Phone implements localapi.PhoneService.
func (f *Fake) Phone(ctx context.Context, sessionID string) (localapi.PhoneSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.phones[sessionID]
	if !ok {
		return localapi.PhoneSession{}, localapi.ErrNotFound
	}
	return *p, nil
}

// ClosePhone implements localapi.PhoneService.
func (f *Fake) ClosePhone(ctx context.Context, sessionID string) error {
	f.mu.Lock()
	if _, ok := f.phones[sessionID]; !ok {
		f.mu.Unlock()
		return localapi.ErrNotFound
	}
	p := f.endPhoneLocked(sessionID)
	f.mu.Unlock()
	f.publishPhone(p)
	return nil
}

// endPhoneLocked closes the session's open phone session; nil when there was none.
func (f *Fake) endPhoneLocked(sessionID string) *localapi.PhoneSession {
	p, ok := f.phones[sessionID]
	if !ok || (p.State != localapi.PhoneWaiting && p.State != localapi.PhonePaired) {
		return nil
	}
	p.State, p.Uploading = localapi.PhoneClosed, 0
	out := *p
	return &out
}

func (f *Fake) publishPhone(p *localapi.PhoneSession) {
	if p != nil {
		f.Hub.Publish(localapi.Event{Type: localapi.EventPhone, Phone: p})
	}
}

// PhoneSet moves a window's phone session as the relay would report it: a phone
// pairing, photos on their way, the code expiring.
func (f *Fake) PhoneSet(sessionID, state string, uploading int) {
	f.mu.Lock()
	p, ok := f.phones[sessionID]
	if !ok {
		f.mu.Unlock()
		return
	}
	p.State, p.Uploading = state, uploading
	out := *p
	f.mu.Unlock()
	f.publishPhone(&out)
}

// PhoneSend is a photo arriving from the window's phone: a staged item with Source
// phone, counted as received.
func (f *Fake) PhoneSend(sessionID string, jpg []byte) localapi.Item {
	f.mu.Lock()
	p := f.phones[sessionID]
	now := time.Now().UTC()
	it := &fakeItem{Item: localapi.Item{ID: newID(), State: localapi.StateStaged, SessionID: sessionID, Source: api.SourcePhone,
		FileName: "Phone photo.jpg", Size: int64(len(jpg)), Added: now, Updated: now}, data: jpg}
	f.items[it.ID] = it
	cp := it.Item
	var ph *localapi.PhoneSession
	if p != nil {
		p.Received++
		p.Uploading = max(0, p.Uploading-1)
		out := *p
		ph = &out
	}
	f.mu.Unlock()
	f.publishItem(cp)
	f.publishPhone(ph)
	return cp
}
