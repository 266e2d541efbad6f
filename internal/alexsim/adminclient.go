package alexsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// RequestLaunch asks a running sandbox at root (its URL without /FHIR) to mint a
// toolbar launch URL, because only the sandbox knows its signing secret. An empty
// nhi launches with no patient selected; an empty provider is the facility's test
// practitioner.
func RequestLaunch(ctx context.Context, root, facility, nhi, provider string) (string, error) {
	body, _ := json.Marshal(map[string]string{"facility": facility, "nhi": nhi, "provider": provider})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, root+"/_sim/launch", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("no alexsim answering at %s: start it with 'alexsim serve' (%w)", root, err)
	}
	defer resp.Body.Close()
	var r struct{ URL, Error string }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("alexsim refused the launch (%d %s): check the facility and that the NHI is a seeded test patient", resp.StatusCode, r.Error)
	}
	return r.URL, nil
}
