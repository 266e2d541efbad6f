package alexsim

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// Medtech's context/signature scheme is not public. The sandbox makes contexts opaque
// (AES-GCM, so no identifier shows in a launch URL) and signs them with HMAC-SHA256,
// which is enough to exercise "ALEX refuses a tampered or stale launch". Standard
// base64 is used on purpose: '+' and '/' test that clients escape path segments.

type launchClaims struct {
	Facility string    `json:"f"`
	Patient  string    `json:"p,omitempty"`
	Provider string    `json:"v,omitempty"`
	Created  time.Time `json:"c"`
}

// ErrUnknownPatient is returned by MintLaunch for an NHI not seeded in the facility.
var ErrUnknownPatient = errors.New("alexsim: no such test patient in that facility")

// MintLaunch returns the {context} and {signature} Evolution would put in the launch
// URL for facility with the patient whose NHI is given ("" for no patient selected)
// and provider ("" for the facility's seeded practitioner).
func (s *Sim) MintLaunch(facility, nhi, provider string) (launchContext, signature string, err error) {
	c := launchClaims{Facility: facility, Provider: provider, Created: s.opts.Now()}
	if c.Provider == "" {
		c.Provider = ProviderID(facility)
	}
	if nhi != "" {
		if c.Patient = s.PatientID(facility, nhi); c.Patient == "" {
			return "", "", ErrUnknownPatient
		}
	}
	s.mu.Lock()
	if s.providers[facility] != nil {
		s.providers[facility][c.Provider] = true
	}
	s.mu.Unlock()
	plain, _ := json.Marshal(c)
	aead := s.aead()
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	launchContext = base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, nil))
	return launchContext, s.sign(launchContext), nil
}

// LaunchURL is the clinicpro:// URL Evolution would open.
func LaunchURL(launchContext, signature string) string {
	return "clinicpro://launch?" + url.Values{"context": {launchContext}, "signature": {signature}}.Encode()
}

func (s *Sim) aead() cipher.AEAD {
	k := sha256.Sum256(append([]byte("alexsim launch key\x00"), s.opts.LaunchSecret...))
	b, _ := aes.NewCipher(k[:])
	g, _ := cipher.NewGCM(b)
	return g
}

func (s *Sim) sign(launchContext string) string {
	m := hmac.New(sha256.New, s.opts.LaunchSecret)
	m.Write([]byte(launchContext))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// decodeLaunch serves /vendorforms/api/getlaunchcontextstring/{context}/{signature}.
func (s *Sim) decodeLaunch(w http.ResponseWriter, r *http.Request, _ string) {
	lc, sig := r.PathValue("context"), r.PathValue("signature")
	if !hmac.Equal([]byte(s.sign(lc)), []byte(sig)) {
		outcome(w, http.StatusBadRequest, "security", "The launch context signature is not valid.")
		return
	}
	raw, err := base64.StdEncoding.DecodeString(lc)
	aead := s.aead()
	if err != nil || len(raw) < aead.NonceSize() {
		outcome(w, http.StatusBadRequest, "security", "The launch context is not valid.")
		return
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	var c launchClaims
	if err != nil || json.Unmarshal(plain, &c) != nil {
		outcome(w, http.StatusBadRequest, "security", "The launch context is not valid.")
		return
	}
	if s.opts.Now().Sub(c.Created) > s.opts.LaunchTTL {
		outcome(w, http.StatusBadRequest, "business-rule", "The launch context has expired.")
		return
	}
	var patient any // null when no patient is selected, as ALEX sends it
	if c.Patient != "" {
		patient = c.Patient
	}
	writeJSON(w, http.StatusOK, map[string]any{"patientId": patient, "facilityCode": c.Facility,
		"providerId": c.Provider, "createdTime": c.Created.Format(time.RFC3339)})
}
