package rollout

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/windows/registry"
)

// The registry Source round trip on a scratch key under HKCU (HKLM needs an
// administrator; the code is the same with another root). Runs under Wine.
func TestRegistrySource(t *testing.T) {
	path := fmt.Sprintf(`Software\ClinicProTest\Rollout%d`, os.Getpid())
	r := Registry{Root: registry.CURRENT_USER, Path: path}
	t.Cleanup(func() { _ = registry.DeleteKey(registry.CURRENT_USER, path) })
	if _, found, err := r.Read(); found || err != nil {
		t.Fatalf("no key: found %v err %v", found, err)
	}
	if err := r.Delete(); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, path, registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		t.Fatal(err)
	}
	for name, val := range map[string]string{NameRelayURL: "https://relay.example.test", NameEnrolCode: "ABCDE-FGHIJ",
		NameWatchFolders: `C:\Scans;\\server\share\in`, NameHCMHost: "1"} {
		if err := k.SetStringValue(name, val); err != nil {
			t.Fatal(err)
		}
	}
	k.Close()
	v, found, err := r.Read()
	if err != nil || !found || v.RelayURL != "https://relay.example.test" || v.EnrolCode != "ABCDE-FGHIJ" || !v.HCMHost ||
		len(v.WatchFolders) != 2 || v.WatchFolders[1] != `\\server\share\in` {
		t.Fatalf("%+v found %v err %v", v, found, err)
	}
	if err := r.DropEnrolCode(); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := r.Read(); v.EnrolCode != "" || v.RelayURL == "" {
		t.Fatalf("after dropping the code: %+v", v)
	}
	if err := r.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := r.Read(); found {
		t.Fatal("the key is still there after Delete")
	}
}
