package relay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/nhi"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
)

// decodeJSON reads one JSON value strictly: right content type, bounded size, no
// unknown fields, nothing after it.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return fail(http.StatusUnsupportedMediaType, api.CodeUnsupportedMedia, "The request body must be JSON (Content-Type: application/json).")
	}
	r.Body = http.MaxBytesReader(w, r.Body, api.MaxJSONBytes)
	return decodeStrict(r.Body, v)
}

func decodeStrict(rd io.Reader, v any) *apiError {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "The request body is too large: it must be under 16 KiB.")
		}
		// json's messages name fields and types, never values, so they are safe to
		// return; an unknown field is the mistake a person most needs spelled out.
		return badRequest("The request body is not valid JSON for this endpoint (" + err.Error() + "): fix the request.")
	}
	if dec.More() {
		return badRequest("The request body has data after its JSON value: send exactly one object.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("The request body has data after its JSON value: send exactly one object.")
	}
	return nil
}

// alexCall times an ALEX call for the metrics and for the request's log line, which
// then shows how much of a request's time was the relay's own.
func (s *Server) alexCall(rc *reqCtx, op string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	d := time.Since(start)
	s.m.alexCalls.WithLabelValues(op, outcome).Observe(d.Seconds())
	if rc != nil {
		rc.alexTime += d
	}
}

func banner(p alex.Patient) *api.Patient {
	name := strings.ToUpper(p.Family)
	given := strings.Join(p.Given, " ")
	if given != "" {
		name += ", " + given
	}
	return &api.Patient{ID: p.ID, NHI: string(p.NHI), Name: name, BirthDate: p.BirthDate,
		Family: p.Family, Given: given, Sex: p.Gender}
}

func (s *Server) handleLaunch(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	var req api.LaunchRequest
	if e := decodeJSON(w, r, &req); e != nil {
		return e
	}
	if req.Context == "" || req.Signature == "" || len(req.Context) > 4096 || len(req.Signature) > 4096 {
		return badRequest("The launch needs both context and signature from Medtech's launch URL: launch again from the Medtech toolbar.")
	}
	ctx, fac := r.Context(), rc.connector.Facility
	release, e := s.facilitySlot(ctx, fac)
	if e != nil {
		return e
	}
	defer release()
	start := time.Now()
	lc, _, err := s.alex.ResolveLaunch(ctx, fac, req.Context, req.Signature)
	s.alexCall(rc, "launch", start, err)
	if err != nil {
		return fromALEX(err)
	}
	if !strings.EqualFold(strings.TrimSpace(lc.FacilityCode), fac) {
		return fail(http.StatusForbidden, api.CodeForbidden,
			"This launch came from a different practice's Medtech ("+safeFacility(lc.FacilityCode)+") than this PC is enrolled for ("+fac+"): launch from this practice, or enrol this PC for that facility.")
	}
	out := api.Launch{Facility: fac, ProviderID: lc.ProviderID, Created: lc.CreatedTime}
	if lc.PatientID != "" {
		rc.patient = lc.PatientID
		start = time.Now()
		p, _, err := s.alex.ReadPatient(ctx, fac, lc.PatientID)
		s.alexCall(rc, "read_patient", start, err)
		if err != nil {
			return fromALEX(err)
		}
		out.Patient = banner(p)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// safeFacility returns f when it looks like an HPI facility id, so a launch cannot
// smuggle arbitrary text into an error message.
func safeFacility(f string) string {
	f = strings.ToUpper(strings.TrimSpace(f))
	if len(f) == 8 && f[0] == 'F' && f[6] == '-' {
		return f
	}
	return "an unrecognised facility"
}

// handleLookup finds a patient by NHI. It is POST with the NHI in a JSON body, not
// GET /v1/patients?nhi=, because a query string ends up in access logs and proxies'
// logs and this product never puts a patient identifier in a URL.
func (s *Server) handleLookup(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	var req api.LookupRequest
	if e := decodeJSON(w, r, &req); e != nil {
		return e
	}
	n, err := nhi.Parse(req.NHI)
	if err != nil {
		return badRequest("The NHI is not valid: " + err.Error() + ".")
	}
	rc.patient = string(n)
	ctx, fac := r.Context(), rc.connector.Facility
	release, e := s.facilitySlot(ctx, fac)
	if e != nil {
		return e
	}
	defer release()
	start := time.Now()
	p, _, err := s.alex.FindPatientByNHI(ctx, fac, n)
	s.alexCall(rc, "find_patient", start, err)
	if err != nil {
		return fromALEX(err)
	}
	writeJSON(w, http.StatusOK, banner(p))
	return nil
}

// handleRead reads back a document, but only one this connector wrote: the ledger is
// the access list, so a connector cannot read another practice's documents by id.
// Size and content type come from ALEX (so the agent can compare them with what it
// sent); see api.Document for where SHA256 comes from.
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	id := r.PathValue("id")
	notFound := fail(http.StatusNotFound, api.CodeNotFound, "No document with this id was written by this PC: check the id from the upload's answer.")
	if len(id) == 0 || len(id) > 128 {
		return notFound
	}
	ctx, fac := r.Context(), rc.connector.Facility
	e, err := s.ledger.ByDocID(ctx, rc.connector.ID, id)
	if err == nil && s.readFromLedger(w, rc, e) {
		return nil
	}
	if e := s.charge(rc); e != nil {
		return e
	}
	if errors.Is(err, ledger.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return s.internal(rc, err)
	}
	release, ae := s.facilitySlot(ctx, fac)
	if ae != nil {
		return ae
	}
	defer release()
	start := time.Now()
	d, _, err := s.alex.ReadDocumentReference(ctx, fac, id)
	s.alexCall(rc, "read_document", start, err)
	if err != nil {
		return fromALEX(err)
	}
	rc.alexID, rc.patient = d.ID, d.PatientID
	out := api.Document{ID: d.ID, IdempotencyKey: e.Key, ContentType: d.ContentType, Size: d.Size,
		Created: e.Created, Correlation: e.Correlation}
	switch {
	case len(d.Data) > 0:
		out.SHA256, out.SHA256Source = sha256Hex(d.Data), "alex"
	case d.Size == e.Size:
		out.SHA256, out.SHA256Source = e.SHA256, "relay"
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type cachedHealth struct {
	at     time.Time
	checks []api.HealthCheck
}

// handleHealth reports this connector's view: relay, ALEX token, ALEX reachable, this
// facility reachable, and the last success. One cheap ALEX read (Location) answers
// the last three; the answer is cached briefly so a fleet of agents polling cannot
// hammer ALEX.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, rc *reqCtx) *apiError {
	ctx, fac := r.Context(), rc.connector.Facility
	now := time.Now()
	s.healthMu.Lock()
	c, ok := s.health[fac]
	s.healthMu.Unlock()
	if !ok || now.Sub(c.at) > s.cfg.HealthCacheFor {
		c = cachedHealth{at: now, checks: s.probe(ctx, fac)}
		s.healthMu.Lock()
		s.health[fac] = c
		s.healthMu.Unlock()
	}
	checks := []health.Check{}
	for _, ch := range c.checks {
		checks = append(checks, health.Check{Name: ch.Name, State: health.State(ch.State), Detail: ch.Detail, Fix: ch.Fix, Critical: criticalChecks[ch.Name]})
	}
	rep := health.Aggregate(now, checks)
	out := api.Health{State: string(rep.State), Summary: rep.Summary, Checks: c.checks, At: now}
	out.LastSuccess, _ = s.audit.LastSuccess(ctx, fac)
	rc.noAudit = true // polled often; the metrics count it
	status := http.StatusOK
	if rep.State == health.Offline {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, out)
	return nil
}

// criticalChecks are the Health checks whose failure stops uploads; built once, not
// per health request.
var criticalChecks = map[string]bool{api.CheckRelay: true, api.CheckALEXToken: true, api.CheckALEXReachable: true, api.CheckFacility: true}

func (s *Server) probe(ctx context.Context, fac string) []api.HealthCheck {
	ok := func(name, detail string) api.HealthCheck {
		return api.HealthCheck{Name: name, State: string(health.OK), Detail: detail}
	}
	off := func(name string, c api.Cause) api.HealthCheck {
		return api.HealthCheck{Name: name, State: string(health.Offline), Detail: c.Sentence(), Fix: c.Fix(), Cause: c}
	}
	unknown := func(name string) api.HealthCheck {
		return api.HealthCheck{Name: name, State: string(health.Unknown), Detail: "Not checked because an earlier check failed."}
	}
	out := []api.HealthCheck{ok(api.CheckRelay, "The relay is running.")}
	if err := s.reg.Ping(ctx); err != nil {
		out[0] = off(api.CheckRelay, api.CauseRelayFailing)
	}
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.alex.Ping(pctx, fac)
	s.alexCall(nil, "ping", start, err)
	var (
		fo *alex.FacilityOfflineError
		ce *alex.CallError
	)
	token := ok(api.CheckALEXToken, "The relay holds a valid Medtech ALEX token.")
	reach := ok(api.CheckALEXReachable, "Medtech ALEX is reachable.")
	switch {
	case err == nil:
		return append(out, token, reach, ok(api.CheckFacility, "This practice's Medtech is reachable through ALEX."))
	case errors.Is(err, alex.ErrUnauthorized):
		return append(out, off(api.CheckALEXToken, api.CauseALEXSignIn), unknown(api.CheckALEXReachable), unknown(api.CheckFacility))
	case errors.As(err, &fo):
		return append(out, token, reach, off(api.CheckFacility, api.CauseFacilityOffline))
	case errors.Is(err, alex.ErrFacilityNotFound):
		return append(out, token, reach, off(api.CheckFacility, api.CauseFacilityUnknown))
	case errors.As(err, &ce) && ce.Status == 0:
		return append(out, unknown(api.CheckALEXToken), off(api.CheckALEXReachable, api.CauseALEXUnavailable), unknown(api.CheckFacility))
	}
	return append(out, token, ok(api.CheckALEXReachable, "Medtech ALEX answered."),
		api.HealthCheck{Name: api.CheckFacility, State: string(health.Degraded), Cause: api.CauseALEXUnavailable,
			Detail: "Medtech ALEX answered this practice's check with an error.", Fix: api.CauseALEXUnavailable.Fix()})
}
