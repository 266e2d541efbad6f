package alexsim

import (
	"time"

	"github.com/clinicpro/medtech-images/internal/testutil"
)

func clockAt() *testutil.Clock {
	return testutil.NewClock(time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC))
}
