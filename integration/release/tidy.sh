#!/usr/bin/env bash
# tidy.sh check|write PROXY_DIR: `go mod tidy` for the module in the
# current directory, as a consumer's go command sees it, through the
# release proxy that `make modproxy` writes (env.sh).
#
# The go.sum lines of this repository's own modules are the one thing left
# out: they hash the working tree of the moment, so they would go stale at
# every commit of the module they name, and nothing reads them (the
# workspace serves those modules, and a consumer never reads a
# dependency's go.sum). `write` removes them after tidying; `check` runs
# `go mod tidy -diff` and fails on any other difference, or when tidy
# itself fails.
set -euo pipefail
mode="${1:-}"
. "$(dirname "${BASH_SOURCE[0]}")/env.sh" "${2:-}"

own='github\.com/mcpsession/mcpsession(/[^ ]+)? v[^ ]+(/go\.mod)? h1:'

case "$mode" in
write)
	go mod tidy
	if [ -f go.sum ]; then
		grep -Ev "^$own" go.sum >go.sum.tmp || true
		mv go.sum.tmp go.sum
	fi
	;;
check)
	if [ -f go.sum ] && grep -Eq "^$own" go.sum; then
		echo "go.sum holds lines of this repository's own modules, which go stale at every commit (make tidy removes them):" >&2
		grep -E "^$own" go.sum >&2
		exit 1
	fi
	rc=0
	out="$(go mod tidy -diff 2>&1)" || rc=$?
	[ "$rc" = 0 ] && exit 0
	if ! grep -q '^diff current/' <<<"$out"; then
		printf '%s\n' "$out" >&2 # tidy failed, rather than found a difference
		exit "$rc"
	fi
	if changes="$(grep -E '^[-+]' <<<"$out" | grep -Ev '^(\+\+\+|---) ' | grep -Ev "^[-+]$own")"; then
		printf '%s\n' "$out" >&2
		printf 'go mod tidy would change the lines above (make tidy does it):\n%s\n' "$changes" >&2
		exit 1
	fi
	;;
*)
	echo "usage: tidy.sh check|write PROXY_DIR" >&2
	exit 2
	;;
esac
