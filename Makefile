# Hearth: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.Version=$(VERSION)
# Fyne reads the locale from LANG when it loads and complains about "C".
export LANG := en_GB.UTF-8
# Keep Go's caches where they are even when a test changes HOME.
export GOCACHE ?= $(shell $(GO) env GOCACHE)
export GOMODCACHE ?= $(shell $(GO) env GOMODCACHE)
export GOFLAGS ?= -buildvcs=false

# Packages that need no cgo: built and tested with CGO_ENABLED=0 as well.
NOCGO_PKGS := ./device/... ./sync/... ./ui ./provisioning/... ./internal/...

ARM64_ENV := CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
	PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig

.PHONY: all deps deps-cross build cross test test-nocgo test-race check check-buildroot image-smoke bench demo demo-stop fuzz clean

all: build

deps:
	@bash .ci/deps.sh base

deps-cross:
	@bash .ci/deps.sh cross

build: deps
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/ ./cmd/hearthd ./cmd/hearthctl

cross: deps-cross
	$(ARM64_ENV) $(GO) build -ldflags '$(LDFLAGS)' -o bin/linux-arm64/ ./cmd/hearthd ./cmd/hearthctl

# Everything: unit tests, the real broker, the real window under Xvfb, a real
# Chromium calling hearthd (in a network namespace of its own), the arm64
# smoke run under qemu, and the cgo-free build of the pure packages.
# A test whose real part is missing fails instead of skipping (.ci/deps.sh
# base installs them all).
REQUIRE := HEARTH_REQUIRE_BROKER=1 HEARTH_REQUIRE_XVFB=1 HEARTH_REQUIRE_CHROMIUM=1 \
	HEARTH_REQUIRE_DBUS=1 HEARTH_REQUIRE_SYSTEMD=1 HEARTH_REQUIRE_OCR=1

test: build cross test-nocgo test-race
	HEARTH_BIN=$(CURDIR)/bin HEARTH_ARM64_BIN=$(CURDIR)/bin/linux-arm64 $(REQUIRE) \
	$(GO) test -count=1 -timeout 30m ./...

# The packages that start goroutines, under the race detector (their tests
# also check, with goleak, that every goroutine has an owner that waits).
RACE_PKGS := ./device/... ./sync/... ./internal/... ./cmd/internal/...
test-race:
	$(REQUIRE) $(GO) test -race -count=1 -timeout 20m $(RACE_PKGS)

test-nocgo:
	CGO_ENABLED=0 $(GO) build $(NOCGO_PKGS) ./media/photo
	CGO_ENABLED=0 $(REQUIRE) $(GO) test -count=1 $(NOCGO_PKGS) ./media/photo

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.7.0
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@# Every fuzz test is run by make fuzz.
	@for f in $$(git grep -h -o '^func Fuzz[A-Za-z0-9]*' -- '*_test.go' | cut -d' ' -f2); do \
		grep -q -- "-fuzz $$f " Makefile || { echo "make fuzz does not run $$f: add it to the fuzz target"; exit 1; }; done
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Offline checks of the Buildroot tree in buildroot/ (see buildroot/README.md);
# the Buildroot ones need BUILDROOT_DIR=/path/to/a/buildroot/source/tree.
check-buildroot:
	@bash .ci/deps.sh buildroot
	@BUILDROOT_DIR='$(BUILDROOT_DIR)' bash .ci/check-buildroot.sh

# Optional, not part of test: the arm64 hearthd and its unit in a Debian arm64
# SD image booted in qemu-system-aarch64, reaching a broker on the host
# (docs/image-smoke.md). Needs root and binfmt_misc; says SKIP without them.
image-smoke: cross
	@bash .ci/deps.sh image
	bash .ci/image-smoke.sh

fuzz:
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeItem -fuzztime 60s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeInventory -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeInvite -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeAllowlist -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzParseGreeting -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeCallIn -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeReply -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeAvailability -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeStatus -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeAdmin -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./sync/proto -run XXX -fuzz FuzzDecodeBooking -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./provisioning -run XXX -fuzz FuzzDecodeBundle -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./provisioning -run XXX -fuzz FuzzDecodeRevocations -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./provisioning -run XXX -fuzz FuzzDecodeIssued -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./device/config -run XXX -fuzz FuzzLoadFile -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./cmd/hearthctl -run XXX -fuzz FuzzFleetIngest -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./cmd/hearthctl -run XXX -fuzz FuzzReadBatch -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./cmd/hearthctl -run XXX -fuzz FuzzWebHandler -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./cmd/hearthctl -run XXX -fuzz FuzzBlobStore -fuzztime 20s -fuzzminimizetime 5s
	$(GO) test ./media/photo -run XXX -fuzz FuzzPrepare -fuzztime 60s -fuzzminimizetime 5s
	$(GO) test ./media -run XXX -fuzz FuzzSpeakerPush -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./media -run XXX -fuzz FuzzVideoDecoder -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./media -run XXX -fuzz FuzzVP8Assembler -fuzztime 30s -fuzzminimizetime 5s
	$(GO) test ./device/call -run XXX -fuzz FuzzDecodePicture -fuzztime 20s -fuzzminimizetime 5s

bench: build
	@bash .ci/deps.sh bench
	$(GO) run ./cmd/hearthbench -bin $(CURDIR)/bin -out bench/out/results.json

demo:
	@bash .ci/demo.sh

demo-stop:
	@bash .ci/demo.sh stop

clean:
	rm -rf bin bench/out .demo
