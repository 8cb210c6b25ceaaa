# lib.sh - shared by the tests in tests/docs/: counters, checks, packages.
# Sourced; expects $src (the source tree).

pass=0
fail=0

# ok WHAT COMMAND...: one check
ok() {
	local what=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $what"
		fail=$((fail + 1))
	fi
}

# has FILE STRING: FILE contains STRING (fixed string)
has() { grep -qF -- "$2" "$1"; }

# want_pkg CMD PKG: make CMD available, installing Debian package PKG
# (as root, with scripts/need-pkgs.sh) when it is missing. 0 when CMD is
# there afterwards.
want_pkg() {
	command -v "$1" >/dev/null 2>&1 && return 0
	if [ "$(id -u)" = 0 ] && [ -x "$src/scripts/need-pkgs.sh" ]; then
		"$src/scripts/need-pkgs.sh" "$2" >&2 || true
	fi
	command -v "$1" >/dev/null 2>&1
}

# the closing line ctest and CI read
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" = 0 ]
}
