// Command pecheck checks the identity a shipped Windows exe carries: its version
// resource (the build's version, company, copyright, product) and its manifest
// (supported OS, per-monitor DPI awareness, asInvoker, long paths). Windows, Defender,
// SmartScreen and Intune's inventory read these; an exe without them shows nothing
// and draws antivirus false positives. It reads the PE with debug/pe and is run by
// installer/test-msi.sh on the exes inside the MSI, and by `make windows`.
//
//	go run ./installer/pecheck [-version a.b.c.d] [-company NAME] FILE.exe...
//	go run ./installer/pecheck -print-version FILE.exe
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	version := flag.String("version", "", "the file version every exe must carry (default: any a.b.c.d)")
	company := flag.String("company", "", "the CompanyName every exe must carry (default: any)")
	printVersion := flag.Bool("print-version", false, "print the exe's file version and exit")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: pecheck [-version a.b.c.d] [-company NAME] FILE.exe...")
		os.Exit(2)
	}
	if *printVersion {
		r, err := readResources(flag.Arg(0))
		if err != nil || r.FileVersion == "" {
			fmt.Fprintf(os.Stderr, "pecheck: %s: no file version (%v)\n", flag.Arg(0), err)
			os.Exit(1)
		}
		fmt.Println(r.FileVersion)
		return
	}
	failed := false
	for _, path := range flag.Args() {
		for _, p := range check(path, *version, *company) {
			fmt.Fprintf(os.Stderr, "FAIL: %s: %s\n", path, p)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	fmt.Printf("pecheck: %s: version resource and manifest ok\n", strings.Join(flag.Args(), ", "))
}
