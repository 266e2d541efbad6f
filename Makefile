# ClinicPro Images for Medtech. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/clinicpro/medtech-images/internal/version.Version=$(VERSION)
BIN := bin
WINBIN := $(BIN)/windows
# Every binary except the tray is pure Go: cgo stays confined to the tray and ui/.
NOCGO_CMDS := clinicpro clinicpro-relay alexsim
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help setup build test test-ui test-go test-windows windows lint bench demo clean msi sign test-msi

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build every binary for this OS into bin/
	@mkdir -p $(BIN)
	for c in $(NOCGO_CMDS); do CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/$$c ./cmd/$$c || exit 1; done
	if [ -d cmd/clinicpro-tray ]; then $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/clinicpro-tray ./cmd/clinicpro-tray; fi

setup: ## install the Debian packages the build and the tests need (only those missing)
	SETUP_EXTRA="wine" .ci/setup

test: setup test-go test-ui windows test-wine test-msi ## all tests: Go tests with -race, the tray under Xvfb, Windows builds, Windows tests under Wine, the MSI
	@echo "all tests passed"

test-ui: screenshots ## the real tray under Xvfb: every screen rendered, and the tray opening a Medtech launch in the end-to-end stack
	E2E_TRAY=1 xvfb-run -a $(GO) test -count=1 -run '^TestTrayOpensLaunch$$' ./internal/demo

test-go: ## Go unit, integration and end-to-end tests (race detector on)
	$(GO) test -race -count=1 -timeout 30m ./...

windows: ## cross-compile every binary for windows/amd64 into bin/windows/, with version resources and manifests, checked
	@mkdir -p $(WINBIN)
	installer/winres.sh
	for c in $(NOCGO_CMDS); do [ -d cmd/$$c ] || continue; GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(WINBIN)/$$c.exe ./cmd/$$c || exit 1; done
	if [ -d cmd/clinicpro-tray ]; then GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc $(GO) build -trimpath -ldflags '$(LDFLAGS) -H windowsgui' -o $(WINBIN)/clinicpro-tray.exe ./cmd/clinicpro-tray; fi
	$(GO) run ./installer/pecheck -version $$(installer/version.sh --file) $(WINBIN)/clinicpro.exe $(WINBIN)/clinicpro-tray.exe
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) vet $$($(GO) list ./internal/... )

lint: ## gofmt, go vet, staticcheck, and no exported identifier that nothing uses
	@out=$$(gofmt -l cmd internal ui 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) run ./internal/tools/unusedexports .

.PHONY: alexsim
alexsim: ## run the ALEX sandbox on 127.0.0.1:8089 (docs/alexsim.md); `go run ./cmd/alexsim launch` prints a launch URL
	$(GO) run ./cmd/alexsim serve -port 8089 -launch ZZZ0016

# The demo's Go binaries; the tray joins them only with a display, because its first
# (cgo, Fyne) build takes minutes.
DEMO_CMDS := clinicpro clinicpro-relay alexsim clinicpro-demo
# e.g. DEMO_FLAGS='-alexsim-port 0 -relay-port 0 -launch-port 0' when 8089/8443/41357 are taken
DEMO_FLAGS ?=

demo: ## run the whole product on loopback: alexsim, relay, agent, stand-in HCM, tray with $$DISPLAY; Ctrl-C stops all
	.ci/setup
	@mkdir -p $(BIN)
	for c in $(DEMO_CMDS); do CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/$$c ./cmd/$$c || exit 1; done
	if [ -n "$$DISPLAY" ]; then $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/clinicpro-tray ./cmd/clinicpro-tray; fi
	$(BIN)/clinicpro-demo -bin $(BIN) -run out/demo $(DEMO_FLAGS)

.PHONY: bench-e2e
bench-e2e: ## end to end: last byte of a photo written to its DocumentReference in alexsim, p50/p95 over 100 photos
	$(GO) test -count=1 -run '^$$' -bench BenchmarkEndToEnd -benchtime 1x -timeout 30m ./internal/demo/

bench: ## Go benchmarks (see docs/benchmarks.md for the comparative ones)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

.PHONY: bench-phone
bench-phone: ## phone capture: Send on the phone page (real headless Chromium) to the item in the capture window, 5 photos of 12 MP over loopback; page weight
	$(GO) test -count=1 -run '^$$' -bench BenchmarkPhoneSendToWindow -benchtime 1x -timeout 20m ./internal/demo/

.PHONY: bench-agent
bench-agent: ## the real clinicpro binary with the relay and alexsim: idle CPU and RSS watching 5 folders, a burst of 1,000 photos, 100 12 MP photos against conversion alone, 3 PCs bursting at once
	$(GO) test -run '^$$' -bench 'IdleAgent5Folders|Burst1000|Burst12MP|Fairness3PCs' -benchtime 1x -timeout 60m ./cmd/clinicpro

.PHONY: bench-imaging
bench-imaging: ## imaging vs sharp, vips and ImageMagick on 12 MP, 24 MP and A4 inputs (RUNS=5); installs the tools it needs
	internal/imaging/bench/run.sh

.PHONY: bench-hostile
bench-hostile: ## imaging's peak RSS on the hostile corpus (bombs, PDF attacks), with and without the decode budget
	internal/imaging/bench/hostile.sh

.PHONY: bench-relay-ha
bench-relay-ha: ## relay stores: 1,000 connectors, mixed load, SQLite vs PostgreSQL with one and two relays; two relays against one with each held to a CPU quota; audit bytes per million rows (needs postgresql, root for the quota)
	$(GO) test -run '^$$' -bench 'Stores|AuditSize|RelayScaling' -benchtime 1x -timeout 60m ./cmd/clinicpro-relay

.PHONY: bench-relay
bench-relay: ## relay vs direct vs nginx: added latency at 1/10/50 connectors (900 KB), peak RSS at 100 x 8 MB; installs nginx
	internal/relay/relaybench/run.sh

msi: ## build dist/ClinicProImages-<version>-x64.msi from bin/windows (run `make windows` first)
	installer/build-msi.sh

sign: ## sign the exes, build the MSI around them, sign the MSI (SIGN_TIMESTAMP_URL required; SIGN_PFX+SIGN_PASS, SIGN_CERT+SIGN_KEY, or SIGN_CERT+SIGN_PKCS11_MODULE+SIGN_PKCS11_KEY)
	installer/sign.sh

test-msi: ## sign with a throwaway certificate, timestamp authority and SoftHSM token, verify signatures and timestamps, check the exes and the MSI
	installer/test-msi.sh

clean:
	rm -rf $(BIN) out dist

# Packages whose Windows test binaries run under Wine: hcm and eventlog exercise the
# service manager and the event log for real; launch runs its named-pipe hand-off
# (Wine's first pipe instance never answers; launch retries an unwritten hand-off).
WINE_PKGS ?= ./internal/originals ./internal/profiles ./internal/hcm ./internal/eventlog ./internal/nhi ./internal/redact ./internal/health ./internal/health/checks ./internal/doctor ./internal/agent/diagnostics ./internal/agent/daemon ./internal/imaging ./internal/config ./internal/queue ./internal/watch ./internal/alex ./internal/upload ./internal/localapi ./internal/peer ./internal/glprobe ./internal/launch ./internal/secret ./internal/datadir ./internal/agent ./internal/rollout ./internal/logfile ./internal/relay/client ./internal/testutil

.PHONY: test-wine
test-wine: ## run Windows test binaries under Wine (installs a test service); needs SETUP_EXTRA=wine .ci/setup
	.ci/wine/run.sh $(WINE_PKGS)

screenshots: ## render every tray screen (light and dark, and one at 150%) to out/screenshots/ under Xvfb
	@mkdir -p out/screenshots
	SCREENSHOTS_DIR=$(CURDIR)/out/screenshots xvfb-run -a $(GO) test -count=1 -run '^TestScreenshots$$' ./ui
	@echo "screens in out/screenshots/light and out/screenshots/dark"
.PHONY: screenshots
