# swarmbox — `make demo` runs the main job, `make test` runs everything CI runs.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
export CGO_ENABLED ?= 0

.PHONY: all build deps test vet staticcheck unit fuzz demo bench clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# Debian packages the tests use (ffprobe for media checks, openssl for the crypto baseline).
deps:
	@bash scripts/deps

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt would change:"; gofmt -l .; exit 1; }

staticcheck:
	$(GO) run $(STATICCHECK) ./...

# The race detector needs cgo.
unit:
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 20m ./...

# A short run of every fuzz target on top of the seed corpora that `unit` already runs.
fuzz:
	@bash scripts/fuzz 10s

test: deps build vet staticcheck unit fuzz

demo: build
	@HEADLESS=$(HEADLESS) bash scripts/demo

bench: build
	@bash scripts/bench

clean:
	rm -rf $(BIN)

# The simulator (issue 3): each workload at SIM_BOXES boxes, one JSON line each, plots in bin/sim/.
SIM_BOXES ?= 10000
.PHONY: sim
sim: build
	@mkdir -p $(BIN)/sim
	@for w in standard flash sparse; do \
		$(BIN)/swarmbox-sim -workload $$w -boxes $(SIM_BOXES) -json -plot $(BIN)/sim/$$w.png || exit 1; \
	done
