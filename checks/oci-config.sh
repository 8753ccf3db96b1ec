#!/bin/sh
# Checks an OCI image built by nix/oci.nix (a docker-archive tarball, as
# dockerTools.buildLayeredImage writes): it runs nara as uid 65534, exposes 8080,
# logs JSON, carries revision and version labels, has a healthcheck through
# `nara healthcheck`, and no shell. POSIX sh, tar and jq.
#
#   checks/oci-config.sh IMAGE.tar[.gz]
set -eu

say() { printf 'oci-config: %s\n' "$*" >&2; }
fail() {
	say "FAIL: $*"
	exit 1
}

[ $# -eq 1 ] || fail "usage: checks/oci-config.sh IMAGE.tar[.gz]"
image=$1
[ -f "$image" ] || fail "$image does not exist"
command -v jq >/dev/null 2>&1 || fail "jq is not installed"

work=$(mktemp -d "${TMPDIR:-/tmp}/nara-oci.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xf "$image" -C "$work" || fail "$image is not a tar archive"
[ -f "$work/manifest.json" ] || fail "$image has no manifest.json (not a docker-archive image)"
config_name=$(jq -r '.[0].Config' "$work/manifest.json")
config="$work/$config_name"
[ -f "$config" ] || fail "the manifest names config $config_name, which the archive lacks"

expect() {
	jq -e "$2" "$config" >/dev/null 2>&1 || fail "$1 (jq: $2)"
	say "ok: $1"
}

expect "runs as uid/gid 65534" '.config.User == "65534:65534"'
expect "entrypoint is nara" '.config.Entrypoint | length == 1 and (.[0] | endswith("/bin/nara"))'
expect "exposes 8080/tcp" '.config.ExposedPorts | has("8080/tcp")'
expect "listens on :8080" '.config.Env | index("NARA_HTTP_ADDR=:8080") != null'
expect "logs JSON" '.config.Env | index("NARA_LOG_FORMAT=json") != null'
expect "healthcheck runs nara healthcheck" '.config.Healthcheck.Test == ["CMD", .config.Entrypoint[0], "healthcheck"]'
for label in revision version; do
	expect "label org.opencontainers.image.$label is set" ".config.Labels[\"org.opencontainers.image.$label\"] | type == \"string\" and length > 0"
done

for layer in $(jq -r '.[0].Layers[]' "$work/manifest.json"); do
	if tar -tf "$work/$layer" | grep -Eq '(^|/)bin/(sh|bash|dash|busybox)$'; then
		fail "layer $layer contains a shell; the image should carry none"
	fi
done
say "ok: no shell in any layer"
say "all checks passed"
