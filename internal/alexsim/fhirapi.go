package alexsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/clinicpro/medtech-images/internal/fhir"
)

// MissingIdentifier is ALEX's exact diagnostics for a Media without identifier.value.
const MissingIdentifier = "The mandatory Identifier.value with the reference number is missing"

// fhir routes /FHIR/{type}[/{id}] for one facility.
func (s *Sim) fhir(w http.ResponseWriter, r *http.Request, facility string) {
	parts := strings.Split(strings.Trim(r.URL.Path[len("/fhir/"):], "/"), "/")
	typ, id := parts[0], ""
	if len(parts) > 1 {
		id = parts[1]
	}
	if len(parts) > 2 {
		notExposed(w)
		return
	}
	q := r.URL.Query()
	switch {
	case typ == "metadata" && r.Method == http.MethodGet:
		writeFHIR(w, http.StatusOK, map[string]any{"resourceType": "CapabilityStatement", "status": "active",
			"kind": "instance", "fhirVersion": "4.0.1", "format": []string{"json"}, "date": "2026-02-25"})
	case typ == "Location" && r.Method == http.MethodGet && id == "":
		writeFHIR(w, http.StatusOK, searchset(location(facility)))
	case typ == "Practitioner" && r.Method == http.MethodGet && id == "":
		writeFHIR(w, http.StatusOK, searchset(map[string]any{"resourceType": "Practitioner", "id": ProviderID(facility),
			"name": []fhir.HumanName{{Family: "PRACTITIONER", Given: []string{"Test"}}}}))
	case typ == "Patient" && r.Method == http.MethodGet:
		s.patient(w, facility, id, q.Get("identifier"), len(q) == 0)
	case typ == "Media" && r.Method == http.MethodGet && id == "":
		s.search(w, facility, "Media", r)
	case typ == "Media" && r.Method == http.MethodPost && id == "":
		s.create(w, r, facility, "Media")
	case typ == "DocumentReference" && r.Method == http.MethodPost && id == "":
		s.create(w, r, facility, "DocumentReference")
	case typ == "DocumentReference" && r.Method == http.MethodGet && id != "":
		s.readStored(w, facility, "DocumentReference", id)
	case typ == "DocumentReference" && r.Method == http.MethodGet:
		s.search(w, facility, "DocumentReference", r)
	case typ == "Media" && r.Method == http.MethodGet:
		s.readStored(w, facility, "Media", id)
	default:
		// Encounter and everything else ALEX does not expose.
		notExposed(w)
	}
}

func location(facility string) map[string]any {
	return map[string]any{
		"resourceType": "Location", "id": opaqueID("location", facility), "name": "Healthier Care (alexsim)",
		"identifier": []fhir.Identifier{{System: fhir.HPIFacilitySystem, Value: facility}},
		"extension": []map[string]string{{
			"url":         "http://alexapi.medtechglobal.com/fhir/StructureDefinition/location-medtechpms-version",
			"valueString": "8.0.0.112"}},
	}
}

// nhiParam returns the NHI of "<system>|<nhi>" or a bare value (ALEX assumes NHI), ""
// when the system is another one.
func nhiParam(v string) string {
	sys, val, ok := strings.Cut(v, "|")
	if !ok {
		return strings.ToUpper(v)
	}
	if sys != "" && sys != fhir.NHISystem {
		return ""
	}
	return strings.ToUpper(val)
}

func (s *Sim) patient(w http.ResponseWriter, facility, id, identifier string, noParams bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case id != "":
		p := s.findPatient(facility, "", id)
		if p == nil {
			outcome(w, http.StatusNotFound, "not-found", "Patient not found.")
			return
		}
		writeFHIR(w, http.StatusOK, p.resource())
	case noParams || identifier == "":
		forbidden(w) // ALEX refuses an unfiltered patient search
	default:
		var found []any
		if n := nhiParam(identifier); n != "" {
			for _, p := range s.patients[facility] {
				if p.NHI == n {
					found = append(found, p.resource())
				}
			}
		}
		writeFHIR(w, http.StatusOK, searchset(found...))
	}
}

// search answers a Media or DocumentReference search as ALEX does: only the chained
// NHI shape, patient.identifier=<system>|<nhi>, is allowed. Everything else (no
// filter, patient=, subject=, identifier= alone, extra parameters) gets 403
// "Authorization failed.", as recorded in UAT even with the right roles. With
// Options.PermissiveSearch an identifier= search without a patient filter is
// answered too, which real ALEX does not do.
func (s *Sim) search(w http.ResponseWriter, facility, kind string, r *http.Request) {
	q := r.URL.Query()
	if len(q) != 1 {
		forbidden(w)
		return
	}
	var match func(*stored) bool
	switch {
	case q.Get("patient.identifier") != "":
		s.mu.Lock()
		p := s.findPatient(facility, nhiParam(q.Get("patient.identifier")), "")
		s.mu.Unlock()
		match = func(st *stored) bool { return p != nil && st.PatientID == p.ID }
	case q.Get("identifier") != "" && s.opts.PermissiveSearch:
		v := q.Get("identifier")
		if _, val, ok := strings.Cut(v, "|"); ok {
			v = val
		}
		match = func(st *stored) bool { return st.Identifier == v }
	default:
		forbidden(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []any
	for _, st := range s.store {
		if st.Kind == kind && st.Facility == facility && match(st) {
			found = append(found, json.RawMessage(st.Raw))
		}
	}
	writeFHIR(w, http.StatusOK, searchset(found...))
}

func (s *Sim) readStored(w http.ResponseWriter, facility, kind, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.store {
		if st.Kind == kind && st.ID == id && st.Facility == facility {
			w.Header().Set("ETag", `W/"1"`)
			writeFHIR(w, http.StatusOK, json.RawMessage(st.Raw))
			return
		}
	}
	outcome(w, http.StatusNotFound, "not-found", kind+" not found.")
}

// fhirDateTime is R4's dateTime with a required zone when a time is given.
var fhirDateTime = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?$`)

// sniff names TIFF and PDF by their first bytes.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "image/tiff"
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "application/pdf"
	}
	return ""
}

// badRequest is a 400 business-rule outcome.
type badRequest struct {
	status      int
	code, diags string
}

func (e *badRequest) Error() string { return e.diags }

func reject(code, diags string) error { return &badRequest{http.StatusBadRequest, code, diags} }

// create validates and stores a DocumentReference or Media.
func (s *Sim) create(w http.ResponseWriter, r *http.Request, facility, kind string) {
	// base64 grows 4/3; allow JSON around it.
	limit := s.opts.MaxBytes/3*4 + 1<<20
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		outcome(w, http.StatusRequestEntityTooLarge, "too-costly", fmt.Sprintf("The attachment exceeds the %d MB limit.", s.opts.MaxBytes>>20))
		return
	}
	st, raw, err := s.validate(facility, kind, body, "http://"+r.Host+"/fhir")
	if err != nil {
		var br *badRequest
		if errors.As(err, &br) {
			outcome(w, br.status, br.code, br.diags)
			return
		}
		outcome(w, http.StatusBadRequest, "structure", "The request body is not a valid FHIR resource.")
		return
	}
	s.mu.Lock()
	s.seq++
	st.ID = opaqueID("stored", facility, fmt.Sprint(s.seq), st.Identifier)
	st.At = s.opts.Now()
	raw["id"] = st.ID
	raw["meta"] = fhir.Meta{VersionID: "1", LastUpdated: st.At.UTC().Format("2006-01-02T15:04:05.000Z")}
	st.Raw, _ = json.Marshal(raw)
	st.Summary = withoutData(raw, kind)
	s.store = append(s.store, st)
	s.mu.Unlock()
	if s.takeDrop() {
		drop(w)
		return
	}
	w.Header().Set("Location", "http://"+r.Host+"/fhir/"+kind+"/"+st.ID+"/_history/1")
	w.Header().Set("ETag", `W/"1"`)
	delete(raw, "content")
	writeFHIR(w, http.StatusCreated, raw)
}

// validate checks a posted resource the way ALEX is known (or, where marked, assumed)
// to, returning what to store and the resource as a generic map.
func (s *Sim) validate(facility, kind string, body []byte, base string) (*stored, map[string]any, error) {
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, err
	}
	if raw["resourceType"] != kind {
		return nil, nil, reject("structure", "resourceType must be "+kind+".")
	}
	st := &stored{Kind: kind, Facility: facility}
	var (
		ids      []fhir.Identifier
		subject  *fhir.Reference
		author   []fhir.Reference
		att      fhir.Attachment
		status   string
		dateText string
	)
	if kind == "DocumentReference" {
		var d fhir.DocumentReference
		if err := json.Unmarshal(body, &d); err != nil {
			return nil, nil, err
		}
		ids, subject, author, status, dateText, st.Description = d.Identifier, d.Subject, d.Author, d.Status, d.Date, d.Description
		if len(d.Content) == 0 {
			return nil, nil, reject("required", "DocumentReference.content is required.")
		}
		att = d.Content[0].Attachment
		if status != "current" {
			return nil, nil, reject("value", "DocumentReference.status must be current.")
		}
	} else {
		var m fhir.Media
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, nil, err
		}
		ids, subject, status, dateText, att = m.Identifier, m.Subject, m.Status, m.CreatedDateTime, m.Content
		if m.Operator != nil {
			author = []fhir.Reference{*m.Operator}
		}
		if status == "" {
			return nil, nil, reject("required", "Media.status is required.")
		}
	}
	if len(ids) == 0 || strings.TrimSpace(ids[0].Value) == "" {
		return nil, nil, reject("business-rule", MissingIdentifier)
	}
	st.Identifier = ids[0].Value
	if dateText != "" && !fhirDateTime.MatchString(dateText) {
		return nil, nil, reject("value", "The date is not a valid FHIR dateTime.")
	}
	if subject == nil {
		return nil, nil, reject("required", "subject is required.")
	}
	pid, ok := refID(subject.Reference, "Patient", base)
	s.mu.Lock()
	p := s.findPatient(facility, "", pid)
	s.mu.Unlock()
	if !ok || p == nil {
		return nil, nil, reject("business-rule", "The patient referenced by subject was not found.")
	}
	st.PatientID = p.ID
	for _, a := range author {
		id, ok := refID(a.Reference, "Practitioner", base)
		s.mu.Lock()
		known := ok && s.providers[facility][id]
		s.mu.Unlock()
		if !known {
			return nil, nil, reject("business-rule", "The practitioner referenced by author was not found.")
		}
	}
	if len(att.Data) == 0 {
		return nil, nil, reject("required", "The attachment data is required.")
	}
	if int64(len(att.Data)) > s.opts.MaxBytes {
		return nil, nil, &badRequest{http.StatusRequestEntityTooLarge, "too-costly", fmt.Sprintf("The attachment exceeds the %d MB limit.", s.opts.MaxBytes>>20)}
	}
	if kind == "DocumentReference" {
		// Scan folder: TIFF or PDF only, judged by the bytes, not the label.
		got := sniff(att.Data)
		if got == "" || got != att.ContentType {
			return nil, nil, reject("business-rule", "Only image/tiff and application/pdf attachments are accepted.")
		}
	}
	st.ContentType, st.Title, st.Data = att.ContentType, att.Title, att.Data
	return st, raw, nil
}

// withoutData returns the stored resource with its attachment bytes left out, for
// the inspection listing.
func withoutData(raw map[string]any, kind string) json.RawMessage {
	var cp map[string]any
	b, _ := json.Marshal(raw)
	_ = json.Unmarshal(b, &cp)
	strip := func(a any) {
		if m, ok := a.(map[string]any); ok {
			delete(m, "data")
		}
	}
	switch kind {
	case "DocumentReference":
		if cs, ok := cp["content"].([]any); ok {
			for _, c := range cs {
				if m, ok := c.(map[string]any); ok {
					strip(m["attachment"])
				}
			}
		}
	default:
		strip(cp["content"])
	}
	out, _ := json.Marshal(cp)
	return out
}

// refID accepts Patient/{id} and absolute references to this server's /fhir base
// (either case), as ALEX writes them.
func refID(ref, typ, base string) (string, bool) {
	rest := ref
	if i := strings.Index(strings.ToLower(ref), "/fhir/"); i >= 0 {
		if !strings.EqualFold(ref[:i+len("/fhir")], base) {
			return "", false
		}
		rest = ref[i+len("/fhir/"):]
	}
	id, ok := strings.CutPrefix(rest, typ+"/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}
