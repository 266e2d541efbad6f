package alexsim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// admin serves /_sim/: faults, token expiry, launch minting and stored documents.
//
//	GET    /_sim/faults                 active faults
//	POST   /_sim/faults                 replace them (JSON Faults)
//	DELETE /_sim/faults                 clear them
//	POST   /_sim/tokens/expire          invalidate every issued token
//	POST   /_sim/launch                 {"facility","nhi","provider"} -> {context,signature,url}
//	GET    /_sim/documents              what was stored
//	GET    /_sim/documents/{id}/content the stored bytes
//	GET    /_sim/patients?facility=F    seeded test patients and their ids
func (s *Sim) admin(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/_sim/")
	switch {
	case p == "faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Faults())
	case p == "faults" && r.Method == http.MethodPost:
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be a JSON faults object: " + err.Error()})
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, s.Faults())
	case p == "faults" && r.Method == http.MethodDelete:
		s.SetFaults(Faults{})
		writeJSON(w, http.StatusOK, s.Faults())
	case p == "tokens/expire" && r.Method == http.MethodPost:
		s.expireTokens()
		w.WriteHeader(http.StatusNoContent)
	case p == "launch" && r.Method == http.MethodPost:
		var in struct{ Facility, NHI, Provider string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be JSON {facility, nhi, provider}"})
			return
		}
		if in.Facility == "" {
			in.Facility = DefaultFacility
		}
		c, sig, err := s.MintLaunch(in.Facility, in.NHI, in.Provider)
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"context": c, "signature": sig, "url": LaunchURL(c, sig)})
	case p == "documents" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Documents())
	case strings.HasPrefix(p, "documents/") && strings.HasSuffix(p, "/content") && r.Method == http.MethodGet:
		id := strings.TrimSuffix(strings.TrimPrefix(p, "documents/"), "/content")
		b, ct, ok := s.Content(id)
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(b)
	case p == "patients" && r.Method == http.MethodGet:
		f := r.URL.Query().Get("facility")
		if f == "" {
			f = DefaultFacility
		}
		type row struct{ NHI, ID, Family, Given, BirthDate string }
		var out []row
		s.mu.Lock()
		for _, pt := range s.patients[f] {
			out = append(out, row{pt.NHI, pt.ID, pt.Family, pt.Given, pt.BirthDate})
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	default:
		http.NotFound(w, r)
	}
}
