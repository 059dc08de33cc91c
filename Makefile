# REM: Red Eye Monitor.  Plain make; flags come from pkg-config.
# make [all] | check | sanitize | bench | demo | install | clean

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SHAREDIR ?= $(PREFIX)/share/rem
DESTDIR ?=

PKGS = yaml-0.1 librrd libcurl tdb libbsd-overlay libmd
CC ?= cc
CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Ilib $(PKG_CFLAGS) \
	-DREM_SHAREDIR='"$(SHAREDIR)"'
LDLIBS += $(PKG_LIBS) -ldl -lm
# Link only what a command uses (Debian's gcc does so already; others may
# not).  librrd and libcurl are not linked at all: with them some seventy
# libraries load at every command's start, some forty milliseconds; lib/dl.c
# loads them when a command first calls them.
override LDFLAGS += -Wl,--as-needed

# Asking pkg-config fails before contrib/deps has run: the deps target runs
# first in every build, so only evaluate when it is there.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(filter-out librrd libcurl,$(PKGS)) 2>/dev/null)
DL_LIBS = $(shell pkg-config --libs librrd libcurl 2>/dev/null)

CMDS = $(patsubst cmd/%.c,%,$(wildcard cmd/*.c))
BINS = $(addprefix bin/,$(CMDS))
LIBSRC = $(wildcard lib/*.c)
LIBOBJ = $(LIBSRC:.c=.o)
UNITS = $(patsubst t/unit/%.c,t/unit/%,$(wildcard t/unit/*.c))
MANS = $(wildcard man/*.[157])

all: deps $(BINS)

deps:
	@contrib/deps

lib/librem.a: $(LIBOBJ)
	$(AR) rcs $@ $(LIBOBJ)

lib/%.o: lib/%.c lib/rem.h
	$(CC) $(CFLAGS) -c -o $@ $<

bin/%: cmd/%.c lib/librem.a lib/rem.h
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $< lib/librem.a $(LDFLAGS) $(LDLIBS)

# unit tests may call librrd and libcurl themselves: linked in
t/unit/%: t/unit/%.c lib/librem.a lib/rem.h
	$(CC) $(CFLAGS) -o $@ $< lib/librem.a $(LDFLAGS) $(LDLIBS) $(DL_LIBS)

# The bats files that make machines (processes, namespaces, daemons), and
# the rest, which only use trees of their own: the two groups run side by
# side, sharing nothing (machines take host-wide addresses under a lock,
# daemons listen on sockets and ports of their own); the second group's
# output is shown after the first's.
MACH_BATS = t/rem-collect.bats t/rem-fw.bats t/rem-mv.bats t/rem-pkg.bats t/rem-render.bats t/rem-sched-machines.bats \
	t/rem-svc.bats t/megavisors.bats t/examples.bats $(wildcard t/megavisor/*.bats)
TREE_BATS = $(filter-out $(MACH_BATS),$(wildcard t/*.bats))
# $(call side_by_side,ENV,FIRST,SECOND,TAPFILE)
side_by_side = $(1) bats $(3) </dev/null >$(4) 2>&1 & second=$$!; \
	$(1) bats $(2) </dev/null; first=$$?; \
	wait $$second; rc=$$?; echo "\# and beside it: $(3)"; cat $(4); \
	test $$first = 0 && test $$rc = 0

# check: unit tests, man page lint, then every bats file with the fresh
# binaries first on PATH and no terminal on standard input.
check: all $(UNITS)
	@set -e; for u in $(UNITS); do echo "# $$u"; ./$$u; done
	@$(MAKE) -s lint
	@echo "# bats $(MACH_BATS)"
	@$(call side_by_side,PATH="$(CURDIR)/bin:$$PATH" REM_SHARE="$(CURDIR)/share",$(MACH_BATS),$(TREE_BATS),t/.tree.tap)
	@$(MAKE) -s sanitize

lint:
	@mandoc -Tlint -Wwarning $(MANS)
	@echo "# man pages: mandoc -Tlint clean"

# sanitize: the same unit and bats tests against an ASan+UBSan build in
# build-san/, so a memory error anywhere in the commands fails the run.
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE -Wall -Wextra -Ilib $(PKG_CFLAGS)
SANLIBS = -fsanitize=address,undefined $(LDLIBS)
SAN_OBJ = $(patsubst lib/%.c,build-san/lib/%.o,$(LIBSRC))
SAN_BINS = $(addprefix build-san/,$(BINS))
SAN_UNITS = $(addprefix build-san/,$(UNITS))
# The sanitized pass runs every bats file but those that mostly test shell
# scripts and daemons (the shipped megavisors, the example services): the C
# they reach is exercised by the other files, and they are the slowest.
SAN_BATS = $(filter-out t/megavisors.bats t/examples.bats,$(wildcard t/*.bats))

build-san/lib/%.o: lib/%.c lib/rem.h
	@mkdir -p build-san/lib
	$(CC) $(SANFLAGS) -c -o $@ $<
build-san/lib/librem.a: $(SAN_OBJ)
	$(AR) rcs $@ $(SAN_OBJ)
build-san/bin/%: cmd/%.c build-san/lib/librem.a
	@mkdir -p build-san/bin
	$(CC) $(SANFLAGS) -o $@ $< build-san/lib/librem.a $(SANLIBS)
build-san/t/unit/%: t/unit/%.c build-san/lib/librem.a
	@mkdir -p build-san/t/unit
	$(CC) $(SANFLAGS) -o $@ $< build-san/lib/librem.a $(SANLIBS) $(DL_LIBS)

# Sanitized commands run some 1.4 times slower; side by side as check's.
# The sanitized pass leaves the megavisors and examples out, so the files
# that make machines are the lighter side there: the scheduler's tests
# (daemons and clocks, mostly waiting) go with them.
SAN_MACH = $(filter $(MACH_BATS) t/rem-sched.bats,$(SAN_BATS))
SAN_TREE = $(filter-out $(SAN_MACH),$(SAN_BATS))
SAN_ENV = PATH="$(CURDIR)/build-san/bin:$$PATH" REM_SHARE="$(CURDIR)/share" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1

sanitize: deps $(SAN_BINS) $(SAN_UNITS)
	@set -e; for u in $(SAN_UNITS); do echo "# sanitize $$u"; $$u; done
	@echo "# sanitize: bats $(SAN_MACH)"
	@$(call side_by_side,$(SAN_ENV),$(SAN_MACH),$(SAN_TREE),build-san/tree.tap)

bench: all
	@PATH="$(CURDIR)/bin:$$PATH" REM_BENCH_CC="$(CC) $(CFLAGS)" \
		REM_BENCH_LIBS="$(CURDIR)/lib/librem.a $(LDFLAGS) $(LDLIBS) $(DL_LIBS)" sh t/bench/run

demo: all
	@PATH="$(CURDIR)/bin:$$PATH" REM_SHARE="$(CURDIR)/share" sh share/examples/demo.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(SHAREDIR)
	install -m0755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m0644 man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m0644 man/*.5 $(DESTDIR)$(MANDIR)/man5
	install -m0644 man/*.7 $(DESTDIR)$(MANDIR)/man7
	cp -R share/. $(DESTDIR)$(SHAREDIR)
	install -d $(DESTDIR)$(SHAREDIR)/templates
	install -m0644 templates/*.conf $(DESTDIR)$(SHAREDIR)/templates

clean:
	rm -rf bin build-san lib/*.o lib/librem.a $(UNITS) t/bench/tmp t/.tree.tap

.PHONY: all deps check lint sanitize bench demo install clean
.SECONDARY: $(LIBOBJ) $(SAN_OBJ)
