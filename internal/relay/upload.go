package relay

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/fhir"
	"github.com/clinicpro/medtech-images/internal/nhi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/audit"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
)

// ioBuf sizes the read and spool buffers of one upload: 128 KiB per upload in flight.
const ioBuf = 64 << 10

var (
	keyRe    = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,64}$`)
	fhirIDRe = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)
	formData = "multipart/form-data"
)

// upload is a validated DocumentMetadata.
type upload struct {
	meta api.DocumentMetadata
	nhi  nhi.NHI
	date time.Time
}

// parseMetadata decodes and checks the metadata part. Every check that does not need
// ALEX happens here, before a byte of the file is read.
func parseMetadata(b []byte, maxUpload int64) (upload, *apiError) {
	var u upload
	if e := decodeStrict(bytes.NewReader(b), &u.meta); e != nil {
		return upload{}, e
	}
	m := &u.meta
	switch {
	case !keyRe.MatchString(m.IdempotencyKey):
		return upload{}, badRequest("The idempotency key must be 8 to 64 letters, digits or . _ : - characters: this is a bug in the agent.")
	case m.Supersedes != "" && (!keyRe.MatchString(m.Supersedes) || m.Supersedes == m.IdempotencyKey):
		return upload{}, badRequest("The key this upload supersedes must be another valid idempotency key: this is a bug in the agent.")
	case (m.PatientID == "") == (m.NHI == ""):
		return upload{}, badRequest("Give exactly one of patientId and nhi: this is a bug in the agent.")
	case m.PatientID != "" && !fhirIDRe.MatchString(m.PatientID):
		return upload{}, badRequest("The patient id is not a Medtech patient id: choose the patient again.")
	case m.ProviderID != "" && !fhirIDRe.MatchString(m.ProviderID):
		return upload{}, badRequest("The provider id is not a Medtech provider id: launch again from the Medtech toolbar.")
	case m.ContentType != api.ContentTypeTIFF && m.ContentType != api.ContentTypePDF:
		return upload{}, fail(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, "Medtech's scan folder accepts only TIFF images and PDF documents: convert the file first.")
	case m.Size <= 0:
		return upload{}, badRequest("The document is empty: capture or pick the file again.")
	case m.Size > maxUpload:
		return upload{}, fail(http.StatusRequestEntityTooLarge, api.CodeTooLarge,
			fmt.Sprintf("The document is %d bytes, over this relay's limit of %d: convert it with a smaller size budget.", m.Size, maxUpload))
	}
	// The contract's own checks, the same the agent made: text cleaned and cut to
	// the shared limits, the vocabulary, the body-site list, the date taken.
	m.Normalize()
	if err := m.Validate(time.Now()); err != nil {
		return upload{}, badRequest(sentence(err))
	}
	if m.NHI != "" {
		n, err := nhi.Parse(m.NHI)
		if err != nil {
			return upload{}, badRequest("The NHI is not valid: " + err.Error() + ".")
		}
		u.nhi = n
	}
	if m.ClinicalDate != "" {
		u.date, _ = time.Parse(time.RFC3339, m.ClinicalDate) // Validate checked it
	}
	return u, nil
}

// sentence makes a contract error a relay message: capitalised, with a full stop.
func sentence(err error) string {
	s := err.Error()
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

// scanDocument is what the relay files in ALEX for an upload: its type from the
// kind, the laterality's SNOMED CT coding, the body site with its code.
func (s *Server) scanDocument(u upload, identifier, patientID string, f *os.File) alex.ScanDocument {
	m := u.meta
	kind := m.Kind
	if kind == "" {
		kind = api.DefaultKind(m.ContentType)
	}
	d := alex.ScanDocument{Identifier: identifier, PatientID: patientID, ProviderID: m.ProviderID,
		Title: m.Title, Description: m.Description, ContentType: m.ContentType, Content: f, Size: m.Size,
		Date: u.date, Type: s.cfg.DocumentTypes[kind], BodySite: fhir.Coding{Display: m.BodySite}}
	if c, ok := api.LateralityCoding(m.Laterality); ok {
		d.Laterality = fhir.Coding{System: c.System, Code: c.Code, Display: c.Display}
	}
	if m.BodySiteCode != "" {
		site, _ := api.LookupBodySite(m.BodySiteCode) // Validate checked it is listed
		d.BodySite = fhir.Coding{System: api.SNOMEDSystem, Code: site.Code, Display: site.Term}
	}
	return d
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// spooled is an upload read off the wire: its checked metadata and the file, spooled
// to disk, with its length and SHA-256.
type spooled struct {
	upload
	metaOK bool // upload is filled in (even if a later check failed)
	file   *os.File
	n      int64
	sum    string
}

// discard closes and removes the spool file.
func (sp spooled) discard() {
	if sp.file != nil {
		sp.file.Close()
		os.Remove(sp.file.Name())
	}
}

// readUpload reads and checks a whole upload request (format in api) without calling
// anything outside the process: every refusal here happens before ALEX is involved.
// The file is streamed to a spool file in dir, so memory per upload stays a few tens
// of KiB whatever the size, and the bytes can be sent to ALEX again after an
// ambiguous failure without asking the agent for them. An error (not *apiError) is
// the relay's own fault. The caller discards the result.
func readUpload(w http.ResponseWriter, r *http.Request, maxUpload int64, dir string) (spooled, *apiError, error) {
	var sp spooled
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != formData || params["boundary"] == "" {
		return sp, fail(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, "Documents are uploaded as multipart/form-data with a metadata part and then a file part."), nil
	}
	// multipart reads through a 4 KiB buffer; a larger one underneath turns ~250 read
	// syscalls per megabyte into ~16.
	body := bufio.NewReaderSize(http.MaxBytesReader(w, r.Body, maxUpload+api.MaxMetadataBytes+64<<10), ioBuf)
	mr := multipart.NewReader(body, params["boundary"])
	readErr := func(err error) *apiError {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(http.StatusRequestEntityTooLarge, api.CodeTooLarge,
				fmt.Sprintf("The upload is over this relay's limit of %d bytes: convert it with a smaller size budget.", maxUpload))
		}
		return badRequest("The upload was cut off or malformed: it will be retried.")
	}

	p, err := mr.NextPart()
	if err != nil {
		return sp, readErr(err), nil
	}
	if p.FormName() != api.PartMetadata {
		return sp, badRequest("The first part of an upload must be the metadata: this is a bug in the agent."), nil
	}
	metaJSON, err := io.ReadAll(io.LimitReader(p, api.MaxMetadataBytes+1))
	if err != nil {
		return sp, readErr(err), nil
	}
	if len(metaJSON) > api.MaxMetadataBytes {
		return sp, fail(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "The upload's metadata is over 16 KiB: shorten the title and description."), nil
	}
	u, e := parseMetadata(metaJSON, maxUpload)
	if e != nil {
		return sp, e, nil
	}
	sp.upload, sp.metaOK = u, true

	p, err = mr.NextPart()
	if err != nil {
		return sp, readErr(err), nil
	}
	if p.FormName() != api.PartFile {
		return sp, badRequest("The second part of an upload must be the file: this is a bug in the agent."), nil
	}
	if sp.file, err = os.CreateTemp(dir, "upload-*"); err != nil {
		return sp, nil, err
	}
	h := sha256.New()
	// Buffered for the same reason: the part hands over at most 4 KiB per read.
	spool := bufio.NewWriterSize(io.MultiWriter(sp.file, h), ioBuf)
	sp.n, err = io.Copy(spool, io.LimitReader(p, u.meta.Size+1))
	if err != nil {
		return sp, readErr(err), nil
	}
	if err := spool.Flush(); err != nil {
		return sp, nil, err
	}
	if sp.n != u.meta.Size {
		return sp, badRequest(fmt.Sprintf("The file part is not the %d bytes the metadata declares: this is a bug in the agent.", u.meta.Size)), nil
	}
	if _, err := mr.NextPart(); err != io.EOF {
		if err != nil {
			return sp, readErr(err), nil
		}
		return sp, badRequest("An upload has exactly two parts, metadata and file: this is a bug in the agent."), nil
	}
	head := make([]byte, 8)
	k, _ := sp.file.ReadAt(head, 0)
	switch got := alex.Sniff(head[:k]); {
	case got == "":
		return sp, fail(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, "The file is neither TIFF nor PDF: convert it before sending."), nil
	case got != u.meta.ContentType:
		return sp, fail(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, "The file's bytes are "+got+" but the upload says "+u.meta.ContentType+": this is a bug in the agent."), nil
	}
	sp.sum = hex.EncodeToString(h.Sum(nil))
	return sp, nil, nil
}

// handleUpload files a document in the patient's Inbox Scan folder.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	sp, e, err := readUpload(w, r, s.cfg.MaxUpload, s.cfg.SpoolDir)
	defer sp.discard()
	rc.bytesIn = sp.n
	if sp.metaOK {
		if sp.nhi != "" {
			rc.patient = string(sp.nhi)
		} else {
			rc.patient = sp.meta.PatientID
		}
	}
	switch {
	case err != nil:
		return s.internal(rc, err)
	case e != nil:
		return e
	}
	rc.received = time.Since(rc.start)
	s.m.uploadBytes.Add(float64(sp.n))
	return s.store(r.Context(), w, rc, sp.upload, sp.file, sp.sum)
}

// store writes the spooled document to ALEX at most once per idempotency key.
func (s *Server) store(ctx context.Context, w http.ResponseWriter, rc *reqCtx, u upload, f *os.File, sum string) *apiError {
	c, key := rc.connector, u.meta.IdempotencyKey
	unlock, err := s.keys.lock(ctx, c.ID+"\x00"+key)
	if err != nil {
		return &apiError{status: http.StatusServiceUnavailable, code: api.CodeRelayBusy, retryAfter: time.Second,
			msg: "The upload was cancelled while an earlier attempt with the same key was running: it will be retried."}
	}
	defer unlock()
	if prev := u.meta.Supersedes; prev != "" {
		if done, ok, e := s.sendAgain(ctx, rc, prev, sum); e != nil || ok {
			if e != nil {
				return e
			}
			return s.answer(w, rc, done, true)
		}
	}
	entry := ledger.Entry{Connector: c.ID, Key: key, SHA256: sum, Size: u.meta.Size, ContentType: u.meta.ContentType, Correlation: rc.corr}
	got, fresh, err := s.ledger.Claim(ctx, entry)
	if errors.Is(err, ledger.ErrBusy) {
		return &apiError{status: http.StatusServiceUnavailable, code: api.CodeRelayBusy, retryAfter: 5 * time.Second,
			msg: "Another relay is still sending this document to Medtech: it will be retried, and is never stored twice."}
	}
	if err != nil {
		return s.internal(rc, err)
	}
	// Renewing the claim while this relay writes keeps other relays waiting for the
	// result instead of writing too (see ledger).
	defer s.ledger.Hold(c.ID, key)()
	// The identifier ALEX stores names the connector too, so two PCs of one practice
	// can never find each other's documents by a colliding key.
	identifier := c.ID + ":" + key
	if !fresh {
		if got.SHA256 != sum {
			return fail(http.StatusConflict, api.CodeConflict, "This idempotency key was already used for a different file: this is a bug in the agent.")
		}
		if got.State == ledger.Done {
			return s.answer(w, rc, got, true)
		}
		// Pending (the relay stopped mid-write) or Ambiguous: ALEX may hold it. Look
		// before writing again.
		done, found, e := s.lookup(ctx, rc, got, identifier, u)
		if e != nil {
			return e
		}
		if found {
			return s.answer(w, rc, done, true)
		}
	}
	fac := c.Facility
	release, e := s.facilitySlot(ctx, fac)
	if e != nil {
		s.releaseClaim(rc, key)
		return e
	}
	defer release()
	patientID := u.meta.PatientID
	if u.nhi != "" {
		start := time.Now()
		p, _, err := s.alex.FindPatientByNHI(ctx, fac, u.nhi)
		s.alexCall(rc, "find_patient", start, err)
		if err != nil {
			s.releaseClaim(rc, key)
			return fromALEX(err)
		}
		patientID = p.ID
	}
	doc := s.scanDocument(u, identifier, patientID, f)
	start := time.Now()
	// The write must finish or fail on its own terms: an agent that hangs up mid-way
	// must not turn a write ALEX is completing into an unknown one.
	wctx := context.WithoutCancel(ctx)
	created, _, err := s.alex.CreateScanDocument(wctx, fac, doc)
	s.alexCall(rc, "create_document", start, err)
	if err != nil {
		if alex.Ambiguous(err) {
			if merr := s.ledger.MarkAmbiguous(wctx, c.ID, key); merr != nil {
				s.log.Error("ledger update failed", "err", merr, "correlation_id", rc.corr)
			}
			return causeError(http.StatusBadGateway, api.CodeAmbiguous, api.CauseAmbiguous)
		}
		s.releaseClaim(rc, key)
		return fromALEX(err)
	}
	if err := s.ledger.Complete(wctx, c.ID, key, created.ID); err != nil {
		return s.internal(rc, err)
	}
	s.prove(wctx, rc, entry, created.Stored)
	// The time the key was first claimed, as every replay of it will say.
	entry.State, entry.DocID, entry.Created = ledger.Done, created.ID, got.Created
	return s.answer(w, rc, entry, false)
}

// lookup resolves an earlier attempt whose outcome is unknown by searching ALEX with
// the configured search (one real ALEX allows: the patient's documents by chained
// NHI), matching our identifier among the results. found means ALEX has it, now
// recorded as Done in the ledger. When no allowed search exists or ALEX refuses the
// one configured, the answer is 409 unresolved: a person looks in the patient's Inbox
// Scan. A refused search is this document's problem, never an outage.
func (s *Server) lookup(ctx context.Context, rc *reqCtx, e ledger.Entry, identifier string, u upload) (ledger.Entry, bool, *apiError) {
	fac := rc.connector.Facility
	release, ae := s.facilitySlot(ctx, fac)
	if ae != nil {
		return e, false, ae
	}
	defer release()
	patient := u.nhi
	if patient == "" && u.meta.PatientID != "" {
		// The chained search needs the NHI; a launch gave only the patient's id.
		start := time.Now()
		p, _, err := s.alex.ReadPatient(ctx, fac, u.meta.PatientID)
		s.alexCall(rc, "read_patient", start, err)
		if err != nil {
			return e, false, s.unresolvedOr(rc, err)
		}
		patient = p.NHI
	}
	start := time.Now()
	docs, _, err := s.alex.FindDocuments(ctx, fac, identifier, patient)
	s.alexCall(rc, "find_document", start, err)
	switch {
	case err != nil:
		return e, false, s.unresolvedOr(rc, err)
	case len(docs) == 0:
		return e, false, nil
	}
	if err := s.ledger.Complete(context.WithoutCancel(ctx), e.Connector, e.Key, docs[0].ID); err != nil {
		return e, false, s.internal(rc, err)
	}
	e.State, e.DocID = ledger.Done, docs[0].ID
	s.log.Info("earlier ambiguous write found in ALEX", "correlation_id", rc.corr, "alex_id", docs[0].ID)
	return e, true, nil
}

// unresolvedOr answers a failed lookup: a search ALEX does not allow (none
// configured, no NHI for the chained shape, 403, 4xx, not exposed) means a person
// must look; anything else (the facility offline, ALEX failing) is answered as
// itself so it is retried.
func (s *Server) unresolvedOr(rc *reqCtx, err error) *apiError {
	var (
		oo *alex.OperationOutcomeError
		ne *alex.NotExposedError
	)
	refused := errors.Is(err, alex.ErrNoSearch) || errors.As(err, &ne) ||
		(errors.As(err, &oo) && oo.Status >= 400 && oo.Status < 500 && !errors.Is(err, alex.ErrFacilityNotFound))
	if !refused {
		return fromALEX(err)
	}
	s.log.Warn("cannot check whether an ambiguous write reached ALEX", "correlation_id", rc.corr, "reason", err.Error())
	return causeError(http.StatusConflict, api.CodeUnresolved, api.CauseUnresolved)
}

// sendAgain deals with the key a Send again replaces, before the new key is
// claimed. If that key's document is known to be stored, it is the answer (ok): a
// person pressing Send again never makes a second copy of something the relay saw
// stored. Otherwise its unknown-outcome claim is released and the release audited,
// and the upload goes on under its new key.
func (s *Server) sendAgain(ctx context.Context, rc *reqCtx, prev, sum string) (ledger.Entry, bool, *apiError) {
	c := rc.connector
	old, err := s.ledger.Get(ctx, c.ID, prev)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return old, false, nil
	case err != nil:
		return old, false, s.internal(rc, err)
	case old.SHA256 != sum:
		return old, false, fail(http.StatusConflict, api.CodeConflict, "The upload supersedes a key that was used for a different file: this is a bug in the agent.")
	case old.State == ledger.Done:
		s.auditSendAgain(ctx, rc, "already_stored", old.DocID)
		return old, true, nil
	}
	released, err := s.ledger.Supersede(context.WithoutCancel(ctx), c.ID, prev)
	if err != nil {
		return old, false, s.internal(rc, err)
	}
	if released {
		s.auditSendAgain(ctx, rc, "released", "")
		s.log.Info("send again released an unresolved claim", "correlation_id", rc.corr, "connector", c.ID)
	}
	return old, false, nil
}

// auditSendAgain records a person's Send again apart from the upload's own row, so
// the trail shows who released which claim and when.
func (s *Server) auditSendAgain(ctx context.Context, rc *reqCtx, outcome, alexID string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.audit.Add(actx, audit.Record{Connector: rc.connector.ID, Facility: rc.connector.Facility, Operation: "send_again",
		Outcome: outcome, Correlation: rc.corr, ALEXID: alexID, PatientHash: s.audit.PatientHash(rc.patient)}); err != nil {
		s.log.Error("audit write failed", "err", err, "correlation_id", rc.corr)
	}
}

func (s *Server) releaseClaim(rc *reqCtx, key string) {
	if err := s.ledger.Release(context.Background(), rc.connector.ID, key); err != nil {
		s.log.Error("ledger release failed", "err", err, "correlation_id", rc.corr)
	}
}

func (s *Server) answer(w http.ResponseWriter, rc *reqCtx, e ledger.Entry, replayed bool) *apiError {
	rc.alexID = e.DocID
	status := http.StatusCreated
	if replayed {
		rc.outcome = "replayed"
		status = http.StatusOK
	}
	writeJSON(w, status, api.Document{ID: e.DocID, IdempotencyKey: e.Key, Replayed: replayed, ContentType: e.ContentType,
		Size: e.Size, SHA256: e.SHA256, Created: e.Created, Correlation: e.Correlation})
	return nil
}
