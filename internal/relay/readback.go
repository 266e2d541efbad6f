package relay

import (
	"context"
	"net/http"

	"github.com/clinicpro/medtech-images/internal/alex"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/ledger"
)

// A read-back asks ALEX what it stored. When ALEX's answer to the write already
// showed that (the resource with its attachment), the ledger records it and the
// read-back is answered from there: no second ALEX call, and no second token from the
// connector's bucket, so a burst costs one request per photo, not two.

// prove records what ALEX's answer to a write showed about what it stored.
func (s *Server) prove(ctx context.Context, rc *reqCtx, e ledger.Entry, d *alex.DocumentReference) {
	var proof string
	switch {
	case d == nil || d.ContentType != "" && d.ContentType != e.ContentType:
	case len(d.Data) > 0 && sha256Hex(d.Data) == e.SHA256:
		proof = ledger.ProofALEX
	case len(d.Data) == 0 && d.Size == e.Size:
		proof = ledger.ProofRelay
	}
	if proof == "" {
		return
	}
	if err := s.ledger.Prove(ctx, e.Connector, e.Key, proof); err != nil {
		// Only costs a read-back its shortcut.
		s.log.Warn("could not record the write's proof", "err", err, "correlation_id", rc.corr)
	}
}

// readFromLedger answers a read-back of a proved write from the ledger, without a
// token from the connector's bucket; it reports whether it did.
func (s *Server) readFromLedger(w http.ResponseWriter, rc *reqCtx, e ledger.Entry) bool {
	if e.Proof == "" {
		return false
	}
	rc.alexID = e.DocID
	writeJSON(w, http.StatusOK, api.Document{ID: e.DocID, IdempotencyKey: e.Key, ContentType: e.ContentType, Size: e.Size,
		SHA256: e.SHA256, SHA256Source: e.Proof, Created: e.Created, Correlation: e.Correlation})
	return true
}
