package alexsim

import (
	"context"
	"strings"
	"testing"
)

func TestRequestLaunch(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := Start(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	u, err := RequestLaunch(ctx, srv.URL, DefaultFacility, "ZZZ0016", "")
	if err != nil || !strings.HasPrefix(u, "clinicpro://launch?context=") {
		t.Fatalf("launch = %q, %v", u, err)
	}
	if _, err := RequestLaunch(ctx, srv.URL, DefaultFacility, "ZAA0075", ""); err == nil {
		t.Fatal("an unknown patient was launched")
	}
	if _, err := RequestLaunch(ctx, "http://127.0.0.1:1", DefaultFacility, "ZZZ0016", ""); err == nil || !strings.Contains(err.Error(), "alexsim serve") {
		t.Fatalf("no sandbox: err = %v", err)
	}
}
