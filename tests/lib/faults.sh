# shellcheck shell=bash
# tests/lib/faults.sh: the store faults that more than one test switches on
# and off (tests/integration/store-errors.sh, tests/campaign/faults.sh).
# Source it after it.sh.  Mounts need root; every mount made here is
# removed at exit (it_on_exit) if the test did not remove it.
#
#   fault_tmpfs DIR SIZE    a tmpfs of SIZE (mode 0755) on DIR; bails out
#                           if it cannot be mounted
#   fault_fill DIR          fill DIR's filesystem up (with the file DIR/fill)
#   fault_avail DIR         fault_avail := KiB available on DIR's filesystem
#   fault_hold FILE         a reader holds FILE open (on fd 8); while it
#                           does, the program may not rewrite it in place
#   fault_release           the reader lets go (closes fd 8)
#   fault_unfill DIR        the space back (removes DIR/fill)
#   fault_bind DIR          bind-mount DIR on itself: a mount of its own,
#                           to make read-only without the rest
#   fault_readonly DIR      remount that bind mount read-only
#   fault_writable DIR      remount it read-write
#   fault_unbind DIR        remove it
#   put_count DIR N         a valid counter file DIR/visits with N, written
#                           as an operator would (a new file, renamed)

need mount umount mountpoint dd df

# fault_umount_at_exit DIR: unmount DIR at exit if it is still mounted.
fault_umount_at_exit() {
	it_on_exit "! mountpoint -q '$1' || umount '$1' 2>/dev/null ||
	    umount -l '$1'"
}

fault_tmpfs() {
	fault_umount_at_exit "$1"
	mount -t tmpfs -o "size=$2,mode=0755" visits-fault "$1" ||
		bail_out "cannot mount a tmpfs on $1"
}

fault_fill() {
	dd if=/dev/zero of="$1/fill" bs=64k 2>/dev/null
	:
}

fault_avail() {
	fault_avail=$(df --output=avail -k "$1" | tail -n 1 | tr -d ' ')
}

fault_hold() {
	exec 8<"$1"
}

fault_release() {
	exec 8<&-
}

fault_unfill() {
	rm -f "$1/fill"
}

fault_bind() {
	fault_umount_at_exit "$1"
	mount --bind "$1" "$1"
}

fault_readonly() {
	mount -o remount,ro,bind "$1"
}

fault_writable() {
	mount -o remount,rw,bind "$1"
}

fault_unbind() {
	umount "$1"
}

put_count() {
	printf '%s\n' "$2" >"$1/visits.new" && mv "$1/visits.new" "$1/visits"
}
