# shellcheck shell=bash
# Sourced by scripts that need Debian packages (bootstrap, bench): one way to find what
# is missing, install it as root, or name it and stop otherwise.

# ensure_debian_packages WHO PROBE:PACKAGE...: PROBE is a command, or an absolute path
# for packages that install no command. Installs the packages whose probe is missing;
# sets DEBIAN_INSTALLED to what it installed. WHO prefixes every message.
ensure_debian_packages() {
	local who=$1 pair probe
	shift
	local missing=()
	for pair in "$@"; do
		probe=${pair%%:*}
		if [[ $probe == /* ]]; then
			[ -e "$probe" ] || missing+=("${pair#*:}")
		else
			command -v "$probe" >/dev/null 2>&1 || missing+=("${pair#*:}")
		fi
	done
	# shellcheck disable=SC2034 # read by the scripts that source this one
	DEBIAN_INSTALLED=("${missing[@]}")
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		printf '%s: missing Debian packages: %s; install them (apt-get install %s) and run again\n' \
			"$who" "${missing[*]}" "${missing[*]}" >&2
		exit 1
	fi
	printf '%s: installing Debian packages: %s\n' "$who" "${missing[*]}" >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
