#!/bin/bash
# Campaign 3, faults: one visits-fcgi, run as nobody (root would bypass
# permissions) with the EIO shim preloaded, data on a small tmpfs, behind
# nginx.  For each fault: GET /time and GET / answer 503 with a clear
# error, /readyz 503, /healthz 200, the counter file exactly as it was
# (or still absent), the same process alive; then the fault is removed and,
# without a restart, /readyz turns 200 by itself, GET /time is 200 and the
# count goes on from the stored one (+1).  Ends with a table.
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/lib/faults.sh
. "$(dirname "$0")/../lib/faults.sh"

[ "$(id -u)" = 0 ] || bail_out "needs root: tmpfs and bind mounts, setpriv"
need setpriv cmp sha256sum stat

w=$it_tmp
chmod 755 "$w"			# the program runs as nobody
mnt=$w/mnt
data=$mnt/data
flag=$w/fault			# the shim fails I/O while it exists
mkdir -p "$mnt"
fault_tmpfs "$mnt" 8m
mkdir "$data"
chown nobody:nogroup "$data"

# The program as nobody, with the shim: spawn-fcgi execs this wrapper
# with the listening socket on fd 0, which setpriv and env keep.  nobody
# gets its own copies of both: the build tree and the helpers' directory
# may sit where nobody cannot reach (a clone under a 0700 mktemp -d).
install -m 0755 "$VISITS_FCGI" "$w/visits-fcgi" &&
	install -m 0644 "$CAMPAIGN_BIN/faultshim.so" "$w/faultshim.so" ||
	bail_out "cannot copy the program and the shim for nobody"
cat >"$w/as-nobody" <<WRAP
#!/bin/sh
exec setpriv --reuid=nobody --regid=nogroup --clear-groups \\
    env LD_PRELOAD='$w/faultshim.so' VISITS_FAULT_FLAG='$flag' \\
    '$w/visits-fcgi' "\$@"
WRAP
chmod 755 "$w/as-nobody"
VISITS_FCGI=$w/as-nobody
STACK_DATA_DIR=$data
# The program removes its socket at exit: as in the pod, it may write the
# socket's directory.
stack_setup "$w" && chown nobody:nogroup "$STACK_DIR/run" ||
	bail_out "cannot set up $w"
stack_start "$w" || bail_out "cannot start the stack"
pid=$STACK_FCGI_PID
is "$(ps -o user= -p "$pid" | tr -d ' ')" nobody "visits-fcgi runs as nobody"
grep -q faultshim "/proc/$pid/maps"
ok $? "the fault shim is loaded in visits-fcgi"
stack_wait_http /readyz 200 || bail_out "not ready at start"
curl -s -o /dev/null "$STACK_BASE_URL/time?n=[1-3]"
file_count
is "$file_count" 3 "3 visits before the faults"

# What the counter file is, to compare before and after.
state() {
	local f=$data/visits s
	if [ ! -e "$data" ]; then
		echo "no data directory"
		return
	fi
	if [ -L "$f" ]; then
		s="symlink to $(readlink "$f")"
	elif [ -d "$f" ]; then
		s="directory of $(ls -A "$f" | wc -l) entries"
	elif [ -f "$f" ]; then
		s="file of $(stat -c %s "$f") bytes, sha256 $(sha256sum <"$f" |
		    cut -c 1-16)"
	else
		s=absent
	fi
	[ -e "$f" ] || [ -L "$f" ] && s="$s, inode $(stat -c '%i, mtime %y' "$f")"
	echo "$s"
}

# A full disk while a reader holds visits.tmp (the previous counter file)
# open: the program may not rewrite it, and a new one needs space.
on_enospc() {
	[ ! -e "$data/visits.tmp" ] || fault_hold "$data/visits.tmp"
	fault_fill "$mnt"
}
off_enospc() { fault_release; fault_unfill "$mnt"; }
on_erofs() { fault_bind "$data" && fault_readonly "$data"; }
off_erofs() { fault_unbind "$data"; }
on_eio_write() { echo write >"$flag"; }
on_eio_sync() { echo fdatasync >"$flag"; }
on_eio_dirsync() { echo fsync >"$flag"; }
off_eio() { rm -f "$flag"; }
on_eacces() { chmod 0555 "$data"; }
off_eacces() { chmod 0755 "$data"; }
on_nodir() { rm -rf "$data"; }
off_nodir() {
	mkdir "$data" && chown nobody:nogroup "$data" && put_count "$data" "$1"
}
on_isdir() { rm -f "$data/visits" && mkdir "$data/visits"; }
off_isdir() { rmdir "$data/visits" && put_count "$data" "$1"; }
on_symlink() { ln -sfn "$w/nowhere/visits" "$data/visits"; }
on_garbage() { printf 'twelve\n' >"$data/visits"; }
on_huge() {
	head -c $((4 << 20)) /dev/zero | tr '\0' 7 >"$data/visits.new" &&
		mv "$data/visits.new" "$data/visits"
}
on_negative() { printf -- '-5\n' >"$data/visits"; }
on_pastmax() { printf '18446744073709551616\n' >"$data/visits"; }
off_file() { rm -rf "$data/visits" && put_count "$data" "$1"; }

# name | on | off | what the error must say
faults=(
	"ENOSPC: full, tmp held|on_enospc|off_enospc|No space left on device"
	"EROFS: ro bind mount|on_erofs|off_erofs|Read-only file system"
	"EIO: write (shim)|on_eio_write|off_eio|write visits.tmp: Input/output error"
	"EIO: fdatasync (shim)|on_eio_sync|off_eio|sync visits.tmp: Input/output error"
	"EIO: dir fsync (shim)|on_eio_dirsync|off_eio|sync directory: Input/output error"
	"EACCES: dir 0555|on_eacces|off_eacces|Permission denied"
	"data dir missing|on_nodir|off_nodir|data directory does not exist"
	"file is a directory|on_isdir|off_isdir|is a directory"
	"dangling symlink|on_symlink|off_file|is a symbolic link"
	"garbage|on_garbage|off_file|not a valid count \\(unexpected 't'"
	"huge file (4 MiB)|on_huge|off_file|is 4194304 bytes long"
	"negative number|on_negative|off_file|negative number"
	"2^64 (past max)|on_pastmax|off_file|larger than the maximum count"
)

# A full disk alone does not stop counting: the next count is written
# into visits.tmp, the previous counter file, whose space is allocated
# already, and exchanged with visits (a rename needs no space either).
n=$(cat "$data/visits")
echo "# --- disk full, visits.tmp free to rewrite (count $n)"
fault_fill "$mnt"
fault_avail "$mnt"
is "$fault_avail" 0 "disk full: the tmpfs has 0 KiB available"
http GET /time
is "$http_code" 200 "disk full: GET /time still counts (200)"
http GET /readyz
is "$http_code" 200 "disk full: /readyz 200"
is "$(cat "$data/visits")" $((n + 1)) "disk full: count $n + 1 in the file"
fault_unfill "$mnt"

table=()
for f in "${faults[@]}"; do
	IFS='|' read -r name on off want <<<"$f"
	n=$(cat "$data/visits")
	echo "# --- fault: $name (count $n)"
	"$on" || fail "$name: could not set the fault up"
	before=$(state)
	http GET /time
	t_code=$http_code t_body=$http_body
	is "$t_code" 503 "$name: GET /time answers 503"
	like "$t_body" "^\\{\"error\":\"[^\"]*$want" \
	    "$name: the error says what is wrong"
	http GET /
	is "$http_code" 503 "$name: GET / answers 503"
	http GET /readyz
	r_code=$http_code
	is "$r_code" 503 "$name: /readyz answers 503"
	like "$http_body" "\"status\":\"not ready\",\"error\":\"[^\"]*$want" \
	    "$name: /readyz says why"
	http GET /healthz
	is "$http_code" 200 "$name: /healthz 200 (the process serves)"
	after=$(state)
	case $name in
	*"dir fsync"*)
		# The directory sync comes after the rename: the program puts
		# the old count back (a new inode, the same bytes).
		is "${after%%, inode*}" "${before%%, inode*}" \
		    "$name: the counter file holds the same bytes (put back)"
		;;
	*)
		is "$after" "$before" "$name: the counter file is untouched"
		;;
	esac
	alive=no
	kill -0 "$pid" 2>/dev/null && [ "$STACK_FCGI_PID" = "$pid" ] && alive=yes
	is "$alive" yes "$name: the same process is alive"

	"$off" "$n" || fail "$name: could not remove the fault"
	rec=ok
	STACK_TIMEOUT=10 stack_wait_http /readyz 200 2>/dev/null || rec=no-ready
	is "$rec" ok "$name removed: /readyz 200 again by itself"
	http GET /time
	is "$http_code" 200 "$name removed: GET /time 200"
	[ "$http_code" = 200 ] || rec="time-$http_code"
	file_count
	is "$file_count" $((n + 1)) \
	    "$name removed: count $n + 1 in the file (refused visits not counted)"
	[ "$file_count" = $((n + 1)) ] || rec="count-$file_count"
	kill -0 "$pid" 2>/dev/null
	ok $? "$name removed: same process, no restart"
	err=$(jq -r .error <<<"$t_body" 2>/dev/null)
	err=${err#"$data/"}
	err=${err#"$data: "}
	[ ${#err} -le 60 ] || err="${err:0:57}..."
	[ "$after" = "$before" ] && same=same || same=CHANGED
	table+=("$(printf '%-22s %-5s %-5s %-8s %-5s %-10s %s' "$name" \
	    "$t_code" "$r_code" "$same" "$alive" "$rec" "$err")")
done

echo "#"
echo "# faults table (program as nobody, data on tmpfs, one process throughout)"
row '%-22s %-5s %-5s %-8s %-5s %-10s %s' fault /time readyz file alive \
    recovery "error given to the client"
for r in "${table[@]}"; do
	echo "# $r"
done
echo "#"

stack_stop
ok $? "the stack stops cleanly after all faults"
is "$STACK_SOCKET_LEFT" 0 "visits-fcgi removed its socket"
fail_diag "$STACK_LOG_DIR/fcgi.log" 40
done_testing
