# shoplogin. `make run` opens the desktop app (embedded server, QA inbox and QA panel);
# `make test` runs every test. See the README for the packages a fresh machine needs.
GO          ?= go
DATA        ?= $(CURDIR)/.run-data
ADDR        ?= 127.0.0.1:8080
BIN         := build/bin/shoplogin
STATICCHECK := $(GO) tool staticcheck
# Wails: the production desktop build on Linux with WebKitGTK 4.1.
DESKTOP_TAGS := desktop,production,webkit2_41

.PHONY: run serve build build-desktop build-windows frontend test lint test-go test-frontend clean

## run: build the desktop app and open it with a fresh data folder and the QA panel
run: build-desktop
	rm -rf $(DATA)
	./$(BIN) --qa --data $(DATA)

## serve: run the account server headless (website login, API, QA API and inbox)
serve: build
	rm -rf $(DATA)
	./$(BIN) serve --qa --addr $(ADDR) --data $(DATA)

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund

## frontend: build the UI into frontend/dist (embedded by the Go binary)
frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run build

## build: the shoplogin binary without the desktop window (serve, account add)
build: frontend
	$(GO) build -o $(BIN) .

## build-desktop: the shoplogin binary with the Wails window (needs GTK 3 and WebKitGTK 4.1)
build-desktop: frontend
	@pkg-config --exists webkit2gtk-4.1 gtk+-3.0 || { echo "missing GTK/WebKit: sudo apt-get install -y libgtk-3-dev libwebkit2gtk-4.1-dev pkg-config gcc"; exit 1; }
	CGO_ENABLED=1 $(GO) build -tags $(DESKTOP_TAGS) -ldflags "-w -s" -o $(BIN) .

## build-windows: cross-compile the Windows desktop app (no cgo: Wails uses WebView2)
build-windows: frontend
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -tags desktop,production -ldflags "-w -s -H windowsgui" -o build/bin/shoplogin.exe .

## test: everything: lint, Go tests (race), frontend checks and tests, builds, end-to-end
test: lint test-go test-frontend build-windows

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

test-go:
	$(GO) test -race -count=1 ./...

test-frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run check && npm test

clean:
	rm -rf build/bin $(DATA) frontend/dist/assets frontend/dist/index.html
