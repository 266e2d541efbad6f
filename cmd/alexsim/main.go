// Command alexsim runs the ALEX sandbox (internal/alexsim) on a loopback port for
// development and the demo, and mints toolbar launch URLs for its test patients. It is
// a dev tool: never shipped in the MSI.
//
//	alexsim [serve] [-port 8089] [-client-id ...] [-client-secret ...] [-launch ZZZ0016] [-permissive-search]
//	alexsim launch [-url http://127.0.0.1:8089] [-facility F2N060-E] [-nhi ZZZ0016 | -no-patient]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/redact"
)

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "launch") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "launch":
		err = launch(args, os.Stdout)
	default:
		err = serve(args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "alexsim:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	port := fs.Int("port", 8089, "TCP port on 127.0.0.1 (0 picks a free one)")
	id := fs.String("client-id", alexsim.DefaultClientID, "OAuth2 client id the token endpoint accepts")
	secret := fs.String("client-secret", alexsim.DefaultClientSecret, "OAuth2 client secret the token endpoint accepts")
	scope := fs.String("scope", "", "scope the token endpoint requires (empty accepts any)")
	ttl := fs.Duration("token-ttl", 3599*time.Second, "lifetime of issued tokens")
	nhi := fs.String("launch", "", "print a launch URL for this test patient NHI at start")
	permissive := fs.Bool("permissive-search", false, "also answer DocumentReference?identifier= without a patient filter, which real ALEX refuses with 403")
	_ = fs.Parse(args)

	log := slog.New(redact.NewHandler(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := alexsim.Start(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)),
		alexsim.Options{ClientID: *id, ClientSecret: *secret, Scope: *scope, TokenTTL: *ttl, PermissiveSearch: *permissive})
	if err != nil {
		return fmt.Errorf("cannot listen on port %d: %w (choose another with -port)", *port, err)
	}
	log.Info("ALEX sandbox listening", "fhir_base", srv.BaseURL, "token_url", srv.TokenURL,
		"facility", alexsim.DefaultFacility, "admin", srv.URL+"/_sim/")
	if *nhi != "" {
		c, sig, err := srv.MintLaunch(alexsim.DefaultFacility, *nhi, "")
		if err != nil {
			return err
		}
		// A dev tool printing a Z-range test NHI's launch URL to its own terminal.
		fmt.Println(alexsim.LaunchURL(c, sig))
	}
	<-ctx.Done()
	return srv.Close()
}

// launch asks a running sandbox to mint a launch, because only it knows its secret.
func launch(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("launch", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8089", "root URL of the running alexsim")
	facility := fs.String("facility", alexsim.DefaultFacility, "HPI facility id")
	nhi := fs.String("nhi", "ZZZ0016", "test patient NHI")
	none := fs.Bool("no-patient", false, "launch with no patient selected")
	provider := fs.String("provider", "", "provider id (default: the facility's test practitioner)")
	_ = fs.Parse(args)
	if *none {
		*nhi = ""
	}
	u, err := alexsim.RequestLaunch(context.Background(), *base, *facility, *nhi, *provider)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, u)
	return err
}
