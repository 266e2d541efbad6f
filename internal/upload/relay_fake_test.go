package upload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/relay/api"
)

// fakeRelay is an HTTP relay on 127.0.0.1 that stores documents by idempotency key,
// as the real relay does, with faults queued by tests.
type fakeRelay struct {
	srv *httptest.Server

	mu      sync.Mutex
	docs    map[string]storedDoc // by id
	byKey   map[string]string    // idempotency key -> id
	posts   int
	faults  []fault // consumed one per upload request
	corrupt bool    // read-back returns other bytes
}

type storedDoc struct {
	Key, ContentType, Title string
	Data                    []byte
}

type fault struct {
	status     int
	cause      api.Cause // what the relay client would conclude; the fake does not interpret statuses
	retryAfter string
	message    string
	storeFirst bool // the ambiguous write: stored, then the answer is an error
}

func newFakeRelay(t testing.TB) *fakeRelay {
	r := &fakeRelay{docs: map[string]storedDoc{}, byKey: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /documents", r.upload)
	mux.HandleFunc("GET /documents/{id}", r.read)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *fakeRelay) fail(f ...fault) {
	r.mu.Lock()
	r.faults = append(r.faults, f...)
	r.mu.Unlock()
}

func (r *fakeRelay) upload(w http.ResponseWriter, req *http.Request) {
	var d Document
	if err := json.NewDecoder(req.Body).Decode(&d); err != nil {
		refuse(w, err.Error(), 400)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	var f *fault
	if len(r.faults) > 0 {
		f = &r.faults[0]
		r.faults = r.faults[1:]
	}
	if f != nil && !f.storeFirst {
		r.answerFault(w, *f)
		return
	}
	id, ok := r.byKey[d.IdempotencyKey]
	if !ok {
		id = fmt.Sprintf("doc-%d", len(r.docs)+1)
		r.byKey[d.IdempotencyKey] = id
		r.docs[id] = storedDoc{Key: d.IdempotencyKey, ContentType: d.ContentType, Title: d.Title, Data: d.Data}
	}
	if f != nil {
		r.answerFault(w, *f)
		return
	}
	json.NewEncoder(w).Encode(Receipt{DocumentID: id})
}

func (r *fakeRelay) answerFault(w http.ResponseWriter, f fault) {
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	c := f.cause
	if c == "" {
		c = api.CauseFacilityOffline
	}
	w.Header().Set(headerCause, string(c))
	w.WriteHeader(f.status)
	io.WriteString(w, f.message)
}

func (r *fakeRelay) read(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[req.PathValue("id")]
	if !ok {
		refuse(w, "no such document", 404)
		return
	}
	if r.corrupt {
		d.Data = append([]byte("x"), d.Data...)
	}
	json.NewEncoder(w).Encode(Stored{ContentType: d.ContentType, Data: d.Data})
}

// headerCause carries the fault's cause to httpRelay, which stands in for the relay
// client's classification (tested in internal/relay/client and, through the agent's
// adapter, in internal/agent).
const headerCause = "Fake-Cause"

func refuse(w http.ResponseWriter, msg string, status int) {
	w.Header().Set(headerCause, string(api.CauseRefused))
	http.Error(w, msg, status)
}

func (r *fakeRelay) postCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

func (r *fakeRelay) stored() map[string]storedDoc {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]storedDoc{}
	for k, v := range r.docs {
		out[k] = v
	}
	return out
}

// httpRelay is a minimal client for fakeRelay, standing in for internal/relay/client.
type httpRelay struct{ base string }

func (c httpRelay) Upload(ctx context.Context, d Document) (Receipt, error) {
	body, _ := json.Marshal(d)
	req, _ := http.NewRequestWithContext(ctx, "POST", c.base+"/documents", bytes.NewReader(body))
	var rec Receipt
	return rec, c.do(req, &rec)
}

func (c httpRelay) ReadBack(ctx context.Context, id, correlation string) (Stored, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/documents/"+id, nil)
	var s Stored
	return s, c.do(req, &s)
}

func (c httpRelay) do(req *http.Request, out any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &Error{Cause: api.CauseRelayUnreachable, Msg: "The relay could not be reached."}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return &Error{Cause: api.Cause(resp.Header.Get(headerCause)), After: time.Duration(secs) * time.Second,
			Msg: strings.TrimSpace(string(msg)), Correlation: "corr-fake"}
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// fakeConverter stands in for internal/imaging: content starting "bad" cannot be
// decoded, "busy" fails temporarily on the converter's first call, anything else becomes a
// "TIFF" of itself.
type fakeConverter struct {
	mu    sync.Mutex
	calls int
}

type tempErr struct{}

func (tempErr) Error() string   { return "The converter is busy." }
func (tempErr) Temporary() bool { return true }

func (c *fakeConverter) Convert(ctx context.Context, req ConvertRequest) (Converted, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	b, err := os.ReadFile(req.Path)
	if err != nil {
		return Converted{}, err
	}
	if bytes.HasPrefix(b, []byte("bad")) {
		return Converted{}, fmt.Errorf("The file is not a picture or PDF that can be read: check it opens on this PC.")
	}
	if int64(len(b)) > req.ByteBudget {
		return Converted{}, fmt.Errorf("The image cannot be made smaller than the byte budget.")
	}
	if bytes.HasPrefix(b, []byte("slow")) {
		<-ctx.Done() // a pathological file the decoder never finishes
		return Converted{}, ctx.Err()
	}
	if bytes.HasPrefix(b, []byte("busy")) && c.calls == 1 {
		return Converted{}, tempErr{}
	}
	return Converted{Data: append([]byte("TIFF:"), b...), ContentType: "image/tiff",
		FileName: strings.TrimSuffix(req.FileName, ".jpg") + ".tiff"}, nil
}
