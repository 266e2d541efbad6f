package daemon

import (
	"fmt"
	"os"
	"testing"

	"github.com/clinicpro/medtech-images/internal/relay/config"
	"github.com/clinicpro/medtech-images/internal/relay/store"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

// testStore is the store the composed relay runs on in these tests: TestMain runs
// them once on SQLite and once on PostgreSQL, as the relay's own suite does.
var testStore = store.SQLite

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if testutil.PostgresAvailable() || os.Getenv("CI") != "" {
			fmt.Println("=== the daemon's tests again, on PostgreSQL")
			testStore = store.Postgres
			code = m.Run()
		} else {
			fmt.Println("PostgreSQL is not installed: the daemon's tests ran on SQLite only")
		}
	}
	testutil.StopPostgres()
	os.Exit(code)
}

// onStore points cfg at a fresh database of testStore's kind.
func onStore(t testing.TB, cfg *config.Config) {
	if testStore == store.Postgres {
		cfg.Store, cfg.PostgresDSN = store.Postgres, testutil.Postgres(t)
	}
}
