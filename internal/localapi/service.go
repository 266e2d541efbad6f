package localapi

import (
	"context"
	"io"
)

// Service is everything the agent offers its local clients. The agent implements it;
// NewHandler serves any Service over HTTP; Client implements it on the other side of
// the pipe. The tray and the CLI depend on this interface (or a narrower one of their
// own), so they can be tested against a fake without an agent.
type Service interface {
	Status(ctx context.Context) (Status, error)

	// Launch resolves a Medtech toolbar launch through the relay and opens a session.
	Launch(ctx context.Context, req LaunchRequest) (Session, error)
	// Session returns an open session to the Windows session and user that opened it
	// (ErrNotFound for anyone else): how a tray reads the launch an EventLaunch announced.
	Session(ctx context.Context, sessionID string) (Session, error)
	// CloseSession ends a capture window's session; its unsaved staged items are
	// dropped if they were captured or dropped in the window, and returned to
	// Unassigned if they came from a watched folder.
	CloseSession(ctx context.Context, sessionID string) error

	// AddFile stages a file (dropped, picked or captured in the window) in a session,
	// with how it came (f.Source, relay/api's vocabulary; drop when empty).
	AddFile(ctx context.Context, sessionID string, f NewFile, r io.Reader) (Item, error)
	// Save queues a session's staged items for upload with the GP's edits.
	Save(ctx context.Context, sessionID string, req SaveRequest) ([]Item, error)
	// Remove takes a staged item out of its session (see CloseSession for where it goes).
	Remove(ctx context.Context, itemID string) error
	// PhoneService: a capture window's phone session (OpenPhone, Phone, ClosePhone).
	PhoneService

	Item(ctx context.Context, itemID string) (Item, error)
	// Thumbnail returns a small, upright JPEG of the item.
	Thumbnail(ctx context.Context, itemID string) ([]byte, error)
	// Preview returns an upright JPEG of the item no larger than PreviewEdge, for the
	// tray's enlarged view: a GP sees the image before it is filed.
	Preview(ctx context.Context, itemID string) ([]byte, error)
	Queue(ctx context.Context) ([]Item, error)
	Unassigned(ctx context.Context) ([]Item, error)
	// Assign routes an Unassigned item to the patient of an open session and queues it.
	Assign(ctx context.Context, itemID, sessionID string) (Item, error)
	// Reject moves an Unassigned item's file to the Rejected folder (never deletes).
	Reject(ctx context.Context, itemID string) (Item, error)
	// Retry re-queues a parked item; Discard moves it to Rejected.
	Retry(ctx context.Context, itemID string) (Item, error)
	// SendAgain re-queues a parked item under a new idempotency key: the explicit act
	// for an item that may already be in Medtech (its reason says so), once a person
	// has checked the patient's Inbox Scan.
	SendAgain(ctx context.Context, itemID string) (Item, error)
	Discard(ctx context.Context, itemID string) (Item, error)

	Pause(ctx context.Context, paused bool) (Status, error)
	// Recheck runs the agent's health checks now (the relay, ALEX, disk, queue,
	// folders) instead of at the next poll, and returns the fresh Status.
	Recheck(ctx context.Context) (Status, error)
	// Events streams changes until ctx ends or the agent goes away; the channel is
	// then closed. Clients reconnect and call Status to resynchronise.
	Events(ctx context.Context) (<-chan Event, error)
	// DiagnosticsBundle writes a zip for support: versions, redacted configuration,
	// health checks and recent log lines, no patient data.
	DiagnosticsBundle(ctx context.Context, w io.Writer) error
}

// TrayCloser is what the agent adds for the installer: ask every tray to exit (an
// upgrade is about to replace its exe), then wait a little for them to go. Only the
// agent's own account may ask, or any local user could close every GP's tray.
type TrayCloser interface {
	CloseTrays(ctx context.Context) (TraysClosed, error)
}
