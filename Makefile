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
CMDS      := ./drivers/cmd/devsim ./drivers/cmd/devprobe ./hub-server/cmd/hub-server

.PHONY: all deps deps-test build test test-times vet unit fuzz-short fuzz bench soak run screenshots clean

all: build

deps:
	@provisioning/dev/deps.sh build

deps-test:
	@provisioning/dev/deps.sh test

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
# targets at a time (default: one per core).
fuzz-short:
	@tests/fuzz.sh 100000x

test: deps-test build vet unit fuzz-short
	@echo "make test: all passed"

fuzz:
	@tests/fuzz.sh $(FUZZTIME)

# Figures as NAME VALUE UNIT lines (BENCH_RECORDS=N shrinks the drain).
bench: build
	$(GO) run ./tests/bench

# The fault tests at length: 100 kill -9s of the agent, 10 of the hub
# mid-batch, 100 of the outbox's writer; each part runs even if one
# fails, and a PASS/FAIL table closes the run.
soak:
	@FAULT_KILLS=100 FAULT_HUB_RESTARTS=10 OUTBOX_KILLS=100 GO=$(GO) tests/soak.sh

# A hub, simulated devices and an enrolled kiosk, all state in var/.
run: build
	@provisioning/dev/run.sh

# Every kiosk screen in German and English, normal, large text and high
# contrast, rendered by Fyne's test driver (no display needed).
screenshots:
	$(GO) test ./kiosk/ui -run TestEveryScreen -count=1 -args -screenshots $(CURDIR)/docs/screenshots

clean:
	rm -rf $(BIN)
