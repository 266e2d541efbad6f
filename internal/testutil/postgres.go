package testutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A PostgreSQL cluster started once per test process (by the first Postgres call)
// in a temporary directory, as an unprivileged user, and stopped by StopPostgres.
var pg struct {
	once    sync.Once
	err     error
	skip    string // why there is none, outside CI
	dir     string
	bin     string
	admin   string // DSN of the postgres database
	port    int
	as      *credential
	n       atomic.Int64
	stopped sync.Once
}

// postgresBinDir finds PostgreSQL's server programs: on PATH, else in Debian's
// /usr/lib/postgresql/<version>/bin (the newest), where the postgresql package puts
// them without linking them onto PATH.
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL's server (initdb, pg_ctl) is not installed: apt-get install postgresql (.ci/setup does)")
}

func versionOf(binDir string) int {
	var v int
	fmt.Sscanf(filepath.Base(filepath.Dir(binDir)), "%d", &v)
	return v
}

// Postgres returns the DSN of a new, empty database in the test process's
// PostgreSQL cluster, starting the cluster on first use. Without PostgreSQL the test
// is skipped with a message, except under CI (CI set), where it fails: .ci/setup
// installs it. Packages that call it stop the cluster with StopPostgres in TestMain.
func Postgres(tb testing.TB) string {
	tb.Helper()
	pg.once.Do(startPostgres)
	if pg.skip != "" {
		if os.Getenv("CI") != "" && runtime.GOOS != "windows" {
			tb.Fatalf("PostgreSQL is needed under CI: %s", pg.skip)
		}
		tb.Skipf("%s", pg.skip)
	}
	if pg.err != nil {
		tb.Fatalf("cannot start PostgreSQL: %v", pg.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.admin)
	if err != nil {
		tb.Fatalf("cannot reach the test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), pg.n.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, name)
}

// PostgresAvailable reports whether Postgres would give a database rather than skip.
func PostgresAvailable() bool {
	pg.once.Do(startPostgres)
	return pg.skip == "" && pg.err == nil
}

func startPostgres() {
	bin, err := postgresBinDir()
	if err != nil {
		pg.skip = err.Error()
		return
	}
	if runtime.GOOS == "windows" {
		pg.skip = "the test PostgreSQL runs on Linux only"
		return
	}
	pg.bin = bin
	pg.err = func() error {
		dir, err := os.MkdirTemp("", "cppg-")
		if err != nil {
			return err
		}
		pg.dir = dir
		// PostgreSQL refuses to run as root: the cluster belongs to nobody, who must be
		// able to reach its directories.
		as, err := unprivileged()
		if err != nil {
			return err
		}
		pg.as = as
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
		data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
		for _, d := range []string{data, sock} {
			if err := os.Mkdir(d, 0o700); err != nil {
				return err
			}
			if err := as.own(d); err != nil {
				return err
			}
		}
		if out, err := as.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
			return fmt.Errorf("initdb: %v\n%s", err, out)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		pg.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		opts := strings.Join([]string{"-F", "-k", sock, "-p", fmt.Sprint(pg.port), "-c", "listen_addresses=127.0.0.1",
			"-c", "max_connections=300", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"}, " ")
		logFile := filepath.Join(dir, "postgres.log")
		if err := as.own(dir); err != nil {
			return err
		}
		if out, err := as.run(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", logFile, "-w", "-t", "120", "start").CombinedOutput(); err != nil {
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
		}
		pg.admin = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
		return nil
	}()
}

// StopPostgres stops the test process's cluster, if one was started, and removes it.
func StopPostgres() {
	pg.stopped.Do(func() {
		if pg.dir == "" {
			return
		}
		if pg.admin != "" {
			_ = pg.as.run(filepath.Join(pg.bin, "pg_ctl"), "-D", filepath.Join(pg.dir, "data"), "-m", "immediate", "-w", "stop").Run()
		}
		os.RemoveAll(pg.dir)
	})
}

// RunWithPostgres is a TestMain body for packages whose tests use Postgres: it runs
// the tests, then stops the cluster.
func RunWithPostgres(m *testing.M) int {
	defer StopPostgres()
	return m.Run()
}
