# kmap top-level Makefile: a thin wrapper around CMake.
#
#   make                 deps + configure and build build/ (RelWithDebInfo)
#   make test            build/ + ctest, then ASan+UBSan (build-asan/), then TSan (build-tsan/)
#   make test-normal | test-asan | test-tsan   one stage only
#   make demo            ./build/kmap demo
#   make qemu TRACE=FILE the trace replayed by kmap's own kernel under qemu
#                        (i386, or ARMv7 for the ARM profiles)
#   make install [PREFIX=/usr/local] [DESTDIR=...]
#   make install-m32 [PREFIX=/usr/local] [DESTDIR=...]   the 32-bit library, in PREFIX/lib32
#   make clean
#
# CMAKE_ARGS=... is passed to every configure step.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all

TOP    := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
NPROC  := $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE_ARGS ?=
CTEST_JOBS ?= 2

DEPS_PKGS := cmake gcc make pkg-config libcmocka-dev

# Keep the outer make's flags (-j jobserver, -k, ...) away from the make that
# `cmake --build` runs.
CMAKE_BUILD := env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL cmake --build
CTEST := ctest --output-on-failure --no-tests=error -j$(CTEST_JOBS)

ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# $(call configure_build,DIR,BUILD_TYPE,EXTRA_CMAKE_ARGS)
define configure_build
cmake -S "$(TOP)" -B "$(TOP)/$(1)" -DCMAKE_BUILD_TYPE=$(2) \
	-DKMAP_WERROR=ON -DKMAP_BUILD_TESTS=ON $(3) $(CMAKE_ARGS)
$(CMAKE_BUILD) "$(TOP)/$(1)" -j$(NPROC)
endef

define stage_normal
@echo "== tests: normal =="
cd "$(TOP)/build" && $(CTEST)
endef

define stage_asan
@echo "== tests: asan (address+undefined) =="
$(call configure_build,build-asan,Debug,-DKMAP_SANITIZE=address)
cd "$(TOP)/build-asan" && env $(ASAN_ENV) $(CTEST)
endef

# TSan from GCC 12 can die with "unexpected memory mapping" under high ASLR
# entropy; run it with ASLR off when setarch is there and allowed to do that.
define stage_tsan
@echo "== tests: tsan =="
$(call configure_build,build-tsan,RelWithDebInfo,-DKMAP_SANITIZE=thread)
cd "$(TOP)/build-tsan" && \
	norand=(); \
	if command -v setarch >/dev/null 2>&1 && setarch "$$(uname -m)" -R true >/dev/null 2>&1; then \
		norand=(setarch "$$(uname -m)" -R); \
	fi; \
	env $(TSAN_ENV) "$${norand[@]}" $(CTEST)
endef

# The 32-bit build (build32/): the library, CLI and tests with -m32.
DEPS32_PKGS := gcc-multilib libcmocka-dev:i386

define build_m32
@"$(TOP)/scripts/need-pkgs.sh" $(DEPS32_PKGS)
$(call configure_build,build32,RelWithDebInfo,-DKMAP_M32=ON)
endef

# Where the kernel cannot run 32-bit programs (no IA32 emulation), the
# 32-bit build is still made, so it must compile, but its tests cannot run:
# the stage says so instead of failing.
define stage_m32
@echo "== tests: 32-bit (-m32) =="
$(build_m32)
if "$(TOP)/scripts/runs-32bit.sh"; then \
	cd "$(TOP)/build32" && $(CTEST); \
else \
	echo "== 32-bit programs cannot run on this machine (its kernel has no IA32 emulation):"; \
	echo "== build32/ was built; its tests were not run"; \
fi
endef

.PHONY: all deps build test test-normal test-asan test-tsan test-m32 m32 demo bench fuzz soak kernel kernel-arm qemu install install-m32 clean

all: deps
	$(call configure_build,build,RelWithDebInfo,-DKMAP_SANITIZE=)

deps:
	@"$(TOP)/scripts/need-pkgs.sh" $(DEPS_PKGS)

build: all

# One recipe, so the stages run in order and stop at the first failure even
# under make -j.
test: all
	$(stage_normal)
	$(stage_asan)
	$(stage_tsan)
	$(stage_m32)

m32: deps
	$(build_m32)

test-m32: deps
	$(stage_m32)

test-normal: all
	$(stage_normal)

test-asan: deps
	$(stage_asan)

test-tsan: deps
	$(stage_tsan)

# The main job: a 32-bit process works on more memory than it can address.
# Where 32-bit programs cannot run, the same demo runs 64-bit (and says so).
demo: all
	$(build_m32)
	if "$(TOP)/scripts/runs-32bit.sh"; then \
		"$(TOP)/build32/kmap" demo; \
	else \
		echo "kmap demo: 32-bit programs cannot run on this machine (its kernel has no"; \
		echo "IA32 emulation); running the 64-bit build's demo instead"; \
		"$(TOP)/build/kmap" demo; \
	fi

# libFuzzer targets (clang), each run for FUZZ_SECONDS, new inputs kept in
# build-fuzz/corpus-*; the checked-in corpora in fuzz/corpus are the seeds.
# Each target's output is kept in build-fuzz/fuzz_NAME.log; the last lines
# say how many runs a second each made (libFuzzer's "Done N runs in S s").
FUZZ_SECONDS ?= 60
fuzz: deps
	@"$(TOP)/scripts/need-pkgs.sh" clang
	$(call configure_build,build-fuzz,RelWithDebInfo,-DCMAKE_C_COMPILER=clang -DKMAP_SANITIZE=address -DKMAP_FUZZ=ON)
	for t in replay api; do \
		mkdir -p "$(TOP)/build-fuzz/corpus-$$t"; \
		"$(TOP)/build-fuzz/fuzz_$$t" -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 "$(TOP)/build-fuzz/corpus-$$t" \
			"$(TOP)/fuzz/corpus/$$t" 2>&1 | tee "$(TOP)/build-fuzz/fuzz_$$t.log"; \
	done
	@for t in replay api; do \
		awk -v t=$$t '/^Done [0-9]+ runs in [0-9]+ second/ { \
			printf "fuzz_%s: %d runs in %d s: %d runs a second\n", t, $$2, $$5, \
			       $$5 ? $$2 / $$5 : $$2; found = 1 } \
			END { if (!found) { print "fuzz_" t ": no run count in its log"; exit 1 } }' \
			"$(TOP)/build-fuzz/fuzz_$$t.log"; \
	done

# The long stress: every variant of test_stress (threads x windows x
# colours x policies) for SOAK_MS each, under ASan+UBSan and under TSan.
SOAK_MS ?= 120000
soak: all
	$(call configure_build,build-asan,Debug,-DKMAP_SANITIZE=address)
	$(call configure_build,build-tsan,RelWithDebInfo,-DKMAP_SANITIZE=thread)
	env $(ASAN_ENV) KMAP_STRESS_MS=$(SOAK_MS) "$(TOP)/build-asan/test_stress"
	norand=(); \
	if command -v setarch >/dev/null 2>&1 && setarch "$$(uname -m)" -R true >/dev/null 2>&1; then \
		norand=(setarch "$$(uname -m)" -R); \
	fi; \
	env $(TSAN_ENV) KMAP_STRESS_MS=$(SOAK_MS) "$${norand[@]}" "$(TOP)/build-tsan/test_stress"

# kmap against the alternatives, on real memory (bench/README.md)
bench: all
	"$(TOP)/build/kmap" bench

# kmap's own kernels (kernel/, built into build-bare/): i386 (gcc -m32)
# and ARMv7-A (clang and ld.lld: gcc-arm-linux-gnueabihf cannot be
# installed beside gcc-multilib on Debian 12). `make qemu TRACE=FILE`
# replays the trace on real page tables under qemu, the machine chosen by
# the trace's profile (arm* under qemu-system-arm -M virt, the others under
# qemu-system-i386): the boot log, then the same JSON lines as
# `kmap replay --json TRACE`; exits with its status.
# QEMU_APPEND=check=0 turns off the invariant check after every line,
# QEMU_APPEND=tlb=noflush skips every TLB flush.
BARE := $(TOP)/build-bare
QEMU_APPEND ?=
TRACE_ARCH = $(shell sed -e 's/\#.*//' "$(TRACE)" 2>/dev/null | \
	awk '$$1 == "machine" { print ($$2 ~ /^arm/) ? "arm" : "x86"; exit } NF { exit }')
kernel:
	@"$(TOP)/scripts/need-pkgs.sh" gcc gcc-multilib make
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(MAKE) -C "$(TOP)/kernel" O="$(BARE)"

kernel-arm:
	@"$(TOP)/scripts/need-pkgs.sh" clang lld make
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(MAKE) -C "$(TOP)/kernel" O="$(BARE)" ARCH=arm

qemu:
	@if [ -z "$(TRACE)" ]; then echo "usage: make qemu TRACE=FILE" >&2; exit 2; fi
	@if [ "$(TRACE_ARCH)" = arm ]; then \
		$(MAKE) --no-print-directory kernel-arm; \
		command -v qemu-system-arm >/dev/null 2>&1 || \
			"$(TOP)/scripts/need-pkgs.sh" qemu-system-arm; \
	else \
		$(MAKE) --no-print-directory kernel; \
		command -v qemu-system-i386 >/dev/null 2>&1 || \
			command -v qemu-system-x86_64 >/dev/null 2>&1 || \
			"$(TOP)/scripts/need-pkgs.sh" qemu-system-x86; \
	fi
	"$(TOP)/kernel/run-qemu.sh" --append "$(QEMU_APPEND)" "$(BARE)" "$(TRACE)"

install: all
	DESTDIR="$(DESTDIR)" cmake --install "$(TOP)/build" --prefix "$(PREFIX)"

# The 32-bit library for 32-bit programs (the host backend's main users):
# libkmap.a, libkmap.so and kmap.pc in PREFIX/lib32, beside the 64-bit
# ones, and the header. Build with
#   cc -m32 prog.c $(PKG_CONFIG_PATH=PREFIX/lib32/pkgconfig pkg-config --cflags --libs kmap)
install-m32: deps
	@"$(TOP)/scripts/need-pkgs.sh" $(DEPS32_PKGS)
	$(call configure_build,build32,RelWithDebInfo,-DKMAP_M32=ON -DCMAKE_INSTALL_LIBDIR=lib32)
	DESTDIR="$(DESTDIR)" cmake --install "$(TOP)/build32" --prefix "$(PREFIX)" --component library
	DESTDIR="$(DESTDIR)" cmake --install "$(TOP)/build32" --prefix "$(PREFIX)" --component dev

clean:
	rm -rf "$(TOP)/build" "$(TOP)/build-asan" "$(TOP)/build-tsan" "$(TOP)/build32" "$(TOP)/build-fuzz" \
		"$(TOP)/build-bare"
