package alex

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/fhir"
)

// auckland is where Evolution runs; FHIR dateTimes are sent with its offset (+12/+13)
// because that is what CP's accepted payloads carried.
var auckland = mustLoad("Pacific/Auckland")

func mustLoad(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is linked in, so this cannot fail
	}
	return l
}

// fhirDateTime formats t as an R4 dateTime with seconds and the Auckland offset.
func fhirDateTime(t time.Time) string { return t.In(auckland).Format("2006-01-02T15:04:05-07:00") }

// Sniff returns ContentTypeTIFF or ContentTypePDF from a file's first bytes, or "".
func Sniff(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return ContentTypeTIFF
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return ContentTypePDF
	}
	return ""
}

// source returns a replayable reader of d's bytes and their length.
func (d ScanDocument) source() (io.ReaderAt, int64) {
	if d.Content != nil {
		return d.Content, d.Size
	}
	return bytes.NewReader(d.Data), int64(len(d.Data))
}

// check refuses a document ALEX would reject, before anything is sent.
func (c *Client) checkScan(d ScanDocument) error {
	if strings.TrimSpace(d.Identifier) == "" || d.PatientID == "" {
		return ErrInvalidDocument
	}
	if d.ContentType != ContentTypeTIFF && d.ContentType != ContentTypePDF {
		return ErrContentType
	}
	src, n := d.source()
	if n <= 0 {
		return ErrInvalidDocument
	}
	if n > c.cfg.MaxBytes {
		return ErrTooLarge
	}
	head := make([]byte, 8)
	k, _ := src.ReadAt(head, 0)
	if Sniff(head[:k]) != d.ContentType {
		return ErrContentType
	}
	return nil
}

// siteText is "Left knee"-style text, or "".
func siteText(d ScanDocument) string {
	site := strings.TrimSpace(d.BodySite.Display)
	lat := d.Laterality.Display
	switch {
	case lat != "" && site != "":
		return lat + " " + strings.ToLower(site[:1]) + site[1:]
	case lat != "":
		return lat
	case site != "":
		return strings.ToUpper(site[:1]) + site[1:]
	}
	return ""
}

// scanResource builds the DocumentReference without its data, following the fields CP
// aligned to Medtech's v1.33/v2.9 requirements.
func (c *Client) scanResource(d ScanDocument) fhir.DocumentReference {
	date := d.Date
	if date.IsZero() {
		date = c.cfg.Now()
	}
	typ := d.Type
	if typ.Code == "" {
		typ = fhir.Coding{System: c.cfg.ScanTypeSystem, Code: c.cfg.ScanTypeCode, Display: c.cfg.ScanTypeDisplay}
	}
	desc := d.Description
	dr := fhir.DocumentReference{
		ResourceType: "DocumentReference",
		Identifier:   []fhir.Identifier{{System: c.cfg.IdentifierSystem, Value: d.Identifier}},
		Status:       "current",
		Type:         &fhir.CodeableConcept{Coding: []fhir.Coding{typ}},
		Date:         fhirDateTime(date),
		Subject:      &fhir.Reference{Reference: c.refBase + "/Patient/" + d.PatientID},
		Content: []fhir.DocumentReferenceContent{{Attachment: fhir.Attachment{ContentType: d.ContentType, Title: d.Title,
			Creation: fhirDateTime(date)}}},
	}
	if d.ProviderID != "" {
		dr.Author = []fhir.Reference{{Reference: c.refBase + "/Practitioner/" + d.ProviderID}}
	}
	if site := siteText(d); site != "" {
		mode := c.cfg.BodySite
		if mode == BodySiteInDescription || mode == BodySiteBoth {
			if desc == "" {
				desc = site
			} else {
				desc += " (" + site + ")"
			}
		}
		if mode == BodySiteExtension || mode == BodySiteBoth {
			cc := &fhir.CodeableConcept{Text: site}
			if d.BodySite.Code != "" {
				cc.Coding = append(cc.Coding, d.BodySite)
			}
			if d.Laterality.Code != "" {
				cc.Coding = append(cc.Coding, d.Laterality)
			}
			dr.Extension = append(dr.Extension, fhir.Extension{URL: BodySiteExtensionURL, ValueCodeableConcept: cc})
		}
	}
	dr.Description = desc
	return dr
}

// scanBody returns a replayable streaming body: the JSON is marshalled once with a
// random placeholder for attachment.data, then split around it, and the file is
// base64-encoded on the fly between the two halves. Memory stays bounded whatever the
// file size and the exact Content-Length is known up front.
func (c *Client) scanBody(d ScanDocument) (func() (io.ReadCloser, int64, error), error) {
	dr := c.scanResource(d)
	marker := make([]byte, 18)
	_, _ = rand.Read(marker)
	dr.Content[0].Attachment.Data = marker
	js, err := json.Marshal(dr)
	if err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString(marker)
	i := bytes.Index(js, []byte(enc))
	if i < 0 {
		return nil, fmt.Errorf("alex: building the document body failed")
	}
	prefix, suffix := js[:i], js[i+len(enc):]
	src, n := d.source()
	length := int64(len(prefix)) + int64(base64.StdEncoding.EncodedLen(int(n))) + int64(len(suffix))
	return func() (io.ReadCloser, int64, error) {
		pr, pw := io.Pipe()
		go func() {
			w := base64.NewEncoder(base64.StdEncoding, pw)
			_, err := io.Copy(w, io.NewSectionReader(src, 0, n))
			if err == nil {
				err = w.Close()
			}
			pw.CloseWithError(err)
		}()
		body := io.MultiReader(bytes.NewReader(prefix), pr, bytes.NewReader(suffix))
		return readCloser{body, pr}, length, nil
	}, nil
}

// readCloser closes the pipe so the encoding goroutine ends when the transport gives
// up on the body.
type readCloser struct {
	io.Reader
	pr *io.PipeReader
}

func (r readCloser) Close() error { return r.pr.Close() }
