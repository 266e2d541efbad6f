package relay

// Several relays on one store (issue 17). In the suite's PostgreSQL run the two
// relays share a PostgreSQL database through separate connection pools, as two
// processes would; in the SQLite run they share one file.

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/relay/api"
	"github.com/clinicpro/medtech-images/internal/relay/client"
)

// The same idempotency key sent to both relays at once: one writes to ALEX, the
// other waits for that write and answers from the ledger.
func TestSameKeyOnTwoRelaysWritesOnce(t *testing.T) {
	one := start(t, Config{})
	two := one.secondRelay()
	_, creds := one.connector(alexsim.DefaultFacility)
	c1, _ := client.New(one.url, creds)
	c2, _ := client.New(two.url, creds)
	ctx := context.Background()
	// Warm both clients' tokens so the uploads start together.
	for _, c := range []*client.Client{c1, c2} {
		if _, err := c.Health(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A slow ALEX keeps the first write in flight while the second arrives.
	one.sim.SetFaults(alexsim.Faults{LatencyMS: 300})
	body := tiff(40_000)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	res := make([]client.DocumentResult, 2)
	errs := make([]error, 2)
	for i, c := range []*client.Client{c1, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			res[i], errs[i] = c.UploadDocument(ctx, doc("item-race-0001", body))
		}()
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("relay %d: %v", i+1, err)
		}
	}
	creates := 0
	for _, r := range one.sim.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/DocumentReference") {
			creates++
		}
	}
	if n := len(one.documents()); n != 1 || creates != 1 {
		t.Fatalf("ALEX holds %d documents after %d writes, want one of each", n, creates)
	}
	if res[0].ID != res[1].ID || res[0].Replayed == res[1].Replayed {
		t.Fatalf("answers %+v and %+v: want the same document, one of them replayed", res[0], res[1])
	}
}

// /readyz fails when the store cannot be reached, so a load balancer takes the relay
// out of rotation; /healthz (the process is up) still answers.
func TestReadyzFailsWithoutTheStore(t *testing.T) {
	e := start(t, Config{})
	e.connector(alexsim.DefaultFacility) // log lines for the leak check
	get := func(path string) int {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(api.PathReadyz); st != http.StatusOK {
		t.Fatalf("readyz with the store up: %d", st)
	}
	e.st.DB().Close()
	if st := get(api.PathReadyz); st != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the store gone: %d", st)
	}
	if st := get(api.PathHealthz); st != http.StatusOK {
		t.Fatalf("healthz: %d", st)
	}
}
