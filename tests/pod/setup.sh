#!/bin/bash
# Prepare this machine for the pod test and for building the images with
# podman: write a containers.conf that works on hosts without systemd and
# with hybrid cgroups, and make the Debian bookworm base image that both
# Containerfiles start FROM, with debootstrap --variant=minbase (cached:
# done once).  podman, runc and debootstrap are Debian packages of dev's
# DEPS_POD: `./dev deps pod` installs them (`./dev test-pod` does).
#
# Usage: tests/pod/setup.sh            (as root)
#        tests/pod/setup.sh --conf-only   (the containers.conf alone)
# Then:  export CONTAINERS_CONF=$(tests/pod/setup.sh --print-conf)
#
# Environment:
#   VISITS_POD_STATE  state directory (default /var/tmp/visits-pod)
#   BASE_IMAGE        name of the base image (default: the FROM of the
#                     Containerfiles, docker.io/library/debian:bookworm-slim)
#
# The Debian mirror is the one this machine's apt uses (its sources in
# /etc/apt/sources.list and /etc/apt/sources.list.d/), for debootstrap
# and for the image's own sources.list: whatever reaches Debian here
# reaches it from the image's build too.
set -eu

state=${VISITS_POD_STATE:-/var/tmp/visits-pod}
conf=$state/containers.conf
base=${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}

if [ "${1-}" = --print-conf ]; then
	echo "$conf"
	exit 0
fi

log() { echo "# setup: $*" >&2; }

# apt_uri PATTERN: the URI of the first enabled binary ("deb") source of
# this machine's apt with a suite that matches the extended regular
# expression PATTERN, in either format: one-line (sources.list, *.list)
# or deb822 (*.sources, a paragraph of Types, URIs, Suites, Enabled).
apt_uri() {
	local f files=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	    /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && files+=("$f")
	done
	[ ${#files[@]} -gt 0 ] || return 0
	awk -v want="$1" '
	function paragraph(    n, i, s) {
		if (!found && uri != "" && types ~ /(^| )deb( |$)/ &&
		    enabled != "no") {
			n = split(suites, s, " ")
			for (i = 1; i <= n; i++)
				if (s[i] ~ want) {
					print uri
					found = 1
				}
		}
		types = uri = suites = enabled = ""
	}
	FNR == 1 { paragraph() }
	found || /^[ \t]*#/ { next }
	FILENAME !~ /\.sources$/ {
		sub(/\[[^]]*\]/, "")
		if ($1 == "deb" && $3 ~ want) {
			print $2
			found = 1
		}
		next
	}
	/^[ \t]*$/ { paragraph(); next }
	{
		key = tolower($1)
		$1 = ""
		sub(/^ +/, "")
		if (key == "types:") types = $0
		else if (key == "uris:") { uri = $0; sub(/ .*/, "", uri) }
		else if (key == "suites:") suites = $0
		else if (key == "enabled:") enabled = tolower($0)
	}
	END { paragraph() }' "${files[@]}"
}

missing=
for cmd in podman runc debootstrap conmon catatonit curl; do
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] ||
	    [ -x "/usr/libexec/podman/$cmd" ] || missing="$missing $cmd"
done
if [ -n "$missing" ]; then
	log "not installed:$missing (./dev deps pod installs them)"
	exit 1
fi

mkdir -p "$state"
# The container limits must not exceed this shell's hard limits, or runc
# refuses to start the container.
hard=$(ulimit -Hn)
case $hard in unlimited) hard=1048576 ;; esac
[ "$hard" -gt 65536 ] && hard=65536
cat >"$conf.tmp" <<CONF
# Written by tests/pod/setup.sh; use with CONTAINERS_CONF=$conf
[containers]
default_ulimits = ["nofile=$hard:$hard", "nproc=16384:16384"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
mv "$conf.tmp" "$conf"
export CONTAINERS_CONF="$conf"
[ "${1-}" = --conf-only ] && exit 0

if podman image exists "$base"; then
	log "base image $base present"
	exit 0
fi

mirror=$(apt_uri '^[a-z]+$')
security=$(apt_uri '^[a-z]+-security$')
if [ -z "$mirror" ]; then
	log "no Debian source in this machine's apt sources" \
	    "(/etc/apt/sources.list, /etc/apt/sources.list.d/): add one"
	exit 1
fi
log "making $base with debootstrap --variant=minbase bookworm from $mirror"
root=$(mktemp -d "$state/rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$state/debootstrap.log" 2>&1 || {
	tail -20 "$state/debootstrap.log" >&2
	exit 1
}
# Like Debian's own slim images: no documentation, manual pages or
# translations in later installs; no package caches.
cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
SLIM
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'CLEAN'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT::Install-Recommends "false";
CLEAN
{
	echo "deb $mirror bookworm main"
	echo "deb $mirror bookworm-updates main"
	[ -z "$security" ] || echo "deb $security bookworm-security main"
} >"$root/etc/apt/sources.list"
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/locale/"* \
    "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
    "$root/var/lib/apt/lists/"* "$root/var/log/"*.log "$root/var/log/apt/"* \
    "$root/tmp/"* 2>/dev/null || true
: >"$root/etc/machine-id"
tar -C "$root" --numeric-owner -cf - . |
    podman import -q --change 'CMD ["/bin/bash"]' \
	--change 'LABEL org.opencontainers.image.description="Debian bookworm minbase made by tests/pod/setup.sh with debootstrap"' \
	- "$base" >/dev/null
log "imported $base ($(podman image inspect -f '{{.Size}}' "$base") bytes)"
