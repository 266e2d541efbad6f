package agent

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/clinicpro/medtech-images/internal/config"
	"github.com/clinicpro/medtech-images/internal/imaging"
	"github.com/clinicpro/medtech-images/internal/originals"

	"github.com/clinicpro/medtech-images/internal/queue"
	"github.com/clinicpro/medtech-images/internal/watch"
)

// ReasonNoWindow is why a file from a "session" folder waits in Unassigned.
const ReasonNoWindow = "No ClinicPro capture window was open when the file arrived: choose the patient in ClinicPro."

// HandleFile is the watcher's Handler: it routes a complete file and commits it to
// the queue (copying it into the spool) before anything else happens. Returning an
// error makes the watcher offer the file again later; the queue recognises a file it
// already holds, so offering twice never queues twice.
func (a *Agent) HandleFile(ctx context.Context, f watch.File) error {
	n := queue.New{
		Source: f.Folder.Source, Folder: f.Folder.Label, SourcePath: f.Path, SourceAction: f.Folder.SourceAction,
		Format: f.Folder.Format, Facility: a.facility(), Meta: queue.Meta{Kind: f.Folder.Kind},
	}
	r := watch.RouteFile(f.Folder, f.Rel)
	switch {
	case r.NHI != "":
		n.State, n.Patient = queue.StateQueued, queue.Patient{NHI: r.NHI.String()}
	case r.Session:
		// A folder in a user's profile serves that user's windows only.
		user, _ := a.users.owner(f.Folder.Path)
		if s := a.currentSession(user); s != nil {
			n.State, n.Patient, n.Facility = queue.StateStaged, s.patient(), s.Facility
		} else {
			n.State, n.Reason = queue.StateUnassigned, ReasonNoWindow
		}
	default:
		n.State, n.Reason = queue.StateUnassigned, r.Reason
	}
	body := f.Body
	if body == nil {
		// Not from the watcher (a test, a re-offer): open it the same careful way.
		h, err := originals.NewRoot(f.Folder.Path).Open(f.Rel, originals.ID{})
		if err != nil {
			return err
		}
		defer h.Close()
		body = h
	}
	// When was it taken: the photo's own EXIF date, else the file's time, which a
	// camera or scanner sets when it writes; never the time it happens to be sent.
	br := bufio.NewReaderSize(body, exifHead)
	head, _ := br.Peek(exifHead)
	if at, ok := imaging.TakenAt(head, time.Local); ok {
		n.Taken = at
	} else {
		n.Taken = f.ModTime
	}
	it, err := a.q.AddFrom(ctx, n, br)
	switch {
	case errors.Is(err, queue.ErrDuplicate):
		a.settleDuplicate(f, it)
		return nil
	case errors.Is(err, queue.ErrTooLarge):
		// Retrying cannot help; the file stays where it is for a person to move.
		a.log.Warn("file too large to take", "folder", f.Folder.Label, "err", err)
		return nil
	case err != nil:
		return err
	}
	a.log.Info("file taken", "item", it.ID, "folder", f.Folder.Label, "state", string(it.State))
	return nil
}

// currentSession is the capture window of the most recent launch with a patient
// (of user, a SID, when not empty): the patient the GP opened last, not whichever
// window was touched last. Nil when none is open, so nothing is guessed.
func (a *Agent) currentSession(user string) *session {
	a.mu.Lock()
	defer a.mu.Unlock()
	var best *session
	for _, s := range a.sessions {
		if !s.window || !s.PatientSelected || user != "" && !strings.EqualFold(s.owner.User, user) {
			continue
		}
		if best == nil || s.launched.After(best.launched) || s.launched.Equal(best.launched) && s.ID > best.ID {
			best = s
		}
	}
	return best
}

// settleDuplicate deals with a second copy of content Medtech already holds for the
// same patient (a re-scan, a phone syncing twice). It is not sent again; when the
// first copy is confirmed sent and the folder moves originals to Sent, the second
// copy goes there too, so the folder does not fill with files that look unsent.
// Anything else (first copy still on its way, "leave" or "delete" folders) stays.
func (a *Agent) settleDuplicate(f watch.File, first queue.Item) {
	if first.SourcePath == f.Path {
		return // the same file offered again (a restart, a rescan)
	}
	if first.State != queue.StateSent || f.Folder.SourceAction != config.ActionMove {
		a.log.Info("file already queued for this patient; not sent twice", "item", first.ID, "folder", f.Folder.Label)
		return
	}
	root := originals.NewRoot(f.Folder.Path)
	if _, err := root.Move(f.Rel, originals.SentDir, originals.SameContent(first.SHA256)); err != nil {
		a.log.Warn("could not move a duplicate to Sent", "item", first.ID, "err", queue.Pathless(err))
		return
	}
	a.log.Info("duplicate of a sent file moved to Sent", "item", first.ID, "folder", f.Folder.Label)
}
