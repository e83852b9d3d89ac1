# mrprof — one Makefile for the runtime (mrun), the toolkit (mrprof) and the tests.
#
#   make            build build/mrun and build/mrprof
#   make deps       install the Debian packages that are missing (apt-get; sudo when not root)
#   make demo       deps + build, profile a sample and print a report
#   make test       deps + build, then the whole suite (plain, ASan+UBSan, valgrind)
#   make bench      deps + build, then the benchmarks under tests/bench/
#   make check      the unit and end-to-end tests under ASan+UBSan only
#   make flaky      deps + builds, then the suite ROUNDS times (default 10) under CPU load (LOAD
#                   busy loops, default one per core), with the failure rate of each test that
#                   failed; narrow it with ONLY=pattern and SUITES="plain asan tsan valgrind"
#   make fmt / fmt-check   clang-format the C sources (`make test` runs fmt-check and arrows first)
#   make arrows     check that #includes run only down the layers (tools/arrows.sh)
#   make fuzz       build the libFuzzer targets (tests/fuzz/fuzz_*.c, clang, ASan+UBSan) into
#                   build/fuzz/ and run each for FUZZ_SECONDS (default 60); crashes are saved
#                   under build/fuzz/crashes/
#   make install    mrun, mrprof and the docs under $(DESTDIR)$(PREFIX) (default /usr/local)
#
# Variables: BUILD (output folder), SAN=1 (ASan+UBSan build), SAN=thread (ThreadSanitizer
# build, for the Deferred tests), SAN=fuzz (clang's libFuzzer instrumentation with ASan+UBSan,
# for the fuzz targets; use with CC=clang), WERROR= (drop -Werror).

BUILD   ?= build
CC      ?= cc
WERROR  ?= -Werror
SAN     ?=
# Parallel jobs for the builds `make test` runs (the machine's cores).
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)

MRUBY_DEFS := $(filter -D%,$(shell mruby-config --cflags 2>/dev/null))
PKGS       := libuv ncursesw libprotobuf-c zlib oniguruma openssl

CFLAGS_COMMON = -std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wno-unused-parameter $(WERROR) \
        $(MRUBY_DEFS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -I. -I$(BUILD)/gen

ifeq ($(SAN),1)
OPT     = -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SAN),fuzz)
OPT     = -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(SAN),thread)
OPT     = -O1 -fsanitize=thread -fno-omit-frame-pointer
# runtime/tsan_syscall.c: libuv's syscall(SYS_close) made visible to TSan
LDFLAGS += -Wl,--export-dynamic-symbol=syscall -ldl
else
OPT     = -O2
endif

CFLAGS  += $(CFLAGS_COMMON) $(OPT)
LDFLAGS += $(OPT)
LIBS     = /usr/lib/libmruby.a $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread -lrt
# The profiler sees every object allocation (and knows when the GC is about to run) by
# wrapping mruby's allocator entry point, and names frames at method lookups; see
# profiler/sampler/memhook.c.
WRAP     = -Wl,--wrap=mrb_obj_alloc -Wl,--wrap=mrb_method_search_vm

# --- sources ---------------------------------------------------------------------------------
# The profile model and the formats know nothing of mruby; the toolkit links only these.
MODEL_SRC   := $(wildcard profiler/base/*.c profiler/model/*.c formats/*.c)
# Everything that embeds mruby and libuv.
RT_SRC      := $(filter-out runtime/main.c,$(wildcard runtime/*.c runtime/*/*.c)) \
               $(wildcard net/*.c profiler/sampler/*.c)
VIEWER_SRC  := $(wildcard viewer/*/*.c)
PRELUDE_RB  := runtime/prelude/kernel.rb runtime/prelude/event_emitter.rb \
               runtime/prelude/timers.rb $(sort $(filter-out runtime/prelude/kernel.rb \
               runtime/prelude/event_emitter.rb runtime/prelude/timers.rb, \
               $(wildcard runtime/prelude/*.rb)))
# Loaded into every VM, the main one and each Deferred worker's (rt_vm_init): no loop, no rt.
VM_PRELUDE_RB := $(sort $(wildcard runtime/prelude/vm/*.rb))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
MODEL_OBJ   := $(call obj,$(MODEL_SRC)) $(BUILD)/obj/gen/profile.pb-c.o
RT_OBJ      := $(call obj,$(RT_SRC)) $(BUILD)/obj/gen/prelude.o $(BUILD)/obj/gen/vm_prelude.o
VIEWER_OBJ  := $(call obj,$(VIEWER_SRC))
TEST_SRC    := $(wildcard tests/unit/test_*.c)
TEST_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))

.PHONY: all deps demo test check flaky bench clean fmt fmt-check unit-tests fuzz fuzz-targets fuzz-bins install arrows
all: $(BUILD)/mrun $(if $(VIEWER_SRC),$(BUILD)/mrprof)

$(BUILD)/gen/prelude.c: $(PRELUDE_RB)
	@mkdir -p $(dir $@)
	@echo "  MRBC    $@"
	@mrbc -g -Bmrun_prelude -o $@ $(PRELUDE_RB)

$(BUILD)/gen/vm_prelude.c: $(VM_PRELUDE_RB)
	@mkdir -p $(dir $@)
	@echo "  MRBC    $@"
	@mrbc -g -Bmrun_vm_prelude -o $@ $(VM_PRELUDE_RB)

$(BUILD)/obj/gen/prelude.o: $(BUILD)/gen/prelude.c
	@mkdir -p $(dir $@)
	@$(CC) $(filter-out -Wmissing-prototypes,$(CFLAGS)) -c $< -o $@

$(BUILD)/obj/gen/vm_prelude.o: $(BUILD)/gen/vm_prelude.c
	@mkdir -p $(dir $@)
	@$(CC) $(filter-out -Wmissing-prototypes,$(CFLAGS)) -c $< -o $@

# pprof's schema (formats/proto/profile.proto) compiled by Debian's protoc-c.
$(BUILD)/gen/profile.pb-c.c: formats/proto/profile.proto
	@mkdir -p $(dir $@)
	@echo "  PROTOC  $<"
	@protoc-c --c_out=$(BUILD)/gen --proto_path=formats/proto profile.proto

$(BUILD)/gen/profile.pb-c.h: $(BUILD)/gen/profile.pb-c.c

$(BUILD)/obj/gen/profile.pb-c.o: $(BUILD)/gen/profile.pb-c.c
	@mkdir -p $(dir $@)
	@$(CC) $(filter-out -Wmissing-prototypes -Wshadow,$(CFLAGS)) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(BUILD)/gen/prelude.c $(BUILD)/gen/profile.pb-c.h
	@mkdir -p $(dir $@)
	@echo "  CC      $<$(if $(SAN), (sanitizers),)"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Objects are linked directly (no archives): libmruby.a calls back into memhook.o through the
# --wrap, a reference an archive scanned earlier on the command line would not satisfy.
$(BUILD)/mrun: $(BUILD)/obj/runtime/main.o $(RT_OBJ) $(MODEL_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) $(WRAP) -o $@ $^ $(LIBS)

$(BUILD)/mrprof: $(VIEWER_OBJ) $(MODEL_OBJ)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Unit tests: one Criterion binary per module, linked against its own layer only (and the layers
# below it), so a wrong arrow (a model file calling into formats/, a format calling the viewer)
# fails to link. A test not listed below links everything but the mains.
BASE_OBJ      := $(call obj,$(wildcard profiler/base/*.c))
CORE_OBJ      := $(call obj,$(wildcard profiler/base/*.c profiler/model/*.c))
VIEWERLIB_OBJ := $(filter-out $(BUILD)/obj/viewer/cli/main.o,$(VIEWER_OBJ))
LIBS_NOVM      = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread -lrt
TESTS_BASE    := test_hash
TESTS_MODEL   := test_profile test_compare test_stats
TESTS_FORMATS := test_process test_formats test_json test_threads test_trace test_hostile test_live
TESTS_VIEWER  := test_difftree test_tv
TESTS_HTTP    := test_http_parser
TESTS_WS      := test_ws
test_link = $(if $(filter $(1),$(TESTS_HTTP)),$(BUILD)/obj/net/http_parser.o,\
            $(if $(filter $(1),$(TESTS_WS)),$(BUILD)/obj/net/ws.o,\
            $(if $(filter $(1),$(TESTS_BASE)),$(BASE_OBJ) $(LIBS_NOVM),\
            $(if $(filter $(1),$(TESTS_MODEL)),$(CORE_OBJ) $(LIBS_NOVM),\
            $(if $(filter $(1),$(TESTS_FORMATS)),$(MODEL_OBJ) $(LIBS_NOVM),\
            $(if $(filter $(1),$(TESTS_VIEWER)),$(VIEWERLIB_OBJ) $(MODEL_OBJ) $(LIBS),\
            $(WRAP) $(RT_OBJ) $(MODEL_OBJ) $(VIEWERLIB_OBJ) $(LIBS)))))))

$(BUILD)/tests/%: tests/unit/%.c $(RT_OBJ) $(MODEL_OBJ) $(VIEWER_OBJ)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(call test_link,$*) -lcriterion

unit-tests: $(TEST_BIN)

# The #include arrows between the layers (tools/arrows.sh lists the rules).
arrows:
	@sh tools/arrows.sh

# Fuzz targets: one binary per tests/fuzz/fuzz_*.c (any new file is picked up), linked like the
# unit tests against everything but the mains, with libFuzzer's main. Build them through
# `make fuzz-targets` (it sets BUILD, SAN and CC).
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN    := $(patsubst tests/fuzz/%.c,$(BUILD)/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(RT_OBJ) $(MODEL_OBJ) $(VIEWER_OBJ)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@$(CC) $(CFLAGS) -Wno-missing-prototypes -fsanitize=fuzzer $(WRAP) -o $@ $< $(RT_OBJ) $(MODEL_OBJ) \
	    $(filter-out $(BUILD)/obj/viewer/cli/main.o,$(VIEWER_OBJ)) $(LIBS)

fuzz-bins: $(FUZZ_BIN)

fuzz-targets:
	@$(MAKE) --no-print-directory BUILD=build/fuzz SAN=fuzz CC=clang fuzz-bins

fuzz: deps fuzz-targets
	@FUZZ_MODE=long FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

# Benchmark helpers (tests/bench/*.c that use the model; sigfloor.c stands alone).
$(BUILD)/bench/bigprofile: tests/bench/bigprofile.c $(MODEL_OBJ)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(MODEL_OBJ) $(LIBS)

deps:
	@sh tools/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh

# The whole suite: the plain build, then the same tests under ASan+UBSan, then valgrind.
test: deps
	@$(MAKE) --no-print-directory fmt-check arrows
	@$(MAKE) --no-print-directory -j$(JOBS) test-builds
	@sh tests/run.sh

# The four builds the suite needs, in one make: they share its JOBS job slots, so the steps of
# one build that run alone (its preludes before any compile, its last links) overlap with the
# compiles of another instead of leaving cores idle between four makes run one after the other.
.PHONY: test-builds test-build-plain test-build-asan test-build-tsan test-build-fuzz
test-builds: test-build-plain test-build-asan test-build-tsan test-build-fuzz
test-build-plain:
	@$(MAKE) --no-print-directory all unit-tests
test-build-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all unit-tests
test-build-tsan:
	@$(MAKE) --no-print-directory BUILD=build/tsan SAN=thread build/tsan/mrun
test-build-fuzz:
	@$(MAKE) --no-print-directory fuzz-targets

check: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all unit-tests
	@MRPROF_SUITES="asan" sh tests/run.sh

# The flaky hunt: the suites again and again under load (tests/run.sh, FLAKY_ROUNDS).
ROUNDS ?= 10
SUITES ?= plain asan tsan valgrind
flaky: deps
	@$(MAKE) --no-print-directory all unit-tests
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all unit-tests
	@$(MAKE) --no-print-directory BUILD=build/tsan SAN=thread build/tsan/mrun
	@FLAKY_ROUNDS="$(ROUNDS)" MRPROF_SUITES="$(SUITES)" ONLY="$(ONLY)" \
		$(if $(LOAD),FLAKY_LOAD="$(LOAD)") sh tests/run.sh

$(BUILD)/bench/echoload: tests/bench/echoload.c
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS) -Wno-missing-prototypes -o $@ $< $(LIBS)

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/bench/bigprofile $(BUILD)/bench/echoload
	@sh tests/bench/run.sh

# Two builds side by side: callgrind instruction counts, then alternated seconds (no deps step).
.PHONY: bench-compare
bench-compare:
	@$(MAKE) --no-print-directory all $(BUILD)/bench/bigprofile
	@bash tests/bench/compare_builds.sh "$(OLD)" "$(or $(NEW),$(BUILD))"

clean:
	rm -rf build

# make install [PREFIX=/usr/local] [DESTDIR=]: mrun and mrprof into $(DESTDIR)$(PREFIX)/bin (mrprof
# runs the mrun beside it), the README and docs into share/doc/mrprof. Builds first if needed.
PREFIX  ?= /usr/local
DOCS     = README.md $(wildcard docs/*.md)
install: all
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/doc/mrprof"
	install -m 755 $(BUILD)/mrun $(BUILD)/mrprof "$(DESTDIR)$(PREFIX)/bin/"
	install -m 644 $(DOCS) "$(DESTDIR)$(PREFIX)/share/doc/mrprof/"

C_FILES = $(wildcard runtime/*.[ch] runtime/*/*.[ch] net/*.[ch] profiler/*/*.[ch] \
          formats/*.[ch] viewer/*/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch])
fmt:
	clang-format -i $(C_FILES)
fmt-check:
	@clang-format --dry-run --Werror $(C_FILES) || \
		{ echo "make fmt-check: the C sources are not clang-formatted (run make fmt)" >&2; exit 1; }
	@echo "  FMT     $(words $(C_FILES)) files clang-formatted"

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
