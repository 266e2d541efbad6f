//go:build linux

package hcm

import (
	"context"
	"os"
	"testing"
)

func TestUnitNotInstalled(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err != nil {
		t.Skip("no systemd on this machine")
	}
	st, err := Unit{}.State(context.Background(), "clinicpro-no-such-unit")
	if err != nil || st.State != NotInstalled {
		t.Fatalf("%+v %v", st, err)
	}
	if err := (Unit{}).Start(context.Background(), "clinicpro-no-such-unit"); err == nil {
		t.Fatal("started a unit that does not exist")
	}
}
