# fedledger — a plain Makefile.
#
#   make            all binaries into build/bin/
#   make deps       install missing Debian packages (quiet when all are there)
#   make test       deps + build + lint + unit tests + binary tests + short fuzz runs
#   make asan       unit tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       every libFuzzer target for FUZZ_TIME seconds (default 30)
#   make demo       deps + build + the most complete thing the project can do
#   make bench      build + every fedledger-bench suite (docs/benchmarks.md)
#   make sim        the consensus simulation over SEEDS seeds (default 100000)
#   make lint       cppcheck;  make format: clang-format -i;  make clean
#
# Layout: each module folder (core/, chain/, genesis/, …) becomes one static
# library from all its .c files except *_main.c; a program is one *_main.c
# linked against the libraries. Tests: every folder tests/<module>/ becomes one
# Criterion binary build/tests/test_<module>; tests/fuzz/fuzz_<name>.c are
# libFuzzer targets.

BUILD   ?= build
CC      ?= gcc
OPT     ?= -O2
SAN     ?=

# Packages found through pkg-config. Evaluated lazily (=) so that flags are
# read after `make deps` has installed them.
PKGS     = libsecp256k1 lmdb libuv libsodium libcrypto openblas jansson libcurl libzstd zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser -lpthread -lm

WARN     = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla -Wformat=2
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) -g $(WARN) -I. $(PKG_CFLAGS) $(SAN) $(CFLAGS)
LDFLAGS_ALL = $(SAN) $(LDFLAGS)

# Modules from the top of the dependency graph down: the static link order
# (tools/ first: fedledger-testnet writes node configs with node/config.h).
MODULES  = tools node wallet genesis chain p2p fl core
LIBS     = $(foreach m,$(MODULES),$(if $(call lib_srcs,$(m)),$(BUILD)/lib/lib$(m).a))
lib_srcs = $(filter-out %_main.c,$(wildcard $(1)/*.c))

# Programs: binary name -> its main file.
PROGRAMS = fedledger-genesis fedledger-sim fedledger-bench
PROGRAMS += fedledgerd fedledger-testnet fedledger-wallet
fedledger-genesis_MAIN = genesis/genesis_main.c
fedledger-sim_MAIN     = tools/sim_main.c
fedledger-bench_MAIN   = tools/bench_main.c
fedledgerd_MAIN        = node/fedledgerd_main.c
fedledger-testnet_MAIN = tools/testnet_main.c
fedledger-wallet_MAIN  = tools/wallet_main.c

BINS     = $(addprefix $(BUILD)/bin/,$(PROGRAMS))

TEST_MODULES = $(filter-out fuzz net web support,$(notdir $(patsubst %/,%,$(dir $(wildcard tests/*/*.c)))))
TEST_MODULES := $(sort $(TEST_MODULES))
TEST_SUPPORT = $(wildcard tests/support/*.c)
TEST_BINS = $(addprefix $(BUILD)/tests/test_,$(TEST_MODULES))

FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TIME ?= 30

.PHONY: all deps test unit-tests run-tests net-test asan fuzz fuzz-build lint format demo bench clean sim
.DELETE_ON_ERROR:

all: $(BINS)

deps:
	@sh tools/deps.sh

# ---------------------------------------------------------------- objects

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

define lib_rule
$(BUILD)/lib/lib$(1).a: $(call obj,$(call lib_srcs,$(1)))
	@mkdir -p $$(dir $$@)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(if $(call lib_srcs,$(m)),$(eval $(call lib_rule,$(m)))))

define prog_rule
$(BUILD)/bin/$(1): $(call obj,$($(1)_MAIN)) $(LIBS)
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS_ALL) -o $$@ $$< $(LIBS) $$(PKG_LIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call prog_rule,$(p))))

define test_rule
$(BUILD)/tests/test_$(1): $(call obj,$(wildcard tests/$(1)/*.c) $(TEST_SUPPORT)) $(LIBS)
	@mkdir -p $$(dir $$@)
	$(CC) $(LDFLAGS_ALL) -o $$@ $(call obj,$(wildcard tests/$(1)/*.c) $(TEST_SUPPORT)) $(LIBS) $$(PKG_LIBS) -lcriterion
endef
$(foreach t,$(TEST_MODULES),$(eval $(call test_rule,$(t))))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ------------------------------------------------------------------ tests

unit-tests: $(TEST_BINS) $(BINS)

run-tests: unit-tests
	@FEDLEDGER_BIN=$(BUILD)/bin sh tests/run.sh $(TEST_BINS)

test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all unit-tests
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory run-tests
	@$(MAKE) --no-print-directory net-test
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory fuzz FUZZ_TIME=$${FUZZ_TIME:-5}

# Real fedledgerd testnets on 127.0.0.1, perturbed (tests/net/faults.sh), and
# running federated rounds on Fashion-MNIST (tests/net/rounds.sh).
net-test: $(BINS)
	@FEDLEDGER_BIN=$(BUILD)/bin sh tests/net/faults.sh
	@FEDLEDGER_BIN=$(BUILD)/bin sh tests/net/rounds.sh

# The consensus simulation over SEEDS seeds (tests/node/test_cons_sim.c).
SEEDS ?= 100000
sim: $(BUILD)/tests/test_node
	FEDLEDGER_SIM_SEEDS=$(SEEDS) $(BUILD)/tests/test_node --filter 'cons_sim/seeds'

# Unit tests again, built with both sanitizers in their own tree.
asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT=-O1 \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		run-tests

# ------------------------------------------------------------------- fuzz

FUZZ_CC     = clang
FUZZ_FLAGS  = -std=c11 -D_GNU_SOURCE -O1 -g -I. $(PKG_CFLAGS) -DFL_FUZZING \
	      -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LIBSRC = $(foreach m,$(MODULES),$(call lib_srcs,$(m)))
FUZZ_OBJS   = $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_LIBSRC))

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -MMD -MP -c $< -o $@

build/fuzz/bin/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -o $@ $(PKG_LIBS)

# Objects reached only through the pattern rule above are intermediates that
# make would delete after each link, recompiling everything on every run.
.SECONDARY: $(FUZZ_OBJS)

fuzz-build: $(addprefix build/fuzz/bin/,$(FUZZ_TARGETS))

# Each target starts from its checked-in seeds (tests/fuzz/corpus/NAME) and
# grows a working corpus under build/ so the seeds stay as reviewed.
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus/$$t; \
		seeds=tests/fuzz/corpus/$$t; [ -d $$seeds ] || seeds=; \
		echo "fuzz: $$t for $(FUZZ_TIME)s"; \
		build/fuzz/bin/$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=0 \
			build/fuzz/corpus/$$t $$seeds >build/fuzz/$$t.log 2>&1 \
			|| { tail -40 build/fuzz/$$t.log; echo "fuzz: $$t FAILED"; exit 1; }; \
		grep -E '^(#[0-9]+|Done)' build/fuzz/$$t.log | tail -1; \
	done

-include $(shell find build/fuzz/obj -name '*.d' 2>/dev/null)

# ------------------------------------------------------------ lint/format

SRC_DIRS = core chain p2p fl node wallet genesis tools tests
# Tests are checked by running them (under ASan too); cppcheck cannot expand
# Criterion's registration macros without its headers, so it reads the modules.
LINT_DIRS = core chain p2p fl node wallet genesis tools

lint:
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--std=c11 --inline-suppr -I. -D__GNUC__ -DFL_MUST_CHECK= \
		--suppress=missingIncludeSystem \
		$(foreach d,$(LINT_DIRS),$(wildcard $(d)/*.c $(d)/*/*.c))
	@echo "lint: cppcheck clean"

format:
	clang-format -i $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.[ch] $(d)/*/*.[ch]))

# ------------------------------------------------------------------- demo

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh

# ------------------------------------------------------------------ bench

bench: $(BUILD)/bin/fedledger-bench
	$(BUILD)/bin/fedledger-bench

clean:
	rm -rf build
