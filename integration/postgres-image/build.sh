#!/usr/bin/env bash
# Build an offline PostgreSQL image for the integration tests, without any
# container registry: debootstrap a minimal Debian rootfs with the distro's
# PostgreSQL server from the apt mirror this machine already uses, then
# `docker import` it.
#
# Usage: build.sh [IMAGE_TAG]        (default: mcpsession-postgres:local)
#
# Optional environment overrides (normally read from the apt sources):
#   PG_IMAGE_MIRROR    Debian mirror URI
#   PG_IMAGE_SUITE     Debian suite (e.g. the one of this host)
#   PG_IMAGE_KEYRING   keyring used by debootstrap to verify the Release file
#   PG_IMAGE_KEEP_JIT  set to 1 to keep the LLVM JIT provider (~120 MB larger)
#   PG_IMAGE_EXTRA_PACKAGES  comma-separated Debian packages to add, e.g.
#                      pgbouncer,patroni,etcd-server,haproxy for the
#                      production-Postgres tests (see README.md)
#   TMPDIR             where the temporary rootfs is built (default /var/tmp)
set -euo pipefail

TAG="${1:-mcpsession-postgres:local}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENTRYPOINT_SRC="$HERE/docker-entrypoint.sh"
START_TS=$(date +%s)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs it)"
[ -r "$ENTRYPOINT_SRC" ] || die "missing $ENTRYPOINT_SRC"
command -v docker >/dev/null || die "docker CLI not found"
docker info >/dev/null 2>&1 || die "cannot talk to the docker engine"

# --- debootstrap ------------------------------------------------------------
if ! command -v debootstrap >/dev/null 2>&1; then
	log "installing debootstrap"
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
fi
command -v debootstrap >/dev/null || die "debootstrap still not available"

# --- mirror / suite / keyring from the apt sources -------------------------
# Prints "URI<TAB>SUITE<TAB>KEYRING" for the first usable deb822 stanza:
# Types contains deb, Components contains main, and a suite that is not a
# -security/-updates/-backports/-proposed-updates pocket.
parse_deb822() {
	awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && enabled !~ /^(no|false)$/ && uri != "") {
				n = split(suites, s, " ")
				for (i = 1; i <= n; i++) {
					if (s[i] !~ /-(security|updates|backports|proposed-updates)$/ && s[i] !~ /\//) {
						printf "%s\t%s\t%s\n", uri, s[i], keyring
						found = 1
						exit
					}
				}
			}
			types = comps = suites = uri = keyring = enabled = ""; field = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ { next }   # continuation line (e.g. inline Signed-By key block)
		{
			line = $0
			field = tolower(substr(line, 1, index(line, ":") - 1))
			val = substr(line, index(line, ":") + 1)
			gsub(/^[ \t]+|[ \t]+$/, "", val)
			gsub(/[ \t]+/, " ", val)
			if (field == "types") types = val
			else if (field == "uris") { split(val, u, " "); uri = u[1] }
			else if (field == "suites") suites = val
			else if (field == "components") comps = val
			else if (field == "enabled") enabled = tolower(val)
			else if (field == "signed-by") { if (val ~ /^\//) keyring = val }
		}
		END { if (!found) flush() }
	' "$@"
}

# Same for one-line "deb [opts] URI SUITE COMPONENTS..." sources.
parse_oneline() {
	awk '
		/^[ \t]*deb[ \t]/ {
			line = $0
			sub(/#.*/, "", line)
			sub(/^[ \t]*deb[ \t]+/, "", line)
			keyring = ""
			if (line ~ /^\[/) {
				opts = substr(line, 2, index(line, "]") - 2)
				line = substr(line, index(line, "]") + 1)
				n = split(opts, o, /[ \t]+/)
				for (i = 1; i <= n; i++)
					if (tolower(o[i]) ~ /^signed-by=/) { keyring = substr(o[i], 11) }
			}
			n = split(line, f, /[ \t]+/)
			j = 0
			for (i = 1; i <= n; i++) if (f[i] != "") g[++j] = f[i]
			if (j < 3) next
			if (g[2] ~ /-(security|updates|backports|proposed-updates)$/ || g[2] ~ /\//) next
			main = 0
			for (i = 3; i <= j; i++) if (g[i] == "main") main = 1
			if (!main) next
			printf "%s\t%s\t%s\n", g[1], g[2], keyring
			exit
		}
	' "$@"
}

found=""
shopt -s nullglob
deb822_files=(/etc/apt/sources.list.d/*.sources)
oneline_files=()
[ -f /etc/apt/sources.list ] && oneline_files+=(/etc/apt/sources.list)
oneline_files+=(/etc/apt/sources.list.d/*.list)
shopt -u nullglob
for f in "${deb822_files[@]}"; do
	found="$(parse_deb822 "$f")" && [ -n "$found" ] && break
done
if [ -z "$found" ]; then
	for f in "${oneline_files[@]}"; do
		found="$(parse_oneline "$f")" && [ -n "$found" ] && break
	done
fi
IFS=$'\t' read -r src_mirror src_suite src_keyring <<<"${found:-}" || true

MIRROR="${PG_IMAGE_MIRROR:-${src_mirror:-}}"
SUITE="${PG_IMAGE_SUITE:-${src_suite:-}}"
KEYRING="${PG_IMAGE_KEYRING:-${src_keyring:-}}"
MIRROR="${MIRROR%/}"
[ -n "$MIRROR" ] || die "could not find a Debian mirror (main component) in the apt sources; set PG_IMAGE_MIRROR"
[ -n "$SUITE" ] || die "could not find a Debian suite in the apt sources; set PG_IMAGE_SUITE"
keyring_args=()
if [ -n "$KEYRING" ]; then
	[ -r "$KEYRING" ] || die "keyring $KEYRING (Signed-By) is not readable"
	keyring_args=(--keyring="$KEYRING")
fi
log "mirror: $MIRROR  suite: $SUITE  keyring: ${KEYRING:-debootstrap default}"

# --- temp dir + cleanup -----------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/mcpsession-pgimage.XXXXXX")"
ROOTFS="$WORK/rootfs"
TMP_TAG=""
cleanup() {
	local rc=$?
	set +e
	# Unmount anything debootstrap may have left mounted inside the rootfs
	# (deepest first) before deleting, so rm can never reach host /dev or /proc.
	if [ -d "$WORK" ]; then
		awk -v p="$WORK/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null; done
		rm -rf --one-file-system "$WORK"
	fi
	[ -n "$TMP_TAG" ] && docker image rm "$TMP_TAG" >/dev/null 2>&1
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- debootstrap the rootfs ------------------------------------------------
# postgresql: server metapackage for the suite (bookworm: PostgreSQL 15).
# The entrypoint also needs bash, util-linux (setpriv), coreutils, findutils,
# gzip: all Priority required, so part of minbase already.
log "debootstrap --variant=minbase $SUITE (this downloads ~60 MB of packages)"
include=postgresql
if [ -n "${PG_IMAGE_EXTRA_PACKAGES:-}" ]; then
	include="$include,$PG_IMAGE_EXTRA_PACKAGES"
	log "extra packages: $PG_IMAGE_EXTRA_PACKAGES"
fi
debootstrap --variant=minbase --include="$include" \
	"${keyring_args[@]}" "$SUITE" "$ROOTFS" "$MIRROR"

PG_MAJOR="$(find "$ROOTFS/usr/lib/postgresql" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n1)"
[ -n "$PG_MAJOR" ] && [ -x "$ROOTFS/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ] ||
	die "postgres server binary not found in the rootfs"
log "PostgreSQL major version: $PG_MAJOR"

# --- configure the rootfs --------------------------------------------------
# Drop the cluster the Debian package creates on install; the entrypoint
# initialises $PGDATA instead (like the official image).
rm -rf "$ROOTFS/etc/postgresql/$PG_MAJOR" "$ROOTFS/var/lib/postgresql/$PG_MAJOR"
if [ -f "$ROOTFS/etc/postgresql-common/createcluster.conf" ]; then
	sed -ri 's/^#?\s*(create_main_cluster)\s*=.*/\1 = false/' "$ROOTFS/etc/postgresql-common/createcluster.conf"
fi
install -d -m 0755 "$ROOTFS/docker-entrypoint-initdb.d"
chroot "$ROOTFS" install -d -o postgres -g postgres -m 3777 /var/run/postgresql
chroot "$ROOTFS" install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data
install -m 0755 "$ENTRYPOINT_SRC" "$ROOTFS/usr/local/bin/docker-entrypoint.sh"

# --- slim it down ------------------------------------------------------------
if [ "${PG_IMAGE_KEEP_JIT:-0}" != 1 ]; then
	# Without llvmjit.so PostgreSQL just disables JIT ("jit = on" is harmless);
	# this drops libLLVM (~110 MB), which nothing else uses, and
	rm -rf "$ROOTFS/usr/lib/postgresql/$PG_MAJOR/lib/llvmjit.so" \
		"$ROOTFS/usr/lib/postgresql/$PG_MAJOR/lib/llvmjit_types.bc" \
		"$ROOTFS/usr/lib/postgresql/$PG_MAJOR/lib/bitcode"
	# libLLVM and its only user-specific dependency libz3 (~23 MB).
	rm -f "$ROOTFS"/usr/lib/*-linux-gnu/libLLVM-*.so* "$ROOTFS"/usr/lib/*-linux-gnu/libLLVM.so* \
		"$ROOTFS"/usr/lib/*-linux-gnu/libz3.so*
fi
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/cache/debconf/*-old \
	"$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
	"$ROOTFS"/usr/share/locale/* "$ROOTFS"/usr/share/lintian "$ROOTFS"/usr/share/linda \
	"$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* "$ROOTFS"/var/lib/dpkg/*-old \
	"$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
find "$ROOTFS/usr" -name '__pycache__' -type d -prune -exec rm -rf {} + 2>/dev/null || true
# Docker provides these at run time; do not ship the build host's copies.
rm -f "$ROOTFS/etc/resolv.conf" "$ROOTFS/etc/hostname" "$ROOTFS/etc/hosts"
: >"$ROOTFS/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOTFS/etc/hosts"
# The image never talks to apt again; keep no mirror address in it.
rm -f "$ROOTFS/etc/apt/sources.list"
rm -f "$ROOTFS"/etc/apt/sources.list.d/*
# Sanity check inside the chroot.
chroot "$ROOTFS" "/usr/lib/postgresql/$PG_MAJOR/bin/postgres" --version >&2

# --- import into docker -------------------------------------------------------
log "packing rootfs"
tar --numeric-owner --xattrs -C "$ROOTFS" \
	--exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
	-cf "$WORK/rootfs.tar" .
rm -rf --one-file-system "$ROOTFS"

OLD_ID="$(docker image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)"
changes=(
	--change 'ENTRYPOINT ["docker-entrypoint.sh"]'
	--change 'CMD ["postgres"]'
	--change "ENV PATH=/usr/lib/postgresql/$PG_MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	--change "ENV PG_MAJOR=$PG_MAJOR"
	--change 'ENV PGDATA=/var/lib/postgresql/data'
	--change 'ENV LANG=C.UTF-8'
	--change 'EXPOSE 5432'
)
log "docker import -> $TAG"
if ! err="$(docker import "${changes[@]}" --change 'STOPSIGNAL SIGINT' "$WORK/rootfs.tar" "$TAG" 2>&1 >/dev/null)"; then
	case "$err" in
	*"not a valid change command"*)
		# Older engines (e.g. 20.10) reject STOPSIGNAL in --change: import
		# without it, then add it with a metadata-only build from the local
		# image (no registry access involved).
		log "engine does not accept STOPSIGNAL in docker import; adding it with a local build step"
		TMP_TAG="mcpsession-postgres-import-tmp:$$"
		docker import "${changes[@]}" "$WORK/rootfs.tar" "$TMP_TAG" >/dev/null
		mkdir -p "$WORK/ctx"
		printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$TMP_TAG" >"$WORK/ctx/Dockerfile"
		if ! DOCKER_BUILDKIT=0 docker build -q -t "$TAG" "$WORK/ctx" >/dev/null 2>"$WORK/build.err" &&
			! DOCKER_BUILDKIT=1 docker build -q -t "$TAG" "$WORK/ctx" >/dev/null 2>>"$WORK/build.err"; then
			cat "$WORK/build.err" >&2
			die "could not set STOPSIGNAL on the imported image"
		fi
		;;
	*)
		printf '%s\n' "$err" >&2
		die "docker import failed"
		;;
	esac
fi

NEW_ID="$(docker image inspect --format '{{.Id}}' "$TAG")"
[ "$(docker image inspect --format '{{.Config.StopSignal}}' "$TAG")" = SIGINT ] || die "STOPSIGNAL was not set"
# Re-running replaces the tag; drop the previous, now untagged, image.
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$NEW_ID" ]; then
	docker image rm "$OLD_ID" >/dev/null 2>&1 || true
fi

SIZE_BYTES="$(docker image inspect --format '{{.Size}}' "$TAG")"
SIZE_MB="$(awk -v b="$SIZE_BYTES" 'BEGIN { printf "%.1f", b / 1000 / 1000 }')"
ELAPSED=$(($(date +%s) - START_TS))
echo "Built image $TAG (PostgreSQL $PG_MAJOR, $SIZE_MB MB, ${ELAPSED}s)"
