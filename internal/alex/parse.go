package alex

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/fhir"
	"github.com/clinicpro/medtech-images/internal/nhi"
)

// ParseOperationOutcome reports whether body is a FHIR OperationOutcome with at least
// one issue, and returns it.
func ParseOperationOutcome(body []byte) (fhir.OperationOutcome, bool) {
	var oo fhir.OperationOutcome
	if json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		return fhir.OperationOutcome{}, false
	}
	return oo, true
}

// errNotFHIR is returned for a 2xx body that is not the expected FHIR JSON.
var errNotFHIR = errors.New("Medtech answered with something that is not the expected FHIR resource: quote the correlation id to Medtech support")

// SearchResult is a parsed searchset: the resources of the wanted type, raw, plus any
// OperationOutcome entries ALEX mixed in (e.g. "no matches"), which are not errors.
type SearchResult struct {
	Resources [][]byte
	Outcomes  []fhir.OperationOutcome
}

// ParseSearch parses a search answer for resources of type want. ALEX returns a
// Bundle; an empty search is a Bundle whose only entry is an OperationOutcome. A bare
// OperationOutcome is accepted too. An outcome with a fatal issue or a "forbidden" or
// "security" code is returned as *OperationOutcomeError: ALEX refused the search.
func ParseSearch(body []byte, want string) (SearchResult, error) {
	var res SearchResult
	switch fhir.ResourceType(body) {
	case "Bundle":
	case "OperationOutcome":
		oo, _ := ParseOperationOutcome(body)
		res.Outcomes = append(res.Outcomes, oo)
		return res, refusal(res.Outcomes)
	default:
		return res, errNotFHIR
	}
	var b fhir.Bundle
	if err := json.Unmarshal(body, &b); err != nil {
		return res, errNotFHIR
	}
	for _, e := range b.Entry {
		switch fhir.ResourceType(e.Resource) {
		case want:
			res.Resources = append(res.Resources, e.Resource)
		case "OperationOutcome":
			var oo fhir.OperationOutcome
			if json.Unmarshal(e.Resource, &oo) == nil {
				res.Outcomes = append(res.Outcomes, oo)
			}
		}
	}
	return res, refusal(res.Outcomes)
}

func refusal(oos []fhir.OperationOutcome) error {
	for _, oo := range oos {
		for _, is := range oo.Issue {
			if is.Severity == "fatal" || is.Code == "forbidden" || is.Code == "security" {
				return &OperationOutcomeError{Status: 200, Issues: oo.Issue}
			}
		}
	}
	return nil
}

// toPatient converts an R4 Patient; an NHI that does not validate is dropped.
func toPatient(raw []byte) (Patient, error) {
	var fp fhir.Patient
	if err := json.Unmarshal(raw, &fp); err != nil || fp.ResourceType != "Patient" {
		return Patient{}, errNotFHIR
	}
	p := Patient{ID: fp.ID, BirthDate: fp.BirthDate, Gender: fp.Gender}
	for _, id := range fp.Identifier {
		if id.System != fhir.NHISystem && id.System != "" {
			continue
		}
		if n, err := nhi.Parse(id.Value); err == nil {
			p.NHI = n
			break
		}
	}
	var best *fhir.HumanName
	for i := range fp.Name {
		if best == nil || (fp.Name[i].Use == "official" && best.Use != "official") {
			best = &fp.Name[i]
		}
	}
	if best != nil {
		p.Family, p.Given = best.Family, best.Given
	}
	return p, nil
}

func toDocumentReference(raw []byte) (DocumentReference, error) {
	var fd fhir.DocumentReference
	if err := json.Unmarshal(raw, &fd); err != nil || fd.ResourceType != "DocumentReference" {
		return DocumentReference{}, errNotFHIR
	}
	d := DocumentReference{ID: fd.ID, Status: fd.Status, Date: fd.Date, Description: fd.Description}
	if fd.Meta != nil {
		d.VersionID = fd.Meta.VersionID
	}
	for _, id := range fd.Identifier {
		d.Identifiers = append(d.Identifiers, id.Value)
	}
	if fd.Subject != nil {
		d.PatientID = lastSegment(fd.Subject.Reference, "Patient")
	}
	if len(fd.Content) > 0 {
		a := fd.Content[0].Attachment
		d.ContentType, d.Title, d.Data, d.Size = a.ContentType, a.Title, a.Data, a.Size
		if d.Size == 0 {
			d.Size = int64(len(a.Data))
		}
	}
	return d, nil
}

func toMediaSummary(raw []byte) (MediaSummary, error) {
	var fm fhir.Media
	if err := json.Unmarshal(raw, &fm); err != nil || fm.ResourceType != "Media" {
		return MediaSummary{}, errNotFHIR
	}
	m := MediaSummary{ID: fm.ID, ContentType: fm.Content.ContentType, Title: fm.Content.Title, Created: fm.CreatedDateTime}
	for _, id := range fm.Identifier {
		m.Identifiers = append(m.Identifiers, id.Value)
	}
	return m, nil
}

// lastSegment returns the id after "<typ>/" in a relative or absolute reference.
func lastSegment(ref, typ string) string {
	i := strings.LastIndex(ref, typ+"/")
	if i < 0 {
		return ""
	}
	id := ref[i+len(typ)+1:]
	if j := strings.IndexByte(id, '/'); j >= 0 {
		id = id[:j]
	}
	return id
}

// idFromLocation extracts id and version from a Location such as
// https://host/fhir/DocumentReference/{id}/_history/{vid}.
func idFromLocation(loc, typ string) (id, vid string) {
	i := strings.LastIndex(loc, "/"+typ+"/")
	if i < 0 {
		return "", ""
	}
	parts := strings.Split(loc[i+len(typ)+2:], "/")
	id = parts[0]
	if len(parts) >= 3 && parts[1] == "_history" {
		vid = parts[2]
	}
	return id, vid
}

// ParseLaunchContext parses the decode endpoint's answer. The schema is not published,
// so it accepts the JSON object {patientId, facilityCode, providerId, createdTime} and
// the same object encoded as a JSON string (the endpoint is named "...string").
func ParseLaunchContext(body []byte) (LaunchContext, error) {
	body = []byte(strings.TrimSpace(string(body)))
	if len(body) > 0 && body[0] == '"' {
		var s string
		if err := json.Unmarshal(body, &s); err != nil {
			return LaunchContext{}, errLaunch
		}
		body = []byte(s)
	}
	var w struct {
		PatientID    *string `json:"patientId"`
		FacilityCode string  `json:"facilityCode"`
		ProviderID   *string `json:"providerId"`
		CreatedTime  string  `json:"createdTime"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return LaunchContext{}, errLaunch
	}
	if w.FacilityCode == "" {
		return LaunchContext{}, errLaunch
	}
	lc := LaunchContext{FacilityCode: w.FacilityCode, CreatedRaw: w.CreatedTime}
	if w.PatientID != nil {
		lc.PatientID = *w.PatientID
	}
	if w.ProviderID != nil {
		lc.ProviderID = *w.ProviderID
	}
	lc.CreatedTime = parseCreated(w.CreatedTime)
	return lc, nil
}

var errLaunch = errors.New("Medtech's launch answer could not be read: open the patient in Evolution and click the icon again")

// parseCreated accepts RFC 3339 and zone-less .NET-style times; zone-less times are
// taken as New Zealand time because Evolution runs there. Zero when unparseable.
func parseCreated(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	for _, layout := range []string{"2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, auckland); err == nil {
			return t
		}
	}
	return time.Time{}
}
