package hcm

import (
	"context"
	"time"

	"github.com/shirou/gopsutil/v3/host"
)

// bootTime is when the host started, to tell a restart in clinic hours (HCM down
// while the PC was off) from an ordinary morning start.
func bootTime(ctx context.Context) (time.Time, error) {
	s, err := host.BootTimeWithContext(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(s), 0), nil
}
