# mtr-go — build, test, lint, install, and a demo on a throw-away lab network.
GO       ?= $(shell command -v go || echo /usr/local/go/bin/go)
PREFIX   ?= /usr/local
BIN      := bin/mtr-go
HELPER   := bin/mtr-go-packet
LAB      := bin/mtr-go-lab
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -s -w -X main.version=$(VERSION)

.PHONY: all build test test-short lint fuzz install install-service uninstall demo cpu rtt scale clean

all: build

# CGO_ENABLED=0 for a static binary that runs on any Linux. A cgo build (go install's default
# with a C compiler) drops every thread's capabilities as completely: internal/privs uses psx.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mtr-go
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(HELPER) ./cmd/mtr-go-packet
	$(GO) build -trimpath -o $(LAB) ./cmd/mtr-go-lab

# The whole suite. As root it includes the network-lab tests (real kernel routers in network
# namespaces); as a normal user those skip, and with CI=true they fail instead of skipping.
test:
	$(GO) test -race -count=1 -timeout 30m ./...

# Unit tests only: no root, no lab.
test-short:
	$(GO) test -short -count=1 ./...

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

# A short run of every fuzz target (the corpus lives in */testdata/fuzz).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 20s $$pkg || exit 1; \
	  done; \
	done

# Installs mtr-go without any privilege and its packet helper beside it with cap_net_raw, as
# distributions install mtr and mtr-packet: ordinary users trace without sudo, and only the
# small helper, which drops the capability once its sockets are open, ever holds it. (The
# exporter's unit, install-service, gives mtr-go itself CAP_NET_RAW instead.)
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mtr-go
	setcap -r $(DESTDIR)$(PREFIX)/bin/mtr-go 2>/dev/null || true
	install -D -m 0755 $(HELPER) $(DESTDIR)$(PREFIX)/bin/mtr-go-packet
	setcap cap_net_raw+ep $(DESTDIR)$(PREFIX)/bin/mtr-go-packet
	install -D -m 0644 mtr-go.1 $(DESTDIR)$(PREFIX)/share/man/man1/mtr-go.1
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BIN) --completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mtr-go
	$(BIN) --completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mtr-go
	$(BIN) --completion fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/mtr-go.fish

# Installs the exporter's systemd unit (internal/server/mtr-go.service: a dynamic user with
# CAP_NET_RAW only) and an empty targets file; then: systemctl enable --now mtr-go.
install-service:
	sed 's|/usr/local/bin/mtr-go|$(PREFIX)/bin/mtr-go|' internal/server/mtr-go.service > mtr-go.service.tmp
	install -D -m 0644 mtr-go.service.tmp $(DESTDIR)/etc/systemd/system/mtr-go.service
	rm -f mtr-go.service.tmp
	test -e $(DESTDIR)/etc/mtr-go/targets || install -D -m 0644 /dev/null $(DESTDIR)/etc/mtr-go/targets

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mtr-go $(DESTDIR)$(PREFIX)/bin/mtr-go-packet $(DESTDIR)/etc/systemd/system/mtr-go.service
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/mtr-go.1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mtr-go
	rm -f $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mtr-go $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/mtr-go.fish

# Builds a small lab path (6 kernel routers in network namespaces: hop 2 throttles its ICMP,
# real loss from hop 5 on, reverse DNS) and runs mtr-go on it. Needs root. ARGS adds options.
demo: build
	./$(LAB) demo -bin ./$(BIN) $(ARGS)

# Runs mtr-go's live view and mtr's side by side on a clean 6-hop lab path at -i 0.2, each on a
# pseudo-terminal of its own, and prints their CPU time (mtr's with mtr-packet). Needs root and
# mtr (apt-get install mtr-tiny). ARGS as for "mtr-go-lab cpu -h", e.g. ARGS="-runs 5 -6".
cpu: build
	./$(LAB) cpu -bin ./$(BIN) $(ARGS)

# Runs mtr-go's report and then mtr's on a clean 6-hop lab path while capturing the client's
# packets, and prints each program's per-hop Avg next to the capture's for its own probes. Needs
# root and mtr. ARGS as for "mtr-go-lab rtt -h", e.g. ARGS="-6" or ARGS="-u -c 100".
rtt: build
	./$(LAB) rtt -bin ./$(BIN) $(ARGS)

# Traces N = 10, 100, 1000 addresses of one lab destination at once behind 10 kernel routers at
# -i 1: one mtr-go process for all N, then N mtr processes (where the machine copes, forecast
# from the smaller N), and prints probes/s, the loss reported on that clean path (must be 0), CPU
# per 1,000 probes and RSS side by side. Needs root and mtr. ARGS as for "mtr-go-lab scale -h",
# e.g. ARGS="-n 10 -c 30 -6".
scale: build
	./$(LAB) scale -bin ./$(BIN) $(ARGS)

clean:
	rm -rf bin
