package alex_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/clinicpro/medtech-images/internal/alex"
)

// When ALEX answers a create with the stored resource and its attachment, Created
// carries it (the relay then answers the read-back without a second call); an answer
// without the attachment leaves Stored nil.
func TestCreatedCarriesTheStoredAttachment(t *testing.T) {
	body := []byte("%PDF-1.7 stored bytes")
	var withContent atomic.Bool
	withContent.Store(true)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/token") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":3599}`)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", "https://alex.test/fhir/DocumentReference/doc-9/_history/1")
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(http.StatusCreated)
		content := ""
		if withContent.Load() {
			content = `,"content":[{"attachment":{"contentType":"application/pdf","data":"` + base64.StdEncoding.EncodeToString(body) + `"}}]`
		}
		_, _ = io.WriteString(w, `{"resourceType":"DocumentReference","id":"doc-9","status":"current"`+content+`}`)
	}))
	defer ts.Close()
	c, err := alex.New(alex.Config{BaseURL: ts.URL + "/FHIR", TokenURL: ts.URL + "/token", ClientID: "a", ClientSecret: "b"})
	if err != nil {
		t.Fatal(err)
	}
	doc := alex.ScanDocument{Identifier: "k", PatientID: "p", ContentType: alex.ContentTypePDF, Data: body}
	cr, _, err := c.CreateScanDocument(context.Background(), "F2N060-E", doc)
	if err != nil {
		t.Fatal(err)
	}
	if cr.ID != "doc-9" || cr.Stored == nil || string(cr.Stored.Data) != string(body) || cr.Stored.ContentType != alex.ContentTypePDF {
		t.Fatalf("created %+v", cr)
	}
	withContent.Store(false)
	if cr, _, _ = c.CreateScanDocument(context.Background(), "F2N060-E", doc); cr.Stored != nil {
		t.Fatalf("an answer without the attachment gave Stored %+v", cr.Stored)
	}
}
