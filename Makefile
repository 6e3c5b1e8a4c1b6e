# shoplogin. `make run` opens the desktop app (embedded server, QA inbox and QA panel);
# `make test` runs every test. See the README for the packages a fresh machine needs.
GO          ?= go
DATA        ?= $(CURDIR)/.run-data
ADDR        ?= 127.0.0.1:8080
BIN         := build/bin/shoplogin
# The build without the window (serve, account add) has its own name, so it never
# overwrites the desktop binary.
SERVER_BIN  := build/bin/shoplogin-server
STATICCHECK := $(GO) tool staticcheck
# Wails: the production desktop build on Linux with WebKitGTK 4.1.
DESKTOP_TAGS := desktop,production,webkit2_41

.PHONY: run serve build build-desktop build-windows frontend test lint test-go test-frontend clean e2e-desktop e2e-web fuzz bench

## run: build the desktop app and open it with a fresh data folder and the QA panel
run: build-desktop
	rm -rf $(DATA)
	./$(BIN) --qa --data $(DATA)

## serve: run the account server headless (website login, API, QA API and inbox)
serve: build
	rm -rf $(DATA)
	./$(SERVER_BIN) serve --qa --addr $(ADDR) --data $(DATA)

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

## frontend: build the UI into frontend/dist (embedded by the Go binary)
frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run build

## build: the shoplogin binary without the desktop window (serve, account add)
build: frontend
	$(GO) build -o $(SERVER_BIN) .

## build-desktop: the shoplogin binary with the Wails window (needs GTK 3 and WebKitGTK 4.1)
build-desktop: frontend
	@pkg-config --exists webkit2gtk-4.1 gtk+-3.0 || { echo "missing GTK/WebKit: sudo apt-get install -y libgtk-3-dev libwebkit2gtk-4.1-dev pkg-config gcc"; exit 1; }
	CGO_ENABLED=1 $(GO) build -tags $(DESKTOP_TAGS) -ldflags "-w -s" -o $(BIN) .

## build-windows: cross-compile the Windows desktop app (no cgo: Wails uses WebView2)
build-windows: frontend
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -tags desktop,production -ldflags "-w -s -H windowsgui" -o build/bin/shoplogin.exe .

## test: everything: lint, Go tests (race), fuzzing (briefly), frontend checks and tests,
## the Windows cross-build, the desktop end-to-end test and the website end-to-end tests
test: lint test-go fuzz test-frontend build-windows e2e-desktop e2e-web

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

test-go:
	$(GO) test -race -count=1 ./...

test-frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run check && npm test

clean:
	rm -rf build/bin $(DATA) frontend/dist/assets frontend/dist/index.html artifacts

## e2e-desktop: drive the desktop binary with the keyboard in a private Xvfb (needs xvfb, xdotool, imagemagick)
# Writes artifacts/desktop-metrics.txt (cold start, memory) and artifacts/screenshots/desktop/.
e2e-desktop: build-desktop
	SHOPLOGIN_BIN=$(CURDIR)/$(BIN) $(GO) test -tags e2e -count=1 -run TestDesktop -v ./app/

## fuzz: run each fuzz target for FUZZTIME (default 3s; `make fuzz FUZZTIME=5m` for longer).
## Seeds live in each package's testdata/fuzz/<Target>; plain `go test` replays them too.
FUZZTIME ?= 3s
FUZZ_TARGETS := ./backend/address:FuzzParse ./backend/codes:FuzzNormalize ./backend/httpapi:FuzzJSONBodies \
	./backend/message:FuzzCode ./backend/message:FuzzNotice ./backend/inbox:FuzzParse
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

## e2e-web: the website login in Debian's Chromium (Playwright) against `shoplogin serve --qa`
# Never downloads a browser; screenshots go to artifacts/screenshots/web/.
e2e-web: build
	cd frontend && SHOPLOGIN_BIN=$(CURDIR)/$(SERVER_BIN) PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm run e2e

## bench: Go benchmarks of the hot paths, then the load test (backend/cmd/loadtest): a real
## server on loopback under concurrent clients, beside the raw argon2id rate and the disk's
## flush latency measured in the same run. About 3 minutes; longer runs with e.g.
## BENCH_FLAGS="-signin 60s -session 30s -verify-pool 60000 -mail-pool 3000 -profile prof"
BENCHTIME ?= 500ms
bench:
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) ./backend/store ./backend/password ./backend/auth ./backend/inbox
	$(GO) run ./backend/cmd/loadtest $(BENCH_FLAGS)
