// Command clinicpro-relay is the static-IP relay between practices' agents and
// Medtech ALEX. It only wires packages together: see internal/relay/relaycli.
//
//	clinicpro-relay serve                      run in the foreground
//	clinicpro-relay install | uninstall        register/remove the systemd unit
//	clinicpro-relay connector add --facility F2N060-E --name "Healthier Care"
//	clinicpro-relay connector list | revoke ID | rotate ID
//	clinicpro-relay version
package main

import (
	"fmt"
	"os"

	"github.com/clinicpro/medtech-images/internal/relay/relaycli"
)

func main() {
	if err := relaycli.Run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "clinicpro-relay:", err)
		os.Exit(1)
	}
}
