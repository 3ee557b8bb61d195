# swarmbox — `make demo` runs the main job, `make test` runs everything CI runs.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
export CGO_ENABLED ?= 0

.PHONY: all build deps test vet staticcheck unit fuzz demo bench screenshots clean

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
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 60m ./...

# A short run of every fuzz target on top of the seed corpora that `unit` already runs.
fuzz:
	@bash scripts/fuzz 10s

test: deps build vet staticcheck unit fuzz

demo: build
	@HEADLESS=$(HEADLESS) bash scripts/demo

bench: build
	@bash scripts/bench

# Every TV screen at 80x25 with the box's safe margins and console colours, as text and PNG, under docs/screens/.
screenshots: build
	@bash scripts/screenshots

clean:
	rm -rf $(BIN)

# Kill boxes and the head-end at random during transfers, buys and wishlist edits (issue 13);
# prints one JSON line. BOX_KILLS, HEADEND_KILLS (default 100, 20). `make test` runs it short.
.PHONY: chaos
chaos:
	@BOX_KILLS=$(BOX_KILLS) HEADEND_KILLS=$(HEADEND_KILLS) bash scripts/chaos

# The box's API (issue 11): state change -> TV redraw latency and idle CPU, this tree against a
# baseline revision (BASE=rev), real processes; docs/benchmarks.md.
.PHONY: bench-box
bench-box:
	@BASE=$(BASE) bash scripts/bench-box

# Head-end sync throughput on SQLite and PostgreSQL (swarmbox-cloud loadgen), docs/benchmarks.md.
.PHONY: bench-headend
bench-headend: build
	@BIN=$(BIN) bash scripts/bench-headend $(BOXES) $(DURATION)

# The box firmware (issue 6): `make image` builds out/image (arm64 disk for QEMU virt, kernel,
# initramfs, arm64 and armv7 binaries); `make qemu` boots it; `make qemu-test` runs only the
# QEMU tests (make test runs them too, inside `unit`), keeping serial logs and screen dumps in
# out/qemu-test; `make flash DEV=/dev/sdX` writes the disk image to a card.
.PHONY: image qemu qemu-test flash
image:
	@bash scripts/image

qemu: image build
	@bash scripts/run-qemu $(QEMU_ARGS)

qemu-test:
	@mkdir -p out/qemu-test
	CGO_ENABLED=1 $(GO) test -count=1 -timeout 60m -run 'QEMU|TestImageReproducible' -v -artifacts -outputdir $(CURDIR)/out/qemu-test ./e2e/

flash: image
	@bash scripts/flash $(FLASH_ARGS) out/image/swarmbox-arm64.img "$(DEV)"

# The test bed benchmark (root): 8 boxes, one item; the last line is a JSON figure.
.PHONY: netbed-bench
netbed-bench: build
	@bash scripts/netbed-bench

# The NAT matrix (root): every pair of home-router kinds, one JSON line per pair.
.PHONY: netbed-nat
netbed-nat: build
	@bash scripts/netbed-nat

# The simulator (issue 3): each workload at SIM_BOXES boxes, one JSON line each, plots in bin/sim/.
SIM_BOXES ?= 10000
.PHONY: sim
sim: build
	@mkdir -p $(BIN)/sim
	@for w in standard flash sparse; do \
		$(BIN)/swarmbox-sim -workload $$w -boxes $(SIM_BOXES) -json -plot $(BIN)/sim/$$w.png || exit 1; \
	done

# A signed firmware update (issue 15): the image built as version VERSION (in out/update-VERSION),
# its root file system bundled and signed with KEY (default out/keys/firmware.key, the key whose
# public half `make image` put into the boxes): out/update-VERSION/swarmbox-VERSION.bundle.
# A box installs it with `swarmboxd update install BUNDLE|URL` and tries it at its next boot.
.PHONY: update
update:
	@test -n "$(VERSION)" || { echo "make update VERSION=2 [KEY=out/keys/firmware.key]"; exit 2; }
	@OUT=$(CURDIR)/out/update-$(VERSION) FIRMWARE_VERSION=$(VERSION) $(if $(KEY),FIRMWARE_KEY=$(abspath $(KEY))) bash scripts/image
	$(GO) run ./cmd/swarmbox-cloud firmware build -key $(or $(KEY),out/keys/firmware.key) -version $(VERSION) -hardware qemu-arm64 \
		out/update-$(VERSION)/rootfs.ext4 -o out/update-$(VERSION)/swarmbox-$(VERSION).bundle
