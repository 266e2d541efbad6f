package viewmodel

import (
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clinicpro/medtech-images/internal/localapi"
	"github.com/clinicpro/medtech-images/internal/localapi/localapitest"
	"github.com/clinicpro/medtech-images/internal/testutil"
)

func TestPhonePanelStates(t *testing.T) {
	f := localapitest.NewFake()
	ctx := context.Background()
	s, err := f.Launch(ctx, localapi.LaunchRequest{Context: localapitest.ContextPatient, Signature: localapitest.SignatureFor(localapitest.ContextPatient)})
	if err != nil {
		t.Fatal(err)
	}
	changes := 0
	p := NewPhone(f, s.ID, func() { changes++ })
	if v := p.View(); v.Step != PhoneOff {
		t.Fatalf("before Phone: %+v", v)
	}
	if err := p.Open(ctx); err != nil {
		t.Fatal(err)
	}
	v := p.View()
	if v.Step != PhoneQR || !v.ShowQR || v.Word != localapitest.PhoneWord || !strings.Contains(v.Text, TextPhoneTrust) || !v.CanStop {
		t.Fatalf("QR: %+v", v)
	}
	step := func(state string, uploading int) PhoneView {
		f.PhoneSet(s.ID, state, uploading)
		ps, _ := f.Phone(ctx, s.ID)
		p.Handle(ps)
		return p.View()
	}
	if v := step(localapi.PhonePaired, 0); v.Step != PhonePaired || v.ShowQR || !strings.Contains(v.Text, "press Send") {
		t.Fatalf("paired: %+v", v)
	}
	if v := step(localapi.PhonePaired, 2); v.Step != PhoneReceiving || !strings.Contains(v.Text, "Receiving 2 photos") {
		t.Fatalf("receiving: %+v", v)
	}
	f.PhoneSend(s.ID, localapitest.UniqueJPEG(t))
	ps, _ := f.Phone(ctx, s.ID)
	p.Handle(ps)
	if v := p.View(); v.Step != PhoneReceiving || !strings.Contains(v.Text, "1 photo from the phone is in this window") {
		t.Fatalf("one received, one coming: %+v", v)
	}
	if v := step(localapi.PhonePaired, 0); v.Step != PhoneReceived || v.Received != 1 {
		t.Fatalf("received: %+v", v)
	}
	// Another window's phone session is not this panel's.
	p.Handle(localapi.PhoneSession{SessionID: "other", State: localapi.PhoneExpired})
	if p.View().Step != PhoneReceived {
		t.Fatal("another window's event changed this panel")
	}
	if v := step(localapi.PhoneExpired, 0); v.Step != PhoneEnded || !v.CanNew || !strings.Contains(v.Heading, "expired") {
		t.Fatalf("expired: %+v", v)
	}
	if err := p.Open(ctx); err != nil || p.View().Step != PhoneQR {
		t.Fatalf("new code: %v %+v", err, p.View())
	}
	if err := p.Stop(ctx); err != nil || p.View().Step != PhoneEnded {
		t.Fatalf("stop: %v %+v", err, p.View())
	}
	// A window without a patient gets the agent's sentence, and New code.
	np, _ := f.Launch(ctx, localapi.LaunchRequest{Context: localapitest.ContextNoPatient, Signature: localapitest.SignatureFor(localapitest.ContextNoPatient)})
	q := NewPhone(f, np.ID, nil)
	if err := q.Open(ctx); err == nil || q.View().Step != PhoneFailed || !q.View().Error || !q.View().CanNew {
		t.Fatalf("no patient: %v %+v", err, q.View())
	}
	if changes == 0 {
		t.Fatal("the panel never asked to be drawn")
	}
}

// The QR code reads back as the URL with an independent decoder (zbar).
func TestPhoneQRCodeDecodesToTheURL(t *testing.T) {
	testutil.NeedTool(t, "zbarimg", "apt-get install zbar-tools (.ci/setup does)")
	url := "https://relay.example.nz/m/" + strings.Repeat("Ab9_-", 8) + "xyz"
	img, err := QRCode(url, 6)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "qr.png")
	f, _ := os.Create(path)
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := exec.Command("zbarimg", "--raw", "-q", path).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != url {
		t.Fatalf("zbarimg read %q, want %q", got, url)
	}
}
