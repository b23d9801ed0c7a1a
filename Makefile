# Quartierhub — two commands do everything: `make run` and `make test`.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED ?= 0

GO        ?= go
BIN       := bin
VAR       := var
FUZZTIME  ?= 10m
# Engines and tools build without cgo; only the kiosk window needs it
# (kiosk/cmd/kiosk/window.go is cgo-only: without cgo, kiosk is agent and CLI).
CMDS      := ./drivers/cmd/devsim ./drivers/cmd/devprobe ./hub-server/cmd/hub-server ./kiosk/cmd/quartierhub-updater

.PHONY: all deps deps-test deps-packages build test test-times vet unit fuzz-short fuzz bench soak run screenshots packages release test-packages clean

all: build

deps:
	@provisioning/dev/deps.sh build

deps-test:
	@provisioning/dev/deps.sh test

deps-packages:
	@provisioning/dev/deps.sh packages

build: deps
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(CMDS)
	CGO_ENABLED=1 $(GO) build -o $(BIN)/ ./kiosk/cmd/kiosk

vet:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The tests under tests/ run the binaries just built (QH_BIN) rather
# than linking their own.
unit: build
	QH_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 ./...

# The ten slowest test packages.
test-times: build
	@QH_BIN=$(CURDIR)/$(BIN) tests/test-times.sh

# A short fuzz run per target, so every frame parser is shaken in CI;
# `make fuzz` runs them for FUZZTIME each. Counted in executions, not
# seconds: a time-boxed run can end in a spurious "context deadline
# exceeded" from Go's fuzzing coordinator (golang/go#75804), which
# tests/fuzz.sh reports as a flake, not a failure. Both run FUZZJOBS
# targets at a time (default: one per core). 30,000 executions: the
# signature-checking targets (TUF metadata, releases) run about a
# millisecond each, and 38 targets at 100,000 took 11 minutes of make
# test on two cores.
fuzz-short:
	@tests/fuzz.sh 30000x

test: deps-test build vet unit fuzz-short
	@echo "make test: all passed"

fuzz:
	@tests/fuzz.sh $(FUZZTIME)

# Figures as NAME VALUE UNIT lines (BENCH_RECORDS=N shrinks the drain).
bench: build
	$(GO) run ./tests/bench

# The fault tests at length: 100 kill -9s of the agent, 10 of the hub
# mid-batch, 100 of the outbox's writer, and the workshop fold's
# property test over 10,000 random workshops (make test: 200; about two
# minutes on two busy cores); each part runs even if one fails, and a
# PASS/FAIL table closes the run.
soak:
	@FAULT_KILLS=100 FAULT_HUB_RESTARTS=10 OUTBOX_KILLS=100 QH_WORKSHOP_SEEDS=10000 GO=$(GO) tests/soak.sh

# A hub, simulated devices and an enrolled kiosk, all state in var/.
run: build
	@provisioning/dev/run.sh

# Every kiosk screen in German and English, normal, large text and high
# contrast, rendered by Fyne's test driver (no display needed), and the
# keypad's focus ring on a few (focus-*.png); the hub's public air page
# and a terminal's air charts in Chromium (public-air-*.png,
# console-terminal-air.png).
screenshots:
	$(GO) test ./kiosk/ui -run 'TestEveryScreen|TestFocusRingContrast' -count=1 -args -screenshots $(CURDIR)/docs/screenshots
	CONSOLE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test ./hub-server/internal/console -run 'TestAirBrowser' -count=1

# Debian packages in dist/ (provisioning/packaging; version from git
# describe, or PKG_VERSION=…). The binaries are built for packaging into
# bin/deb: stripped, position independent, the kiosk with full RELRO and
# fortified C, and its version set (the updater's too: it is the packaged
# kiosk's). TUF_ROOT=root.json pins the release keys' root for the
# terminal's updater; without it the updater's unit does not start.
PKG_CFLAGS := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong
packages: deps
	@mkdir -p $(BIN)/deb dist
	@rm -f dist/*.deb
	@v="$${PKG_VERSION:-$$($(GO) run ./provisioning/cmd/mkpackages --print-version)}" && echo "packages: version $$v" && \
	CGO_ENABLED=0 $(GO) build -trimpath -buildmode=pie -ldflags "-s -w" -o $(BIN)/deb/ ./hub-server/cmd/hub-server && \
	CGO_ENABLED=0 $(GO) build -trimpath -buildmode=pie -ldflags "-s -w -X main.version=$$v" -o $(BIN)/deb/ ./kiosk/cmd/quartierhub-updater && \
	CGO_ENABLED=1 CGO_CFLAGS="$(PKG_CFLAGS)" $(GO) build -trimpath -buildmode=pie \
	  -ldflags "-s -w -linkmode=external -extldflags=-Wl,-z,relro,-z,now -X github.com/quartierhub/quartierhub/kiosk/cli.Version=$$v" \
	  -o $(BIN)/deb/ ./kiosk/cmd/kiosk && \
	$(GO) run ./provisioning/cmd/mkpackages --bin $(BIN)/deb --out dist --version "$$v" $(if $(TUF_ROOT),--tuf-root "$(TUF_ROOT)")

# A kiosk release for the terminals' updater in dist/
# (quartierhub-kiosk_V_amd64.tar.gz: manifest.json and bin/kiosk, see
# kiosk/updater), the kiosk built as for the packages with the release
# version set: the updater's health gate checks the restarted agent runs
# it. Version: RELEASE_VERSION, or the tag git describe gives (an
# untagged build is no release). Then sign it offline (hub-server
# release sign) and publish it (hub-server release add, or the console).
release: deps
	@mkdir -p $(BIN)/release dist
	@v="$$($(GO) run ./provisioning/cmd/mkrelease --print-version --version "$${RELEASE_VERSION:-$$($(GO) run ./provisioning/cmd/mkpackages --print-version)}")" && echo "release: version $$v" && \
	CGO_ENABLED=1 CGO_CFLAGS="$(PKG_CFLAGS)" $(GO) build -trimpath -buildmode=pie \
	  -ldflags "-s -w -linkmode=external -extldflags=-Wl,-z,relro,-z,now -X github.com/quartierhub/quartierhub/kiosk/cli.Version=$$v" \
	  -o $(BIN)/release/ ./kiosk/cmd/kiosk && \
	$(GO) run ./provisioning/cmd/mkrelease --kiosk $(BIN)/release/kiosk --version "$$v" --out dist

# The packages checked for real (tests/packages): lintian, and installed,
# upgraded, removed and purged in booted Debian 12 machines; the session
# and the updater under systemd there (tests/session/machine,
# tests/update/machine).
test-packages: deps-packages packages
	QH_PACKAGES_DIR=$(CURDIR)/dist $(GO) test -count=1 -timeout 40m -v ./tests/packages/... ./tests/session/machine/... ./tests/update/machine/...

clean:
	rm -rf $(BIN) dist
