package agent

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/imaging"
	"github.com/clinicpro/medtech-images/internal/redact"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
	"github.com/clinicpro/medtech-images/internal/upload"
)

// ImagingConverter is the uploader's Converter backed by internal/imaging. Its
// conversions and the tray's thumbnails share imaging.DefaultLimiter, so one
// decode runs at a time.
type ImagingConverter struct {
	PDF config.PDFHandling // what happens to a PDF that passed the safety checks
}

func (c ImagingConverter) Convert(ctx context.Context, req upload.ConvertRequest) (upload.Converted, error) {
	b, err := readSpool(req.Path)
	if err != nil {
		return upload.Converted{}, err
	}
	f := imaging.FormatAuto
	switch req.Format {
	case config.FormatTIFF:
		f = imaging.FormatTIFF
	case config.FormatPDF:
		f = imaging.FormatPDF
	}
	res, err := imaging.Convert(ctx, b, imaging.Options{Budget: req.ByteBudget, Format: f, Rotate: req.Rotation / 90, PDF: pdfMode(c.PDF),
		Crop: imaging.Crop{X: req.Crop.X, Y: req.Crop.Y, W: req.Crop.W, H: req.Crop.H}})
	if err != nil {
		return upload.Converted{}, err
	}
	return upload.Converted{Data: res.Data, ContentType: res.ContentType, FileName: titleFrom(req.FileName) + res.Ext}, nil
}

func pdfMode(h config.PDFHandling) imaging.PDFMode {
	switch h {
	case config.PDFPassThrough:
		return imaging.PDFPassThrough
	case config.PDFRebuildOnly:
		return imaging.PDFRebuildOnly
	}
	return imaging.PDFRebuild
}

func readSpool(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return imaging.ReadLimited(f, 0)
}

// titleFrom makes the default attachment title from a file name without the NHI
// that routed it: the title shows in Medtech lists where the patient is already known.
func titleFrom(name string) string {
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	stem = strings.ReplaceAll(redact.String(stem), redact.Mask, "")
	stem = strings.Trim(stem, " _-.")
	if stem == "" {
		return "Image"
	}
	return stem
}

// relayUploads is the uploader's Relay backed by the relay client. It holds no
// state: the relay's read-back reports the SHA-256 of what ALEX holds, which the
// uploader compares with what it sent, so a restart between upload and read-back
// needs nothing remembered.
type relayUploads struct {
	c *client.Client
}

func (r relayUploads) Upload(ctx context.Context, d upload.Document) (upload.Receipt, error) {
	ctx = client.WithCorrelation(ctx, d.Correlation)
	res, err := r.c.UploadDocument(ctx, client.DocumentUpload{
		IdempotencyKey: d.IdempotencyKey, Supersedes: d.Supersedes, PatientID: d.Patient.PatientID, NHI: nhiIfNoID(d),
		ProviderID: d.Patient.ProviderID, Title: d.Title, Kind: d.Kind, Source: d.Source, Laterality: d.Laterality,
		BodySite: d.BodySite, BodySiteCode: d.BodySiteCode, ClinicalDate: d.Taken,
		ContentType: d.ContentType, Size: int64(len(d.Data)), Body: bytes.NewReader(d.Data),
	})
	if err != nil {
		return upload.Receipt{}, uploadError(err)
	}
	return upload.Receipt{DocumentID: res.ID}, nil
}

// nhiIfNoID: the relay wants exactly one of patient id and NHI; the id from a launch
// is the more precise.
func nhiIfNoID(d upload.Document) string {
	if d.Patient.PatientID != "" {
		return ""
	}
	return d.Patient.NHI
}

func (r relayUploads) ReadBack(ctx context.Context, documentID, correlation string) (upload.Stored, error) {
	ctx = client.WithCorrelation(ctx, correlation)
	doc, err := r.c.ReadDocument(ctx, documentID)
	if err != nil {
		return upload.Stored{}, uploadError(err)
	}
	return upload.Stored{ContentType: doc.ContentType, SHA256: doc.SHA256}, nil
}

// uploadError hands the uploader the cause the relay client found: the client is
// the one place the relay's codes are interpreted. The relay's own sentence travels
// on for refusals, whose reason is specific to the file.
func uploadError(err error) error {
	e := &upload.Error{Cause: api.CauseOf(err), Msg: err.Error()}
	var ce *client.Error
	if errors.As(err, &ce) {
		e.After, e.Msg, e.Correlation = ce.RetryAfter, ce.Message, ce.Correlation
	}
	if !e.Cause.Known() {
		e.Cause = api.CauseRelayUnreachable
	}
	return e
}
