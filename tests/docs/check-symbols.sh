#!/usr/bin/env bash
# The library's global names: libkmap.a defines no global symbol without
# the km_ prefix (internal ones are km__, so a program that links kmap and
# has its own page_address() or kmap_high() still links), and libkmap.so
# exports only the public km_ functions (no km__ internal).
#
#   check-symbols.sh LIBKMAP_A LIBKMAP_SO SRCDIR
set -u
liba=$(realpath "$1")
libso=$(realpath "$2")
src=$(realpath "$3")
. "$src/tests/docs/lib.sh"
if ! command -v nm >/dev/null 2>&1; then
	want_pkg nm binutils || { echo "FAIL: no nm to list the symbols"; exit 1; }
fi

# the defined globals of an archive, but those a sanitizer build adds
# (__odr_asan.NAME, __asan_*, ...)
globals() {
	nm -g --defined-only "$1" | awk 'NF == 3 && $3 !~ /^__(odr_asan|asan|ubsan|tsan|sancov)/ { print $3 }'
}

# static archive: every defined global (text, data, bss, read-only) is km_
bad=$(globals "$liba" | grep -v '^km_' | sort -u)
ok "libkmap.a defines only km_ globals${bad:+ (not: $(echo $bad))}" test -z "$bad"
n=$(globals "$liba" | wc -l)
ok "libkmap.a defines globals at all ($n)" test "$n" -gt 0

# shared library: the dynamic symbols are the public API, nothing internal
nm -D --defined-only "$libso" | awk 'NF == 3 { print $3 }' |
	grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' | sort -u > /tmp/kmap-syms.$$
bad=$(grep -v '^km_[a-z0-9]' /tmp/kmap-syms.$$ | tr '\n' ' ')
ok "libkmap.so exports only public km_ names${bad:+ (not: $bad)}" test -z "$bad"
inner=$(grep '^km__' /tmp/kmap-syms.$$ | tr '\n' ' ')
ok "libkmap.so hides the km__ internals${inner:+ (exported: $inner)}" test -z "$inner"
rm -f /tmp/kmap-syms.$$

# and the check itself can fail: a stray global is caught
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int page_address(void) { return 0; }\n' > "$tmp/stray.c"
if cc -c -o "$tmp/stray.o" "$tmp/stray.c" 2>/dev/null; then
	cp "$liba" "$tmp/lib.a" && ar r "$tmp/lib.a" "$tmp/stray.o" 2>/dev/null
	caught=$(globals "$tmp/lib.a" | grep -v '^km_')
	ok "a stray global is caught (page_address)" test "$caught" = page_address
fi
finish
