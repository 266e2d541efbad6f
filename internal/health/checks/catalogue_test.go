package checks

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/clinicpro/medtech-images/internal/health"
	"github.com/clinicpro/medtech-images/internal/relay/client"
)

func names(cs []health.Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func runAll(ps []health.Probe) []health.Check {
	var all []health.Check
	for _, cs := range health.RunProbes(context.Background(), 30*time.Second, ps) {
		all = append(all, cs...)
	}
	return all
}

// TestCatalogueOrderAndNames: the one list, in its order, with the relay's checks
// from a real relay endpoint, the daemon's own probes and each folder looked at
// from here; only the probes that do I/O are costly.
func TestCatalogueOrderAndNames(t *testing.T) {
	srv := httptest.NewServer(&relayStub{health: healthy()})
	defer srv.Close()
	c, err := client.New(srv.URL, client.Credentials{ClientID: "c", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hcm := health.Probe{Name: "hcm.service", Run: func(context.Context) []health.Check {
		return []health.Check{{Name: "hcm.service", State: health.OK}}
	}}
	ps := Catalogue(Deps{Relay: c, SpoolDir: dir, HCM: hcm,
		Queue:   func(context.Context) (QueueState, error) { return QueueState{Queued: 1}, nil },
		Folders: []WatchedFolder{{"Scanner", dir}, {"Camera", filepath.Join(dir, "missing")}}})
	got := runAll(ps)
	want := []string{NameRelay, NameCredentials, NameALEXToken, NameFacility, NameDisk, NameBacklog, NameParked, NameUnassigned,
		"folder.Scanner", "folder.Camera", "hcm.service"}
	if len(got) != len(want) {
		t.Fatalf("checks %v, want %v", names(got), want)
	}
	for i := range want {
		if got[i].Name != want[i] {
			t.Fatalf("checks %v, want %v", names(got), want)
		}
	}
	if got[9].Fix != FixFolderGone {
		t.Errorf("missing folder: %+v", got[9])
	}
	for _, p := range ps {
		if p.Costly != (p.Name != "hcm.service") {
			t.Errorf("probe %s costly = %v", p.Name, p.Costly)
		}
	}

	// The running agent's watcher replaces the look from here, and not enrolled the
	// enrolment check stands in for the relay's, with the reason when there is one.
	ps = Catalogue(Deps{NotEnrolled: "The stored credentials cannot be read.", Folders: []WatchedFolder{{"Scanner", dir}},
		Watcher: func() []health.Check { return []health.Check{{Name: "folder.Scanner", State: health.Unknown}} }})
	got = runAll(ps)
	if len(got) != 2 || got[0].Name != NameEnrolled || got[0].State != health.Offline || got[0].Fix != FixNotEnrolled ||
		got[0].Detail != "The stored credentials cannot be read." || got[1].State != health.Unknown {
		t.Fatalf("not enrolled, watcher: %+v", got)
	}
	if NotEnrolled("").Detail == "" {
		t.Fatal("the usual not-enrolled check has no detail")
	}
}

func TestCatalogueQueueUnreadable(t *testing.T) {
	got := runAll(Catalogue(Deps{Relay: nil, Queue: func(context.Context) (QueueState, error) {
		return QueueState{}, io.ErrUnexpectedEOF
	}}))
	if len(got) != 2 || got[1].Name != NameBacklog || got[1].State != health.Unknown || got[1].Fix != FixQueueUnread {
		t.Fatalf("%+v", got)
	}
}
