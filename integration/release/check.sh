#!/usr/bin/env bash
# check.sh PROXY_DIR VERSION README MODULE...: the release check. It builds, in a
# temporary directory outside the repository, a consumer module as a user
# writes one, against the repository's modules at VERSION as the release
# proxy serves them (`make modproxy`, env.sh):
#
#   - `go get` the library and every MODULE (the adapters and the test kit)
#     at VERSION, then `go mod tidy`;
#   - the README's Quick start and its mcp-go and go-sdk wiring, cut from
#     README after their `<!-- release-check: NAME -->` markers, built and
#     vetted as a real program (consumer/main.go.tmpl), whose main runs
#     the two wirings on sqlite::memory:;
#   - a test that uses the test kit, run (consumer/kit_test.go.tmpl);
#   - the program's own build (tests aside) holds no Docker package: the
#     kit's dependencies stay in the tests that import it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh" "$1"
version="$2" readme="$3"
shift 3
root=github.com/mcpsession/mcpsession

dir="$(mktemp -d "${TMPDIR:-/tmp}/mcpsession-consumer.XXXXXX")"
trap 'rm -rf "$dir"' EXIT

# snippet NAME: the go block that follows README's marker for NAME.
snippet() {
	awk -v name="$1" '
		index($0, "<!-- release-check: " name " ") == 1 { want = 1; next }
		want && /^```go/ { inside = 1; next }
		inside && /^```/ { exit }
		inside { print "\t" $0 }
	' "$readme"
}

for name in quickstart mcpgo gosdk; do
	[ -n "$(snippet "$name")" ] || { echo "release check: no go block after <!-- release-check: $name --> in $readme" >&2; exit 1; }
done

# ENVIRON, not awk -v, which would read backslashes in the code as escapes.
QUICKSTART="$(snippet quickstart)" MCPGO="$(snippet mcpgo)" GOSDK="$(snippet gosdk)" awk '
	/^\t\/\/README:quickstart$/ { print ENVIRON["QUICKSTART"]; next }
	/^\t\/\/README:mcpgo$/ { print ENVIRON["MCPGO"]; next }
	/^\t\/\/README:gosdk$/ { print ENVIRON["GOSDK"]; next }
	{ print }
' "$here/consumer/main.go.tmpl" >"$dir/main.go"
cp "$here/consumer/kit_test.go.tmpl" "$dir/kit_test.go"

cd "$dir"
go mod init example.com/consumer >/dev/null 2>&1
mods=("$root@$version")
for m in "$@"; do mods+=("$root/$m@$version"); done
echo "==> go get ${mods[*]}"
quiet() { "$@" >"$dir/log" 2>&1 || { cat "$dir/log" >&2; exit 1; }; }
quiet go get "${mods[@]}"
quiet go mod tidy
echo "==> go vet, go build, go test (the README's snippets and the test kit)"
go vet ./...
go build -o consumer .
./consumer
go test -count=1 ./...

if docker="$(go list -deps . | grep -E 'testcontainers|moby/moby|docker')"; then
	echo "release check: the program's build holds Docker packages:" >&2
	echo "$docker" >&2
	exit 1
fi
echo "==> the consumer's build holds no Docker package; its go.mod requires:"
go list -m -f '{{if not .Indirect}}{{if not .Main}}  {{.Path}} {{.Version}}{{end}}{{end}}' all
