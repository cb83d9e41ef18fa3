# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# Helpers shared by scripts/setup, scripts/services, scripts/test and
# scripts/run.  Sourced, never executed: it only defines functions and a few
# variables, so each script stays readable on its own.

# The repository root, whatever directory the script was started from.
TANDEM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian's interpreter, never the slow pyenv shim that may come first on PATH.
PY=/usr/bin/python3

# The script's own name, used as the prefix of every message it prints.
PROG="$(basename "$0")"

info() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
error() { printf '%s: error: %s\n' "$PROG" "$*" >&2; }
die()
{
	error "$@"
	exit 1
}

# as_root CMD...: run CMD with root rights; sudo is used (and announced) only
# when the caller is not root, so CI, which runs as root, never needs it.
as_root()
{
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		info "not root: running with sudo: $*"
		sudo "$@"
	else
		die "this step needs root and sudo is not installed: $*"
	fi
}

# now_s: seconds since the epoch with a fractional part, for step timings.
now_s() { date +%s.%N; }

# elapsed START: seconds since START, one decimal.
elapsed() { awk -v s="$1" -v e="$(now_s)" 'BEGIN { printf "%.1f", e - s }'; }
