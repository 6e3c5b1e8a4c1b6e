# shoplogin: `make run` starts the account server with the QA inbox; `make test` runs every test.
GO        ?= go
DATA      ?= $(CURDIR)/.run-data
ADDR      ?= 127.0.0.1:8080
STATICCHECK = $(GO) tool staticcheck

.PHONY: run test test-go lint build clean

run: build
	rm -rf $(DATA)
	./build/bin/shoplogin serve --qa --addr $(ADDR) --data $(DATA)

build:
	$(GO) build -o build/bin/shoplogin .

test: lint test-go

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

test-go:
	$(GO) test -race -count=1 ./...

clean:
	rm -rf build/bin $(DATA)
