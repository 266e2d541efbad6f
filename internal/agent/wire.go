package agent

import (
	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/queue"
)

// The queue owns its states and rows; the local API has its own wire types. These
// are the one place they meet, so a renamed wire field is a mapping change here, not
// a migration of the queue's database.

var wireStates = map[queue.State]localapi.ItemState{
	queue.StateStaged:     localapi.StateStaged,
	queue.StateUnassigned: localapi.StateUnassigned,
	queue.StateQueued:     localapi.StateQueued,
	queue.StateUploading:  localapi.StateUploading,
	queue.StateSent:       localapi.StateSent,
	queue.StateParked:     localapi.StateParked,
	queue.StateRejected:   localapi.StateRejected,
}

// apiItem is a queue row as the tray and the CLI see it. The ALEX patient id and the
// NHI stay behind: only the session id says whose it is.
func apiItem(it queue.Item) localapi.Item {
	return localapi.Item{
		ID:           it.ID,
		State:        wireStates[it.State],
		SessionID:    it.Patient.SessionID,
		Source:       it.Source,
		Folder:       it.Folder,
		FileName:     it.FileName,
		Kind:         it.Meta.Kind,
		BodySiteCode: it.Meta.BodySiteCode,
		Taken:        it.Taken,
		Cause:        it.Cause,
		Title:        it.Meta.Title,
		Rotation:     it.Meta.Rotation,
		Laterality:   it.Meta.Laterality,
		BodySite:     it.Meta.BodySite,
		Size:         it.Size,
		Attempts:     it.Attempts,
		Reason:       it.Reason,
		Correlation:  it.Correlation,
		Added:        it.Added,
		Updated:      it.Updated,
		Crop:         apiCrop(it.Meta.Crop),
	}
}

func apiCrop(c queue.Crop) *localapi.Crop {
	if c.Whole() {
		return nil
	}
	return &localapi.Crop{X: c.X, Y: c.Y, W: c.W, H: c.H}
}

func apiItems(items []queue.Item) []localapi.Item {
	out := make([]localapi.Item, 0, len(items))
	for _, it := range items {
		out = append(out, apiItem(it))
	}
	return out
}

func apiCounts(c queue.Counts) localapi.Counts {
	return localapi.Counts{Queued: c.Queued, Uploading: c.Uploading, Parked: c.Parked, Unassigned: c.Unassigned, SentToday: c.SentToday}
}
