package testutil

import (
	"context"

	"github.com/jackc/pgx/v5"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Fatalf("len = %d, want 800", len(got))
	}
}

func TestClockMovesOnlyWhenTold(t *testing.T) {
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	c := NewClock(start)
	if !c.Now().Equal(start) {
		t.Fatalf("Now = %v, want %v", c.Now(), start)
	}
	c.Add(90 * time.Second)
	if want := start.Add(90 * time.Second); !c.Now().Equal(want) {
		t.Fatalf("after Add: %v, want %v", c.Now(), want)
	}
}

func TestWaitForReturnsOnceTrue(t *testing.T) {
	n := 0
	WaitFor(t, "the third poll", time.Minute, time.Millisecond, func() bool { n++; return n == 3 })
	if n != 3 {
		t.Fatalf("polled %d times, want 3", n)
	}
}

// tbRecorder records how NeedTool ended a test instead of ending this one.
type tbRecorder struct {
	testing.TB
	fatal, skip bool
}

func (r *tbRecorder) Helper()               {}
func (r *tbRecorder) Fatalf(string, ...any) { r.fatal = true }
func (r *tbRecorder) Skipf(string, ...any)  { r.skip = true }

func TestNeedTool(t *testing.T) {
	const missing = "clinicpro-no-such-tool"
	t.Setenv("CI", "")
	r := &tbRecorder{TB: t}
	NeedTool(r, missing, "hint")
	if !r.skip || r.fatal {
		t.Errorf("outside CI a missing tool should skip: skip=%v fatal=%v", r.skip, r.fatal)
	}
	t.Setenv("CI", "true")
	r = &tbRecorder{TB: t}
	NeedTool(r, missing, "hint")
	if runtime.GOOS == "windows" {
		if !r.skip || r.fatal {
			t.Error("a Windows test binary (Wine in CI) should skip: the tools are Debian packages")
		}
	} else if !r.fatal {
		t.Error("under CI a missing tool must fail the test")
	}
	self, err := os.Executable() // a program that exists on every OS, Wine included
	if err != nil {
		t.Fatal(err)
	}
	r = &tbRecorder{TB: t}
	NeedTool(r, self, "hint")
	if r.fatal || r.skip {
		t.Error("a present tool must neither skip nor fail")
	}
}

// The cluster starts as an unprivileged user and gives each caller its own database.
func TestPostgres(t *testing.T) {
	defer StopPostgres()
	a, b := Postgres(t), Postgres(t)
	if a == b {
		t.Fatal("two callers got the same database")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var super bool
	var user string
	if err := conn.QueryRow(ctx, "SELECT current_setting('is_superuser') = 'on', current_user").Scan(&super, &user); err != nil {
		t.Fatal(err)
	}
	if user != "postgres" {
		t.Fatalf("connected as %s", user)
	}
}
