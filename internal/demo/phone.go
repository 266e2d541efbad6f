package demo

import (
	"context"
	"fmt"
	"io"

	launchurl "github.com/clinicpro/medtech-images/internal/launch"
	"github.com/clinicpro/medtech-images/internal/localapi"
)

// PhoneLink opens a capture session for a test patient, as the tray does for a
// launch, and a phone session on it: the link a phone (or a desktop browser with a
// phone viewport) opens. Its photos arrive as that session's staged items.
func (d *Demo) PhoneLink(ctx context.Context, nhi string) (localapi.Session, localapi.PhoneSession, error) {
	launch, err := d.LaunchURL(ctx, nhi)
	if err != nil {
		return localapi.Session{}, localapi.PhoneSession{}, err
	}
	c := d.Agent()
	defer c.Close()
	// A click on a patient whose window is open is that window (one window per
	// patient): close the one the last call opened, as a GP closing the window
	// would, so each call has a capture session of its own.
	d.phoneMu.Lock()
	defer d.phoneMu.Unlock()
	if d.phoneSession != "" {
		_ = c.CloseSession(ctx, d.phoneSession)
		d.phoneSession = ""
	}
	l, err := launchurl.Parse(launch)
	if err != nil {
		return localapi.Session{}, localapi.PhoneSession{}, err
	}
	// As the tray does with the URL Medtech hands it.
	s, err := c.Launch(ctx, localapi.LaunchRequest{Context: l.Context, Signature: l.Signature})
	if err != nil {
		return s, localapi.PhoneSession{}, fmt.Errorf("the agent did not open the test patient: %w", err)
	}
	d.phoneSession = s.ID
	ps, err := c.OpenPhone(ctx, s.ID)
	if err != nil {
		return s, ps, fmt.Errorf("the agent did not open a phone session: %w", err)
	}
	return s, ps, nil
}

// PhoneInstructions prints how to try phone capture: the relay's own page for ps.
func (d *Demo) PhoneInstructions(w io.Writer, ps localapi.PhoneSession) {
	fmt.Fprintf(w, `  Phone:       open the relay's phone page in a browser with a phone viewport (Chrome: F12, then the device toolbar):
                 %s
               match word %q; the link works on one browser only, within 10 minutes. Its photos arrive in a
               capture session for ZZZ0016 the demo opened. With the tray, press Phone in the capture window for a QR code.
`, ps.URL, ps.Word)
}

// RestartRelay kills the relay (as a crash would) and starts it again on the same
// port and data, returning once it is ready.
func (d *Demo) RestartRelay(ctx context.Context) error {
	_ = killGroup(d.relay.Pid())
	<-d.relay.Done()
	p, err := d.Sup.Start(d.relaySpec)
	if err != nil {
		return err
	}
	d.relay = p
	return WaitReady(ctx, p, d.opt.ReadyTimeout, HTTPProbe(d.RelayURL+"/readyz"))
}
