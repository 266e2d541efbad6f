// Package fhir holds the few FHIR R4 structures that ALEX exchanges with us, shared by
// the client (internal/alex) and the sandbox (internal/alexsim) so both agree on the
// wire shape. They are deliberately small: a full R4 model (e.g. samply's generated
// models) is thousands of types for the handful of fields we read and write.
package fhir

import "encoding/json"

// Systems and codes used on the wire.
const (
	// NHISystem is the identifier system for New Zealand NHI numbers.
	NHISystem = "https://standards.digital.health.nz/ns/nhi-id"
	// HPIFacilitySystem is the identifier system of HPI facility ids (Location.identifier).
	HPIFacilitySystem = "https://standards.digital.health.nz/ns/hpi-facility-id"
	// MediaTypeSystem is the R4 code system of Media.type.
	MediaTypeSystem = "http://terminology.hl7.org/CodeSystem/media-type"
	// ContentType is the FHIR JSON media type sent on writes.
	ContentType = "application/fhir+json"
)

// Identifier is an R4 Identifier.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Coding is an R4 Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is an R4 CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Reference is an R4 Reference.
type Reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

// Extension is an R4 Extension with the value types we use.
type Extension struct {
	URL                  string           `json:"url"`
	ValueString          string           `json:"valueString,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
}

// Attachment is an R4 Attachment. Data is base64 on the wire; encoding/json does that
// for []byte.
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	Data        []byte `json:"data,omitempty"`
	URL         string `json:"url,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// Meta is R4 resource metadata.
type Meta struct {
	VersionID   string `json:"versionId,omitempty"`
	LastUpdated string `json:"lastUpdated,omitempty"`
}

// HumanName is an R4 HumanName.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// Patient is the part of an R4 Patient we read.
type Patient struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id,omitempty"`
	Meta         *Meta        `json:"meta,omitempty"`
	Identifier   []Identifier `json:"identifier,omitempty"`
	Name         []HumanName  `json:"name,omitempty"`
	Gender       string       `json:"gender,omitempty"`
	BirthDate    string       `json:"birthDate,omitempty"`
}

// DocumentReferenceContent is one R4 DocumentReference.content entry.
type DocumentReferenceContent struct {
	Attachment Attachment `json:"attachment"`
}

// DocumentReferenceContext is R4 DocumentReference.context.
type DocumentReferenceContext struct {
	Event   []CodeableConcept `json:"event,omitempty"`
	Related []Reference       `json:"related,omitempty"`
}

// DocumentReference is the part of an R4 DocumentReference we write and read.
type DocumentReference struct {
	ResourceType string                     `json:"resourceType"`
	ID           string                     `json:"id,omitempty"`
	Meta         *Meta                      `json:"meta,omitempty"`
	Extension    []Extension                `json:"extension,omitempty"`
	Identifier   []Identifier               `json:"identifier,omitempty"`
	Status       string                     `json:"status"`
	Type         *CodeableConcept           `json:"type,omitempty"`
	Category     []CodeableConcept          `json:"category,omitempty"`
	Subject      *Reference                 `json:"subject,omitempty"`
	Date         string                     `json:"date,omitempty"`
	Author       []Reference                `json:"author,omitempty"`
	Description  string                     `json:"description,omitempty"`
	Content      []DocumentReferenceContent `json:"content"`
	Context      *DocumentReferenceContext  `json:"context,omitempty"`
}

// Media is the part of an R4 Media we write and read.
type Media struct {
	ResourceType    string           `json:"resourceType"`
	ID              string           `json:"id,omitempty"`
	Meta            *Meta            `json:"meta,omitempty"`
	Identifier      []Identifier     `json:"identifier,omitempty"`
	Status          string           `json:"status"`
	Type            *CodeableConcept `json:"type,omitempty"`
	Subject         *Reference       `json:"subject,omitempty"`
	CreatedDateTime string           `json:"createdDateTime,omitempty"`
	Operator        *Reference       `json:"operator,omitempty"`
	BodySite        *CodeableConcept `json:"bodySite,omitempty"`
	Content         Attachment       `json:"content"`
}

// Issue is one R4 OperationOutcome.issue.
type Issue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
}

// OperationOutcome is an R4 OperationOutcome.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// BundleEntry is one R4 Bundle.entry; Resource is kept raw so the caller can switch on
// its resourceType (ALEX mixes OperationOutcome entries into searchsets).
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *BundleSearch   `json:"search,omitempty"`
}

// BundleSearch is R4 Bundle.entry.search.
type BundleSearch struct {
	Mode string `json:"mode,omitempty"`
}

// Bundle is an R4 Bundle.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// ResourceType returns the resourceType of a raw resource, or "" when raw is not a JSON
// object with one.
func ResourceType(raw []byte) string {
	var h struct {
		ResourceType string `json:"resourceType"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return ""
	}
	return h.ResourceType
}
