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
#   DEBIAN_MIRROR     mirror for debootstrap (default http://deb.debian.org/debian)
set -eu

state=${VISITS_POD_STATE:-/var/tmp/visits-pod}
conf=$state/containers.conf
base=${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ "${1-}" = --print-conf ]; then
	echo "$conf"
	exit 0
fi

log() { echo "# setup: $*" >&2; }

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

log "making $base with debootstrap --variant=minbase bookworm"
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
cat >"$root/etc/apt/sources.list" <<LIST
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
LIST
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
