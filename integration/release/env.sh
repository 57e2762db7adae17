# Sourced by tidy.sh and check.sh with the release proxy's directory as $1:
# the go command then resolves modules as a consumer's does, with this
# repository's modules at their unpublished release version from the
# proxy:
#
#   GOWORK=off    the module alone, as a consumer sees it, not the workspace;
#   GOPROXY=file://<proxy>,<the machine's GOPROXY>
#                 the repository's modules from that proxy, everything else
#                 from wherever the machine gets modules (read at run time);
#   GONOSUMDB=github.com/mcpsession/mcpsession
#                 the checksum database has never seen the repository's
#                 modules at an unpublished version; not GOPRIVATE, which
#                 would also bypass the proxy and go to the VCS host.
#
# go.sum files keep no lines for the repository's own modules (tidy.sh
# writes and checks them so).
#
# The proxy serves one version whose content changes with the working
# tree, and a module cache keeps what it once extracted of a version for
# good; so these commands get a module cache of their own, one per proxy
# directory, under the user's cache directory (not in the repository, where
# ./... and gofmt would find it), from which this repository's modules are
# removed first. Every
# other module comes from the machine's module cache when it is there
# (its download directory is a proxy too), or from the machine's GOPROXY.
# The go command also keeps an index of each module version's packages in
# its build cache, on the same assumption that a version never changes;
# goindex=0 turns that index off, or a package added since the last proxy
# (a new internal/ directory) is "not provided" by the module that has it.
[ -d "${1:-}" ] || { echo "release: no proxy directory ${1:-} (make modproxy writes it)" >&2; exit 2; }
_proxy="$(cd "$1" && pwd)"
_shared="$(go env GOMODCACHE)/cache/download"
GOPROXY="file://$_proxy,file://$_shared,$(go env GOPROXY)"
GOMODCACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mcpsession-release/$(printf %s "$_proxy" | cksum | cut -d" " -f1)"
GOFLAGS="$(go env GOFLAGS) -modcacherw"
GODEBUG="${GODEBUG:+$GODEBUG,}goindex=0"
export GOPROXY GOMODCACHE GOFLAGS GODEBUG GOWORK=off GONOSUMDB=github.com/mcpsession/mcpsession
rm -rf "$GOMODCACHE/github.com/mcpsession" "$GOMODCACHE/cache/download/github.com/mcpsession"
unset _proxy _shared
