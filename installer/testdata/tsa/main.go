// Command tsa is a throwaway RFC 3161 timestamp authority for installer/test-msi.sh, so
// the CI can prove that `make sign` timestamps every signature without reaching a real
// authority. Each request is answered by `openssl ts -reply` with the certificate and
// key the test made. It is never shipped.
//
//	go run ./installer/testdata/tsa -dir DIR     (DIR holds tsa.cnf; prints the URL)
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", "", "folder with tsa.cnf, the TSA certificate and key")
	flag.Parse()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsa:", err)
		os.Exit(1)
	}
	fmt.Printf("http://%s/\n", l.Addr())
	os.Stdout.Sync()
	n := 0
	err = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST a timestamp query", http.StatusMethodNotAllowed)
			return
		}
		n++
		q := filepath.Join(*dir, fmt.Sprintf("q%d.tsq", n))
		resp := filepath.Join(*dir, fmt.Sprintf("r%d.tsr", n))
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err := os.WriteFile(q, body, 0o600); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		cmd := exec.Command("openssl", "ts", "-reply", "-config", filepath.Join(*dir, "tsa.cnf"), "-queryfile", q, "-out", resp)
		if out, err := cmd.CombinedOutput(); err != nil {
			http.Error(w, string(out), http.StatusInternalServerError)
			return
		}
		b, err := os.ReadFile(resp)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(b)
	}))
	fmt.Fprintln(os.Stderr, "tsa:", err)
	os.Exit(1)
}
