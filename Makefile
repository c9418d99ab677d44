# downtime: build, test, lint, fuzz, bench, demo.
# `make demo` and `make test` are the README's two commands; both install
# what they need with apt on a fresh Debian machine (as root).

GO        ?= go
BIN       ?= bin/downtime
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
# Fuzz budgets are execution counts, not durations: with a duration, Go 1.26's
# fuzz coordinator can race its own deadline and fail a target that found
# nothing ("context deadline exceeded", go.dev/issue/75804, fixed in 1.27).
FUZZTIME  ?= 100000x

.PHONY: all build deps test-deps test unit lint fuzz fuzz-short bench demo soak clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/downtime

# Debian packages the lab and the tests need (idempotent; fast when present).
deps:
	bash scenarios/lab/install-deps.sh

# The tests also open report.html in a real (headless) browser.
test-deps: deps
	@command -v chromium >/dev/null || { echo "apt-get install chromium"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# The test command: lint, every test under the race detector (the network
# and QEMU tests run as root), and a short run of every fuzz target.
test: test-deps lint unit fuzz-short

unit:
	$(GO) test -race -count=1 -p 1 -timeout 12m ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt: files above need formatting'; exit 1; }
	$(GO) vet ./...
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) ./...

# Each fuzz target for FUZZTIME executions (CI: ~10 s each; `make fuzz` for more).
FUZZ_TARGETS := ./scenarios:FuzzParse ./reports:FuzzReadSamples ./reports:FuzzReadSummary ./reports:FuzzReadEvents
fuzz-short:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; done

fuzz:
	$(MAKE) fuzz-short FUZZTIME=2000000x

# Benchmarks behind the README's figures.
bench:
	bash reports/bench.sh

# The README's first command: a real QEMU live migration in the local lab.
demo: deps build
	bash scenarios/lab/demo.sh

soak: deps build
	bash scenarios/lab/soak.sh

clean:
	rm -rf bin
