package alexsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/clinicpro/medtech-images/internal/fhir"
)

// patient is one seeded test patient in one facility.
type patient struct {
	ID, NHI, Family, Given, BirthDate, Gender string
}

// TestPatient describes a seeded patient, for tests and the demo.
type TestPatient struct {
	NHI, Family, Given, BirthDate string
	// Gender is FHIR's administrative gender code; empty seeds "unknown", as UAT's
	// ZZZ0016 carries.
	Gender string
}

// TestPatients are seeded in every facility: Z-range NHIs only, old and new format.
// ZZZ0016 "TESTING" is Medtech's own UAT test patient.
var TestPatients = []TestPatient{
	{NHI: "ZZZ0016", Family: "TESTING", Given: "Test", BirthDate: "1970-01-01"},
	{NHI: "ZZZ0024", Family: "TESTING", Given: "Second", BirthDate: "1985-06-15", Gender: "male"},
	{NHI: "ZAA0067", Family: "PARATA", Given: "Aroha", BirthDate: "2001-11-30", Gender: "female"},
	{NHI: "ZZZ00AC", Family: "NGATA", Given: "Mere", BirthDate: "1962-03-08", Gender: "female"},
	{NHI: "ZBN77VL", Family: "SMITH", Given: "Jane", BirthDate: "2019-09-09", Gender: "female"},
}

// uatIDs keeps the id recorded in real UAT traffic for ZZZ0016 at F2N060-E, so the
// sandbox looks like the place it imitates.
var uatIDs = map[string]string{DefaultFacility + "/ZZZ0016": "14e52e16edb7a435bfa05e307afd008b"}

// opaqueID derives a stable 32-hex id that differs per facility, as ALEX's do.
func opaqueID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func seed(facility string, tps []TestPatient) []*patient {
	var ps []*patient
	used := map[string]bool{}
	for i, tp := range tps {
		id := uatIDs[facility+"/"+tp.NHI]
		if id == "" || used[id] {
			id = opaqueID("patient", facility, tp.NHI)
		}
		if used[id] {
			id = opaqueID("patient", facility, tp.NHI, fmt.Sprint(i))
		}
		used[id] = true
		gender := tp.Gender
		if gender == "" {
			gender = "unknown"
		}
		ps = append(ps, &patient{ID: id, NHI: tp.NHI, Family: tp.Family, Given: tp.Given, BirthDate: tp.BirthDate, Gender: gender})
	}
	return ps
}

// ProviderID is the one Practitioner seeded in a facility.
func ProviderID(facility string) string { return opaqueID("practitioner", facility) }

func (p *patient) resource() fhir.Patient {
	return fhir.Patient{
		ResourceType: "Patient", ID: p.ID,
		Identifier: []fhir.Identifier{{System: fhir.NHISystem, Value: p.NHI}},
		Name:       []fhir.HumanName{{Use: "official", Family: p.Family, Given: []string{p.Given}}},
		Gender:     p.Gender, BirthDate: p.BirthDate,
	}
}

// findPatient looks up by NHI or id in one facility; callers hold s.mu.
func (s *Sim) findPatient(facility, nhi, id string) *patient {
	for _, p := range s.patients[facility] {
		if (nhi != "" && p.NHI == nhi) || (id != "" && p.ID == id) {
			return p
		}
	}
	return nil
}

// PatientID returns the seeded patient's id in facility, or "".
func (s *Sim) PatientID(facility, nhi string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.findPatient(facility, nhi, ""); p != nil {
		return p.ID
	}
	return ""
}

// stored is a resource written through the API.
type stored struct {
	Kind        string // DocumentReference or Media
	ID          string
	Facility    string
	Identifier  string
	PatientID   string
	ContentType string
	Title       string
	Description string
	Data        []byte
	Raw         []byte          // the resource as stored, with id and meta
	Summary     json.RawMessage // Raw without the attachment bytes
	At          time.Time
}

// Document is what /_sim/documents lists: everything but the bytes.
type Document struct {
	Kind        string    `json:"kind"`
	ID          string    `json:"id"`
	Facility    string    `json:"facility"`
	Identifier  string    `json:"identifier"`
	PatientID   string    `json:"patientId"`
	ContentType string    `json:"contentType"`
	Size        int       `json:"size"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	StoredAt    time.Time `json:"storedAt"`
	// Resource is the resource as ALEX stored it, without the attachment bytes, so a
	// test can check every field that was written (author, date, type, codes).
	Resource json.RawMessage `json:"resource"`
}

// Documents lists what was stored, oldest first.
func (s *Sim) Documents() []Document {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Document, 0, len(s.store))
	for _, st := range s.store {
		out = append(out, Document{Kind: st.Kind, ID: st.ID, Facility: st.Facility, Identifier: st.Identifier,
			PatientID: st.PatientID, ContentType: st.ContentType, Size: len(st.Data), Title: st.Title,
			Description: st.Description, StoredAt: st.At, Resource: st.Summary})
	}
	return out
}

// Content returns a stored resource's bytes.
func (s *Sim) Content(id string) ([]byte, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.store {
		if st.ID == id {
			return st.Data, st.ContentType, true
		}
	}
	return nil, "", false
}

// Request is one FHIR or launch call as the sandbox saw it, so tests can check the
// headers a client sends. Path excludes the query.
type Request struct {
	Method, Path                              string
	Facility, Correlation, AppID, ContentType string
	Status                                    int
}

// Requests returns the calls seen so far (token requests excluded).
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}
