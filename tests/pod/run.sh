#!/bin/bash
# tests/pod/run.sh: the images.  Builds fcgi/Containerfile and
# nginx/Containerfile with podman, as the README's walkthrough does, and
# checks what only the images show:
#   every FROM is Debian bookworm, scratch or an earlier stage, and each
#   image is FROM scratch at run time; the size the README gives (within
#   10 %); every file one that runs (the programs, busybox and its applets,
#   the shared libraries they link, the user and group files, the
#   program's default zone, nginx.conf) and those the pods and the lab use
#   are there; both run as the numeric user 10001; the program's image runs
#   visits-serve, its visits-fcgi is this tree's version and spawn-fcgi
#   loads; nginx's image stops with SIGQUIT, holds nginx/nginx.conf
#   unchanged, and `nginx -t` passes in it as the pod runs it (read-only
#   root, /tmp an empty directory).
# What the images do in the pods is the cluster's to show (tests/kube).
#
# Needs root, and podman, runc and debootstrap (./dev test-pod installs
# them: dev's DEPS_POD).  Makes the base image when missing
# (tests/pod/setup.sh; cached).  The image tags are this run's own and
# removed at the end; the layers stay, as a cache.
#
# Prints TAP; exit status 0 only if all passed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/visits-pod.XXXXXX")
t_start=$SECONDS

# shellcheck source=../lib/tap.sh
. "$top/tests/lib/tap.sh"
# shellcheck source=../lib/version.sh
. "$top/tests/lib/version.sh"
# check DESCRIPTION [DIAGNOSTIC...]: ok when no problem was collected.
problems=()
problem() { problems+=("$*"); }
check() {
	local d
	if [ ${#problems[@]} -eq 0 ]; then
		pass "$1"
	else
		fail "$1"
		for d in "${problems[@]}" "${@:2}"; do
			[ -z "$d" ] || diag "$(sed 's/^/  /' <<<"$d")"
		done
	fi
	problems=()
}

# The images, as the README builds them (this run's tags, see below),
# and the Containerfile of each.
images=(localhost/visits-fcgi localhost/visits-nginx)
declare -A containerfile=(
	[localhost/visits-fcgi]=fcgi/Containerfile
	[localhost/visits-nginx]=nginx/Containerfile
)
# The user both run as (the StatefulSet's runAsUser: tests/kube/policy.py
# ties the two).
user=10001
version=$(visits_version)
# podman's image store is shared by everyone on the machine: a build
# elsewhere must not retag the images under a running test.
tag=$version-vpt$$
built=()

cleanup() {
	local ref
	if command -v podman >/dev/null; then
		for ref in "${built[@]}"; do
			podman untag "$ref" "$ref" >/dev/null 2>&1
		done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

finish() {
	diag "image test took $((SECONDS - t_start)) s"
	done_testing
	exit
}

# podman's complaints about the missing systemd go to a log, not to TAP.
pm() { podman "$@" 2>>"$tmp/podman.log"; }
# run IMAGE [PODMAN-RUN-OPTION...] -- CMD...: CMD in a container of IMAGE
# (its errors on stderr, as they are what a failure shows),
# with the read-only root the pods give it.
run() {
	local image=$1 opts=()
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	podman run --rm --read-only --network none "${opts[@]}" "$image" "$@"
}

# --- setup: podman and the base image ----------------------------------------
if [ "$(id -u)" != 0 ]; then
	fail "running as root"
	diag "  podman's storage here needs root"
	finish
fi
t0=$SECONDS
if out=$("$here/setup.sh" 2>&1); then
	pass "podman and the base image ready ($((SECONDS - t0)) s)"
else
	fail "podman and the base image ready"
	diag "$out"
	finish
fi
export CONTAINERS_CONF
CONTAINERS_CONF=$("$here/setup.sh" --print-conf)

# Tags left by earlier runs that were killed (their shell is gone).
for ref in $(podman images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null); do
	[[ $ref =~ -vpt([0-9]+)$ ]] || continue
	kill -0 "${BASH_REMATCH[1]}" 2>/dev/null && continue
	pm untag "$ref" "$ref" >/dev/null
done

# --- the Containerfiles: Debian bookworm to build, scratch to run -------------
# froms FILE: "IMAGE STAGE" of each FROM, its ARG defaults put in.
froms() {
	sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$1" | awk '
		toupper($1) == "ARG" { n = split($2, a, "="); if (n == 2) arg[a[1]] = a[2] }
		toupper($1) == "FROM" {
			img = $2
			if (img ~ /^\$\{?[A-Za-z_]+\}?$/) { gsub(/[${}]/, "", img); img = arg[img] }
			print img, (toupper($3) == "AS" ? $4 : "-")
		}'
}
for image in "${images[@]}"; do
	file=${containerfile[$image]}
	declare -A stage_from=()
	n=0
	while read -r from stage; do
		n=$((n + 1))
		if [ "$from" != scratch ] && [ -z "${stage_from[$from]:-}" ] &&
		    ! [[ $from =~ ^(docker\.io/(library/)?)?debian:bookworm(-slim)?$ ]]; then
			problem "FROM $from: not Debian bookworm, scratch or a stage"
		fi
		[ "$stage" = - ] || stage_from[$stage]=$from
		last=$from
	done < <(froms "$top/$file")
	[ "$n" -ge 2 ] || problem "$n stage(s): the build is not multi-stage"
	# The image is its last stage: follow the stages down to scratch.
	while [ -n "${stage_from[$last]:-}" ]; do last=${stage_from[$last]}; done
	[ "$last" = scratch ] || problem "the image starts from $last, not scratch"
	check "$file: built on Debian bookworm, FROM scratch at run time"
	unset stage_from
done

# --- build ----------------------------------------------------------------------
for image in "${images[@]}"; do
	file=${containerfile[$image]}
	t0=$SECONDS
	if pm build --pull=never --layers -t "$image:$tag" -f "$top/$file" \
	    "$top" >"$tmp/build.log" 2>&1; then
		built+=("$image:$tag")
		pass "podman build -t $image:$tag -f $file ($((SECONDS - t0)) s)"
	else
		fail "podman build -t $image:$tag -f $file"
		diag "$(tail -30 "$tmp/build.log")"
	fi
done
[ ${#built[@]} = ${#images[@]} ] || finish
fcgi=localhost/visits-fcgi:$tag
nginx=localhost/visits-nginx:$tag

# --- size: the README's -------------------------------------------------------------
for image in "${images[@]}"; do
	size=$(podman image inspect -f '{{.Size}}' "$image:$tag")
	# The README's table of the images: "| `IMAGE:TAG` | 4.1 MB | ...".
	readme=$(sed -n "s/^| \`${image//\//\\/}:[^\`]*\` | \([0-9.]*\) MB |.*/\1/p" \
	    "$top/README.md" | head -1)
	mb=$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }')
	if [ -z "$readme" ]; then
		problem "the README's table of the images gives no size for $image"
	elif ! awk -v s="$size" -v r="$readme" \
	    'BEGIN { exit !(s >= r * 0.9e6 && s <= r * 1.1e6) }'; then
		problem "$mb MB, the README says $readme MB"
	fi
	check "$image: $mb MB, the size the README gives ($readme MB, within 10 %)"
done

# --- contents -----------------------------------------------------------------------
# The files of an image, with what each symbolic link points to.
files() {
	local root
	root=$(pm image mount "$1") || return 1
	(cd "$root" && find . ! -type d \( -type l -printf '%y %P %l\n' -o \
	    -printf '%y %P\n' \) | sort)
	pm image unmount "$1" >/dev/null
}
# Files that run, or that what runs reads: busybox, its applets and the
# shared libraries anywhere; the user and group files and the name
# service's configuration.  Each image's own are added below.
common='^(f usr/bin/busybox|l [^ ]+ /?(usr/)?bin/busybox|[fl] (usr/)?lib(64|32|x32)?/([^/ ]+/)?[^/ ]+\.so(\.[0-9]+)*( .*)?|f etc/(passwd|group|nsswitch\.conf))$'
zone=$(run "$fcgi" -- visits-fcgi --help | tr -s ' \n' '  ' |
    sed -n 's/.*\[VISITS_TIMEZONE, default \([^],]*\)[],].*/\1/p')
declare -A own=(
	[localhost/visits-fcgi]="^(f usr/local/bin/visits-(fcgi|serve)|f usr/bin/spawn-fcgi|f usr/share/zoneinfo/${zone:-?})\$"
	[localhost/visits-nginx]='^(f usr/sbin/nginx|f etc/nginx/nginx\.conf|f etc/nginx/\.conf-checked)$'
)
# What the pods' commands and the lab call: sh for the hooks, CMD and
# `kubectl exec -it ... sh`; cat and nslookup (the lab); sleep, [ (the
# hooks); touch, rm, mkdir (nginx's hook and CMD).
declare -A needs=(
	[localhost/visits-fcgi]="visits-fcgi visits-serve spawn-fcgi sh cat nslookup sleep ["
	[localhost/visits-nginx]="nginx sh sleep touch rm mkdir"
)
for image in "${images[@]}"; do
	if ! files "$image:$tag" >"$tmp/files"; then
		problem "podman image mount failed: $(tail -3 "$tmp/podman.log")"
	fi
	others=$(grep -Ev "$common" "$tmp/files" | grep -Ev "${own[$image]}")
	[ -z "$others" ] || problem "files that nothing runs:" "$others"
	# shellcheck disable=SC2016  # $c expands in the container's shell
	out=$(run "$image:$tag" -- sh -c \
	    'for c; do command -v "$c" >/dev/null || echo "no $c"; done' \
	    sh ${needs[$image]} 2>&1) || problem "$out"
	[ -z "$out" ] || problem "$out"
	check "$image: every file one that runs; ${needs[$image]// /, } there" \
	    "$(wc -l <"$tmp/files") files"
done
[ -n "$zone" ] || problem "visits-fcgi --help names no default VISITS_TIMEZONE"
[ -z "$zone" ] || run "$fcgi" -- test -s "/usr/share/zoneinfo/$zone" ||
	problem "no /usr/share/zoneinfo/$zone"
check "localhost/visits-fcgi: the program's default zone ($zone) is there"

# --- users ------------------------------------------------------------------------
for image in "${images[@]}"; do
	cfg=$(podman image inspect -f '{{.Config.User}}' "$image:$tag")
	[ "$cfg" = "$user:$user" ] || problem "USER $cfg, not $user:$user"
	ids=$(run "$image:$tag" -- sh -c 'echo $(id -u):$(id -g)' 2>&1)
	[ "$ids" = "$user:$user" ] || problem "runs as $ids"
	check "$image: runs as the numeric user and group $user"
done

# --- the program's image ------------------------------------------------------------
cmd=$(podman image inspect -f '{{json .Config.Cmd}}' "$fcgi")
[ "$cmd" = '["visits-serve"]' ] || problem "CMD $cmd"
sig=$(podman image inspect -f '{{.Config.StopSignal}}' "$fcgi")
[ -z "$sig" ] || [ "$sig" = SIGTERM ] || [ "$sig" = 15 ] ||
	problem "STOPSIGNAL $sig: the program stops on SIGTERM"
check "localhost/visits-fcgi: CMD visits-serve, stopped with SIGTERM"

out=$(run "$fcgi" -- visits-fcgi --version 2>&1)
is "$out" "visits-fcgi $version" \
    "localhost/visits-fcgi: visits-fcgi --version is configure.ac's"
out=$(run "$fcgi" -- spawn-fcgi -v 2>&1)
like "$out" '^spawn-fcgi v' \
    "localhost/visits-fcgi: spawn-fcgi runs (its libraries are there)"

# --- nginx's image -------------------------------------------------------------------
sig=$(podman image inspect -f '{{.Config.StopSignal}}' "$nginx")
[ "$sig" = SIGQUIT ] || problem "STOPSIGNAL '$sig'"
check "localhost/visits-nginx: stopped with SIGQUIT (graceful: finishes the requests it holds)"

run "$nginx" -- cat /etc/nginx/nginx.conf >"$tmp/nginx.conf" 2>&1
cmp -s "$tmp/nginx.conf" "$top/nginx/nginx.conf" ||
	problem "$(diff "$top/nginx/nginx.conf" "$tmp/nginx.conf" | head -20)"
check "localhost/visits-nginx: /etc/nginx/nginx.conf is nginx/nginx.conf"

# As in the pod: /tmp an empty directory (its emptyDir), the pid and temp
# directory made by the image's CMD.
out=$(run "$nginx" --tmpfs /tmp -- sh -c \
    'mkdir -p /tmp/nginx && nginx -t -e stderr' 2>&1) || problem "$out"
check "localhost/visits-nginx: nginx -t passes, read-only root and /tmp empty"

finish
