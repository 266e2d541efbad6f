package phone

import (
	"context"
	"time"
)

// Store keeps sessions, photos and the photos' bytes. Every method that checks a
// limit or moves a state is atomic in the store, so relays sharing one store never
// pair a link twice, take a 41st photo or hold more than a PC's cap.
type Store interface {
	// PhoneCreate records a new Waiting session unless its connector already has
	// maxOpen open ones (ErrTooManyOpen).
	PhoneCreate(ctx context.Context, s Session, maxOpen int) error
	// PhoneGet, PhoneByToken and PhoneByDevice find a session (ErrNotFound).
	PhoneGet(ctx context.Context, id string) (Session, error)
	PhoneByToken(ctx context.Context, tokenHash []byte) (Session, error)
	PhoneByDevice(ctx context.Context, deviceHash []byte) (Session, error)
	// PhonePair spends a Waiting session's link: it becomes Paired to deviceHash
	// until expires. ErrAlreadyPaired when it was not Waiting (another phone, or
	// another relay, got there first), ErrNotFound when it is gone.
	PhonePair(ctx context.Context, id string, deviceHash []byte, now, expires time.Time) error
	// PhoneEnd ends an open session as st (Closed or Expired) and erases its photos
	// and their bytes. Ending a session already ended changes nothing. It returns the
	// session as it was just before, with the count and bytes of photos the PC had
	// not taken.
	PhoneEnd(ctx context.Context, id string, st State, now time.Time) (Session, error)
	// PhoneDue lists open sessions whose Expires is before now.
	PhoneDue(ctx context.Context, now time.Time) ([]string, error)
	// PhoneList lists a connector's sessions, open or ended after since.
	PhoneList(ctx context.Context, connector string, since time.Time) ([]Session, error)
	// PhonePurge deletes sessions that ended before before (rows with no content:
	// kept a while so the PC and the phone can learn how they ended).
	PhonePurge(ctx context.Context, before time.Time) (int64, error)

	// PhonePhoto finds one photo (ErrNotFound).
	PhonePhoto(ctx context.Context, id string) (Photo, error)
	// PhonePhotos lists a session's photos, oldest first.
	PhonePhotos(ctx context.Context, session string) ([]Photo, error)
	// PhonePhotoStart records photo p (Receiving) in its Paired session, or returns
	// the photo the session already has under p.Key (ErrPhotoChanged if its size
	// differs). Limits: MaxPhotos per session (ErrTooManyPhotos), MaxConnectorBytes
	// over the connector's open sessions (ErrConnectorFull); ErrNotOpen when the
	// session is not Paired.
	PhonePhotoStart(ctx context.Context, connector string, p Photo) (Photo, error)
	// PhonePhotoAppend stores data at offset of a Receiving photo. offset must be
	// what the photo has received (*OffsetError otherwise); the photo becomes Ready
	// when it reaches its size.
	PhonePhotoAppend(ctx context.Context, photoID string, offset int64, data []byte, now time.Time) (Photo, error)
	// PhonePhotoPieces lists the offsets of a photo's stored pieces, in order, and
	// PhonePhotoPiece reads one: a download reads one piece at a time, so a slow PC
	// never holds a database connection.
	PhonePhotoPieces(ctx context.Context, photoID string) ([]int64, error)
	PhonePhotoPiece(ctx context.Context, photoID string, offset int64) ([]byte, error)
	// PhonePhotoDeliver marks a Ready photo Delivered and erases its bytes.
	// Delivering it again changes nothing.
	PhonePhotoDeliver(ctx context.Context, photoID string, now time.Time) (Photo, error)
}
