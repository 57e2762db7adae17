# Sourced by tidy.sh and check.sh with the release proxy's directory as $1:
# the go command then resolves modules as a consumer's does, with this
# repository's modules at their unpublished release version from the
# proxy (the Makefile's "release" section says why each is needed).
[ -d "${1:-}" ] || { echo "release: no proxy directory ${1:-} (make modproxy writes it)" >&2; exit 2; }
GOPROXY="file://$(cd "$1" && pwd),$(go env GOPROXY)"
export GOPROXY GOWORK=off GONOSUMDB=github.com/mcpsession/mcpsession
