package launch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/peer"
)

// ErrRunning means another tray process of this user, in this Windows session,
// already holds the claim; hand the launch to it with Handoff and exit.
var ErrRunning = errors.New("ClinicPro Images is already running")

// ErrImpostor means the hand-off address is held by a process that is not this
// user's tray in this session (another user created it first): nothing is handed to
// it, and this tray runs without the single-instance claim.
var ErrImpostor = errors.New("the ClinicPro Images hand-off address is held by another user's program")

// verifyServer checks that the process answering on c is this user in this session.
func verifyServer(c net.Conn) error {
	me, err := peer.Self()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrImpostor, err)
	}
	p, err := peer.Of(c)
	if err != nil || !p.Same(me) {
		return fmt.Errorf("%w (%v, %v): sign out and in again; if this persists, ask practice IT to check the PC", ErrImpostor, p, err)
	}
	return nil
}

// Open is what a second instance sends when it was started without a launch URL (from
// the Start menu): the running tray should just come to the front.
const Open = ""

// ioTimeout bounds one hand-off exchange so a stuck peer cannot hang the tray. It is
// generous because a loaded practice PC can take seconds to schedule the tray.
const ioTimeout = 10 * time.Second

// Instance is the running tray's claim on this user's hand-off address.
type Instance struct {
	ln    net.Listener
	urls  chan string
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	close func() error
}

// Claim makes this process the user's one tray instance, listening on addr (see
// DefaultAddress). It returns ErrRunning when a live instance already holds addr; a
// stale claim left by a crashed tray is taken over.
func Claim(addr string) (*Instance, error) {
	unlock, err := lock(addr)
	if err != nil {
		return nil, err
	}
	in, err := claimListener(addr)
	if err != nil {
		unlock()
		return nil, err
	}
	closeLn := in.close
	in.close = func() error {
		defer unlock()
		return closeLn()
	}
	return in, nil
}

func claimListener(addr string) (*Instance, error) {
	ln, err := listen(addr)
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		if c, derr := dial(ctx, addr); derr == nil {
			verr := verifyServer(c)
			c.Close()
			if verr != nil {
				return nil, verr
			}
			return nil, ErrRunning
		}
		if !removeStale(addr) {
			return nil, fmt.Errorf("cannot start the launch listener (%v): restart the PC if ClinicPro Images does not open", err)
		}
		if ln, err = listen(addr); err != nil {
			return nil, fmt.Errorf("cannot start the launch listener (%v): restart the PC if ClinicPro Images does not open", err)
		}
	}
	in := &Instance{ln: ln, urls: make(chan string, 16), done: make(chan struct{}), close: ln.Close}
	in.wg.Add(1)
	go in.serve()
	return in, nil
}

// URLs delivers what other instances handed over: a launch URL, or Open. The channel
// is closed by Close.
func (in *Instance) URLs() <-chan string { return in.urls }

// Close stops listening and releases the claim.
func (in *Instance) Close() error {
	var err error
	in.once.Do(func() {
		close(in.done)
		err = in.close()
		in.wg.Wait()
		close(in.urls)
	})
	return err
}

func (in *Instance) serve() {
	defer in.wg.Done()
	for {
		c, err := in.ln.Accept()
		if err != nil {
			select {
			case <-in.done:
				return
			default:
			}
			// Accept fails transiently (e.g. a client gone before we answered): keep
			// serving, but do not spin.
			time.Sleep(50 * time.Millisecond)
			continue
		}
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			in.handle(c)
		}()
	}
}

func (in *Instance) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	msg, err := readLine(c)
	if err != nil {
		fmt.Fprintln(c, "error")
		return
	}
	// Only launch URLs or Open are passed on: anything else on the socket is noise
	// from a confused or hostile local process.
	if msg != Open {
		if _, perr := Parse(msg); perr != nil && !errors.Is(perr, ErrIncomplete) {
			fmt.Fprintln(c, "error")
			return
		}
	}
	select {
	case in.urls <- msg:
		fmt.Fprintln(c, "ok")
	case <-in.done:
	}
}

// Handoff gives url (or Open) to the running instance at addr and waits for it to
// acknowledge, so the second process only exits once the launch is safe.
func Handoff(ctx context.Context, addr, url string) error {
	if len(url) > MaxURLLength || strings.ContainsAny(url, "\r\n") {
		return ErrNotLaunch
	}
	var err error
	for attempt := 0; attempt < 3 && ctx.Err() == nil; attempt++ {
		var delivered bool
		delivered, err = handoff(ctx, addr, url)
		// Retrying is only safe while the running tray cannot have read the URL,
		// or one click would open two windows. A write that did not complete was
		// not read (seen under Wine, whose first pipe instance never answers).
		if err == nil || delivered {
			return err
		}
	}
	return err
}

// handoff is one attempt; delivered reports whether the URL was written in full.
func handoff(ctx context.Context, addr, url string) (delivered bool, err error) {
	c, err := dial(ctx, addr)
	if err != nil {
		return false, fmt.Errorf("ClinicPro Images is not answering (%v): close it from the tray and open the link again", err)
	}
	defer c.Close()
	// The launch carries Medtech's tokens: only to our own tray, never to a listener
	// another user created under our name.
	if err := verifyServer(c); err != nil {
		return false, err
	}
	deadline := time.Now().Add(ioTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// The running tray reads at once; a write still blocked after writeTimeout went
	// to a pipe instance nobody serves.
	_ = c.SetWriteDeadline(minTime(deadline, time.Now().Add(writeTimeout)))
	_ = c.SetReadDeadline(deadline)
	if _, err := io.WriteString(c, url+"\n"); err != nil {
		return false, fmt.Errorf("ClinicPro Images did not take the launch (%v): open the link again", err)
	}
	reply, err := readLine(c)
	if err != nil {
		return true, fmt.Errorf("ClinicPro Images did not confirm the launch (%v): open the link again", err)
	}
	if reply != "ok" {
		return true, ErrNotLaunch
	}
	return true, nil
}

// writeTimeout bounds one attempt's write; see handoff.
const writeTimeout = 3 * time.Second

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// readLine reads one newline-terminated line of at most MaxURLLength bytes.
func readLine(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, MaxURLLength+2), 512)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
