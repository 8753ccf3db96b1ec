#!/bin/sh
# Checks an OCI image built by nix/oci.nix (a docker-archive tarball, as
# dockerTools.buildLayeredImage writes): it runs nara as uid 65534, exposes 8080,
# logs JSON, carries revision and version labels, has a healthcheck through
# `nara healthcheck`, looks host names up in /etc/hosts before DNS, and has no shell.
# POSIX sh, GNU tar, awk and jq.
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

layers=$(jq -r '.[0].Layers[]' "$work/manifest.json")
for layer in $layers; do
	if tar -tf "$work/$layer" | grep -Eq '(^|/)bin/(sh|bash|dash|busybox)$'; then
		fail "layer $layer contains a shell; the image should carry none"
	fi
done
say "ok: no shell in any layer"

# The text of the file at $1 (from the image's root, no leading slash) as a container
# sees it: the topmost layer's entry wins, and a symlink (a layered image's files are
# symlinks into the store paths of other layers) is followed through the layers.
image_file() {
	path=$1
	hops=0
	while [ "$hops" -lt 16 ]; do
		hops=$((hops + 1))
		entry=
		for layer in $layers; do
			# GNU tar's listing: mode, owner, size, date, time, name[, ->, target].
			found=$(tar -tvf "$work/$layer" | awk -v p="$path" '$6 == p || $6 == "./" p { print $1, $6, $8 }' | tail -n 1)
			[ -n "$found" ] && entry="$layer $found"
		done
		[ -n "$entry" ] || return 1
		read -r in_layer mode name target <<-EOF
			$entry
		EOF
		case $mode in
		l*)
			case $target in
			/*) path=${target#/} ;;
			*) path=$(dirname "$path")/$target ;;
			esac
			;;
		-*)
			tar -xOf "$work/$in_layer" "$name"
			return
			;;
		*) return 1 ;;
		esac
	done
	return 1
}

# Without the file, glibc looks host names up in DNS first, and a name DNS does not
# know never reaches /etc/hosts (docker run --add-host, Kubernetes hostAliases).
nsswitch=$(image_file etc/nsswitch.conf) || fail "the image has no /etc/nsswitch.conf, so glibc asks DNS before /etc/hosts"
hosts=$(printf '%s\n' "$nsswitch" | awk '$1 == "hosts:" { $1 = ""; sub(/^ /, ""); print; exit }')
# files first, dns after it; NSS stops at the first source that knows the name.
case " $hosts " in
" files "*" dns "* | " files dns "*) say "ok: /etc/nsswitch.conf looks host names up in files, then dns ($hosts)" ;;
*) fail "/etc/nsswitch.conf must look host names up in files, then dns; its hosts line is: ${hosts:-(none)}" ;;
esac
say "all checks passed"
