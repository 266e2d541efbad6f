package queue

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Audit is the queue's own account of itself, for `clinicpro doctor` and for crash
// tests: after any crash and restart, MissingCopies and StraySpool must be empty.
type Audit struct {
	States map[State]int
	// MissingCopies are live items (neither sent nor rejected) whose spool copy is
	// gone: they cannot be uploaded and need a person.
	MissingCopies []string
	// StraySpool are spool files that belong to no live item. Open removes them;
	// they can only appear while the agent runs (an Add between copy and commit).
	StraySpool []string
}

// OK reports whether every live item has its copy and the spool holds nothing else.
func (a Audit) OK() bool { return len(a.MissingCopies) == 0 && len(a.StraySpool) == 0 }

// Audit checks that the database and the spool agree.
func (q *Queue) Audit(ctx context.Context) (Audit, error) {
	a := Audit{States: map[State]int{}}
	items, err := q.List(ctx)
	if err != nil {
		return a, err
	}
	live := map[string]bool{}
	for _, it := range items {
		a.States[it.State]++
		if it.State == StateSent || it.State == StateRejected {
			continue
		}
		live[filepath.Base(it.SpoolPath)] = true
		if _, err := os.Stat(it.SpoolPath); err != nil {
			a.MissingCopies = append(a.MissingCopies, it.ID)
		}
	}
	ents, err := os.ReadDir(q.spool)
	if err != nil {
		return a, fmt.Errorf("cannot read the spool folder: %w", Pathless(err))
	}
	for _, e := range ents {
		if !live[e.Name()] && !strings.HasSuffix(e.Name(), ".tmp") {
			a.StraySpool = append(a.StraySpool, e.Name())
		}
	}
	return a, nil
}
