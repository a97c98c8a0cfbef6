#!/bin/sh
# replicated-script: repair-ownership
#
# Re-owns Replicated's own trees to <uid>:<gid>: /var/lib/replicated, /var/run/replicated,
# /var/lib/replicated-operator and /var/run/replicated-operator, each where it exists. On a fresh
# host it changes nothing; on a host leaving legacy root mode it is the migration of the data.
#
# Usage: sh -s -- <uid> <gid>
#
# The trees are writable by less privileged processes: the service containers (service uid) and,
# during the opt-in from legacy root mode, the old containers (uid 0 without capabilities). Such a
# process may rename, exchange (renameat2 RENAME_EXCHANGE), symlink and hard-link inside them at
# any moment and watch this walk with inotify. So:
#
# 1. Writers stopped. Every running container that mounts a tree (or a directory above one) is
#    found with one `docker ps` and one `docker inspect`, and stopped (docker stop, grace period)
#    before the walk. If the repair fails, exactly those are started again; if that fails too, the
#    error names them and gives the command. On success the program's own service containers
#    (label replicated.service) that run as another user than <uid>:<gid> stay stopped: the same
#    `pulumi up` replaces them, because their user changes. Every other stopped container is
#    started again (the repair also re-runs when its command changes, and then nothing replaces
#    them). Docker installed but not answering: refused (nobody can tell who writes the trees).
# 2. An unredirectable walk that never resolves a path twice, in perl (perl-base only: Fcntl,
#    POSIX, Errno, Config; perl-base is on every Debian host, perl on RHEL-family hosts; a shell
#    walk would fork per entry or per directory, and find + chown resolves every parent again).
#    Each directory is opened by its bare name from its verified parent (O_DIRECTORY|O_NOFOLLOW),
#    its fstat compared with the lstat that chose it, then entered with fchdir (chdir on the
#    handle) and listed as "."; the walk returns to the parent's handle, never "..", and never
#    enters a directory twice. Every change goes through the entry's own descriptor: directories
#    are re-owned with fchown on their handle; every other entry is opened with O_PATH|O_NOFOLLOW
#    (which opens nothing: no device, fifo or lease is touched, a symbolic link is the link
#    itself), looked at with statx on the descriptor and re-owned with fchownat(fd, "",
#    AT_EMPTY_PATH), so the inode decided on is the inode changed, whatever its name means by
#    then (where perl's syscall numbers for those are not known: fstat and /proc/self/fd/N,
#    which lead to the same inode). A bare name re-owned with chown -h could meanwhile be an
#    exchanged hard link to a file outside the trees. The first levels are walked by one
#    process; below them one process per CPU (at most MAX_WALKERS) takes directories from a pipe.
# 3. Never another file system (st_dev) or a mount: the mount id of every directory opened (and,
#    from statx, of every entry re-owned) is compared with its tree root's, so every mount inside,
#    bind mounts of the same file system included, is left alone with everything below it.
# 4. Hard links: a multiply-linked non-directory is re-owned only when fs.protected_hardlinks is 1
#    and every one of its links was found inside the trees, with its link count and ctime (which
#    the kernel updates on every link, unlink and rename of it) the same at each link found and
#    again through the descriptor right before the change, and that ctime at least 2 s older than
#    the walk (compared in whole seconds: a change during the walk cannot share the second). One
#    walker process decides only the links it found itself; links found by several, or changed in
#    those 2 s, are decided by a second walk in one process (after the 2 s). Every other case is
#    skipped and named on stderr.
# It keeps no state: killed at any point, the next run finds what is still wrong and finishes.
# Needs perl (perl-base), Linux with /proc (mountinfo, fdinfo), and the docker CLI where Docker runs.
#
# Prints one JSON line last:
#   {"changed":0,"skipped":0,"trees":4,"mountsLeftAlone":0,"protectedHardlinks":1,
#    "stoppedContainers":["replicated"],"restartedContainers":[]}
set -eu
umask 077

readonly TREES="/var/lib/replicated /var/run/replicated /var/lib/replicated-operator /var/run/replicated-operator"
# docker stop's grace period: the daemon's database and the sidecars flush on SIGTERM.
readonly STOP_GRACE_SECONDS=30
# Any single docker CLI call (ps, inspect, start); stop gets the grace period on top.
readonly DOCKER_TIMEOUT_SECONDS=60
# Processes that walk the trees side by side (one per CPU up to this).
readonly MAX_WALKERS=4
# Skipped files named on stderr (the count in the summary is complete).
readonly SKIPPED_SHOWN=20

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="repair-ownership"
# replicated-include: messages

# --- arguments (validated again here: the script must be safe when run by hand) ---

[ "$#" -eq 2 ] || die "usage: repair-ownership.sh <uid> <gid> (got $# arguments)"
owner_uid=$1
owner_gid=$2

# replicated-include: ids

valid_id "$owner_uid" 1 || die "invalid uid \"$owner_uid\": it must be an integer from 1 to 2147483646 (this repair never re-owns to root)"
valid_id "$owner_gid" 1 || die "invalid gid \"$owner_gid\": it must be an integer from 1 to 2147483646"

# --- lock ---

# replicated-include: provision-lock

work=""
# Containers this run stopped and has to start again if it fails (ids, space separated).
restart_on_failure=""
stopped_names=""
restarted_names=""

docker_call() {
	if command -v timeout >/dev/null 2>&1; then
		timeout "$DOCKER_TIMEOUT_SECONDS" docker "$@"
	else
		docker "$@"
	fi
}

# names_of IDS: the names of containers by id, from $work/writers ("id name leave-stopped").
names_of() {
	for id in $1; do
		awk -v id="$id" '$1 == id { print $2 }' "$work/writers"
	done | paste -sd' ' -
}

# start_again IDS: docker start; on failure say which are stopped and how to start them.
start_again() {
	# shellcheck disable=SC2086 # container ids are hex, one word each
	if docker_call start $1 >/dev/null 2>"$work/start.err"; then
		return 0
	fi
	still_stopped=""
	gone=""
	for id in $1; do
		if state=$(docker_call inspect --format '{{.State.Running}}' "$id" 2>"$work/inspect.err"); then
			[ "$state" = true ] || still_stopped="$still_stopped $id"
		elif grep -qi 'no such' "$work/inspect.err"; then
			gone="$gone $id"
		else
			still_stopped="$still_stopped $id"
		fi
	done
	if [ -n "$gone" ]; then
		note "not started again, because they were removed when they stopped (started with --rm): $(names_of "$gone")"
	fi
	[ -n "$still_stopped" ] || return 0
	names=$(names_of "$still_stopped")
	note "these containers were stopped for the repair and could not be started again: $names ($(head -c 300 "$work/start.err" | tr '\n' ' ')). They are stopped. Start them with: docker start $names"
	return 1
}

on_exit() {
	status=$?
	if [ "$status" -ne 0 ] && [ -n "$restart_on_failure" ]; then
		if start_again "$restart_on_failure"; then
			note "started again the containers it had stopped: $(names_of "$restart_on_failure")"
		fi
	fi
	if [ -n "$work" ]; then
		rm -rf -- "$work"
	fi
	release_lock
	exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT TERM HUP

# --- trees ---

# Physical paths of the trees that exist, one per line, in $work/roots.
find_roots() {
	: >"$work/roots"
	for tree in $TREES; do
		if [ -L "$tree" ]; then
			die "$tree is a symbolic link (to $(readlink -- "$tree" || printf '?')); refusing to re-own through it. Fix: replace it by a real directory, then re-run"
		fi
		if [ ! -e "$tree" ]; then
			continue
		fi
		[ -d "$tree" ] || die "$tree exists but is $(stat -c %F -- "$tree"), not a directory. Fix: move it away, then re-run"
		physical=$(cd -P -- "$tree" && pwd -P)
		if ! grep -qxF -- "$physical" "$work/roots"; then
			printf '%s\n' "$physical" >>"$work/roots"
		fi
	done
}

# --- writers ---

# One line per running container: id, name, user, replicated.service label, then the source of
# every mount as JSON (a tab cannot occur inside a JSON string).
# shellcheck disable=SC2016 # Go template, not shell
readonly INSPECT_FORMAT='{{.Id}}{{"\t"}}{{.Name}}{{"\t"}}{{json .Config.User}}{{"\t"}}{{json (index .Config.Labels "replicated.service")}}{{range .Mounts}}{{"\t"}}{{json .Source}}{{end}}'

# Writes $work/writers: "id name leave-stopped" for every running container that mounts a tree,
# a path inside one, or a directory above one (under either spelling, e.g. /var/run and /run).
# leave-stopped is 1 for the program's service containers whose user is not <uid>:<gid>.
find_writers() {
	: >"$work/writers"
	if ! command -v docker >/dev/null 2>&1; then
		[ ! -S /var/run/docker.sock ] ||
			die "/var/run/docker.sock exists but there is no docker command, so the repair cannot tell which containers write the trees; refusing. Nothing was changed. Fix: install the docker CLI (or stop the containers that mount $TREES), then re-run"
		return 0
	fi
	attempt=1
	while :; do
		if running=$(docker_call ps -q --no-trunc 2>"$work/docker.err"); then
			if [ -z "$running" ]; then
				return 0
			fi
			# shellcheck disable=SC2086 # container ids are hex, one word each
			if docker_call inspect --format "$INSPECT_FORMAT" $running >"$work/containers" 2>"$work/docker.err"; then
				break
			fi
		fi
		# A container that exits between ps and inspect makes inspect fail: ask once more.
		[ "$attempt" -lt 2 ] ||
			die "docker is installed but does not answer ($(head -c 300 "$work/docker.err" | tr '\n' ' ')), so the repair cannot tell which containers write the trees; refusing. Nothing was changed. Fix: start Docker (systemctl start docker) or repair it, then re-run"
		attempt=2
	done
	spellings=$(printf '%s\n' "$TREES" | tr ' ' '\n' | cat - "$work/roots" | sort -u | paste -sd' ' -)
	# shellcheck disable=SC2016 # awk's own $ fields
	awk -F '\t' -v trees="$spellings" -v owner="\"$owner_uid:$owner_gid\"" '
		BEGIN { count = split(trees, tree, " ") }
		function unquoted(value) {
			if (value ~ /^".*"$/) return substr(value, 2, length(value) - 2)
			return value
		}
		# 1 when a mount of SOURCE lets the container write a tree.
		function reaches(source,   i) {
			if (source == "") return 0
			if (source == "/") return 1
			sub(/\/+$/, "", source)
			for (i = 1; i <= count; i++) {
				if (source == tree[i] || index(source, tree[i] "/") == 1 || index(tree[i], source "/") == 1) return 1
			}
			return 0
		}
		{
			writes = 0
			for (f = 5; f <= NF; f++) if (reaches(unquoted($f))) writes = 1
			if (!writes) next
			name = $2
			sub(/^\//, "", name)
			if (name !~ /^[A-Za-z0-9][A-Za-z0-9_.-]*$/) name = substr($1, 1, 12)
			# The label is JSON: null when absent, "" when empty.
			print $1, name, ($4 ~ /^".+"$/ && $3 != owner) ? 1 : 0
		}
	' "$work/containers" >"$work/writers"
}

stop_writers() {
	find_writers
	[ -s "$work/writers" ] || return 0
	ids=$(cut -d' ' -f1 "$work/writers" | paste -sd' ' -)
	stopped_names=$(names_of "$ids")
	# Set before stopping: a stop that fails half way must still start the others again.
	restart_on_failure=$ids
	note "stopping the containers that write the trees before re-owning them: $stopped_names"
	# shellcheck disable=SC2086 # container ids are hex, one word each
	docker_call stop --time "$STOP_GRACE_SECONDS" $ids >/dev/null 2>"$work/docker.err" ||
		die "could not stop the containers that write the trees ($(head -c 300 "$work/docker.err" | tr '\n' ' ')); nothing was re-owned. Fix the cause, then re-run"
}

# On success: start again every stopped container this pulumi up does not replace.
restart_writers() {
	[ -s "$work/writers" ] || return 0
	again=$(awk '$3 == 0 { print $1 }' "$work/writers" | paste -sd' ' -)
	restart_on_failure=""
	if [ -n "$again" ]; then
		gone=""
		start_again "$again" || die "the ownership repair finished, but containers it stopped could not be started again (see above)"
		for id in $again; do
			case " $gone " in
			*" $id "*) ;;
			*) restarted_names="$restarted_names $(names_of "$id")" ;;
			esac
		done
	fi
	left=$(awk '$3 == 1 { print $2 }' "$work/writers" | paste -sd' ' -)
	if [ -n "$left" ]; then
		note "left stopped (they run as another user than $owner_uid:$owner_gid, so pulumi up replaces them next): $left"
	fi
}

json_names() {
	printf '['
	sep=""
	for name in $1; do
		printf '%s"%s"' "$sep" "$name"
		sep=","
	done
	printf ']'
}

# --- the walk ---

# Walker processes: one per CPU, at most MAX_WALKERS.
walker_processes() {
	cpus=$(nproc 2>/dev/null || echo 1)
	case $cpus in
	'' | *[!0-9]*) cpus=1 ;;
	esac
	[ "$cpus" -ge 1 ] || cpus=1
	[ "$cpus" -le "$MAX_WALKERS" ] || cpus=$MAX_WALKERS
	printf '%s' "$cpus"
}

# perl reads its program from the here-document; the arguments follow "-". PERL5OPT and friends
# could load code into this root process: cleared.
walk_trees() {
	env -u PERL5OPT -u PERL5LIB -u PERLLIB -u PERL5DB perl - "$owner_uid" "$owner_gid" "$SKIPPED_SHOWN" "$work/roots" "$(walker_processes)" "$work/probe" <<'WALKER'
use strict;
use warnings;
no warnings "recursion";
use Config;
use Errno qw(ENOENT ELOOP ENOTDIR);
use Fcntl qw(O_RDONLY O_DIRECTORY O_NOFOLLOW);
use POSIX ();

# Linux's O_PATH on every Debian and RHEL architecture (Fcntl does not export it); checked below.
use constant O_PATH => 010000000;
use constant AT_EMPTY_PATH => 0x1000;
use constant STATX_WANTED => 0x17ff;    # STATX_BASIC_STATS | STATX_MNT_ID
use constant STATX_MNT_ID => 0x1000;
use constant S_IFMT => 0170000;
use constant S_IFDIR => 0040000;
use constant S_IFLNK => 0120000;
# ctime is compared in whole seconds: a multiply-linked file changed this close to a walk's start
# is left to a later walk, when a change during that walk cannot share its second (rule 4).
use constant SETTLE_SECONDS => 2;
# Directories handed out to the walker processes (at least this many when the trees have them).
use constant WORK_ITEMS_WANTED => 64;

my ($uid, $gid, $shown_max, $roots_file, $processes, $probe_file) = @ARGV;
($uid, $gid) = ($uid + 0, $gid + 0);
my $prefix = "replicated repair-ownership: ";

sub fatal { print STDERR $prefix, @_, "\n"; POSIX::_exit(1) }
sub note { print STDERR $prefix, @_, "\n" }

# Paths only ever go into messages, with control characters and backslashes shown as \ooo.
sub shown {
	my ($path) = @_;
	$path =~ s/([\x00-\x1f\x7f\\])/sprintf("\\%03o", ord($1))/ge;
	return $path;
}

# The physical paths of the tree roots that exist, one per line (written by the shell).
my @roots;
{
	open(my $list, "<", $roots_file) or fatal("cannot read $roots_file: $!");
	chomp(@roots = <$list>);
	close($list);
}

my $protected = "null";
if (open(my $setting, "<", "/proc/sys/fs/protected_hardlinks")) {
	my $line = <$setting>;
	$protected = $1 if defined $line && $line =~ /^(\d+)/;
	close($setting);
}

# --- acting through descriptors ---
#
# Every non-directory is opened with O_PATH|O_NOFOLLOW, which opens nothing (no device, fifo or
# lease is touched) and refers to the entry itself, a symbolic link included. Its status and its
# re-owning go through that descriptor, never through a name again: statx(fd, "", AT_EMPTY_PATH)
# and fchownat(fd, "", AT_EMPTY_PATH), which open(2) documents for O_PATH descriptors, called with
# perl's syscall where the numbers are known (x86_64 and the generic table of aarch64); elsewhere
# fstat of a dup and chown of /proc/self/fd/N, which resolves to that same inode (glibc's fchmodat
# reaches O_PATH descriptors the same way). Both ways are tried on a probe file first.
my %SYSCALLS = (x86_64 => { statx => 332, fchownat => 260 }, aarch64 => { statx => 291, fchownat => 54 });
my ($numbers) = map { $SYSCALLS{$_} } grep { index($Config{archname}, "$_-") == 0 } keys %SYSCALLS;
$numbers = undef if ($Config{ivsize} // 0) < 8;
my $empty_path = "";
my $statx_buffer = "\0" x 256;
my $statx_mounts = 0;

# [dev, ino, mode, nlink, uid, gid, ctime seconds, mount id or undef] of descriptor FD; dev is
# comparable only with other results of this function.
sub status_of_fd {
	my ($fd) = @_;
	if ($numbers) {
		return undef if syscall($numbers->{statx}, $fd + 0, $empty_path, AT_EMPTY_PATH, STATX_WANTED, $statx_buffer) != 0;
		my ($mask, $nlink, $owner, $group, $mode, $ino, $ctime, $major, $minor, $mount) = unpack("L x12 L L L S x2 Q x56 q x32 L L Q", $statx_buffer);
		return [$major * 4294967296 + $minor, $ino, $mode, $nlink, $owner, $group, $ctime, $mask & STATX_MNT_ID ? $mount : undef];
	}
	my @st = POSIX::fstat($fd) or return undef;
	return [@st[0, 1, 2, 3, 4, 5, 10], undef];
}

sub reown_fd {
	my ($fd) = @_;
	return syscall($numbers->{fchownat}, $fd + 0, $empty_path, $uid, $gid, AT_EMPTY_PATH) == 0 if $numbers;
	return chown($uid, $gid, "/proc/self/fd/$fd");
}

# Mount id of descriptor FD: statx, or fdinfo (Linux 3.15 and later).
sub mount_of_fd {
	my ($fd, $status) = @_;
	return $status->[7] if $status && defined $status->[7];
	open(my $info, "<", "/proc/self/fdinfo/$fd") or fatal("cannot read /proc/self/fdinfo: $!");
	while (my $line = <$info>) {
		return $1 if $line =~ /^mnt_id:\s*(\d+)/;
	}
	fatal("/proc/self/fdinfo shows no mnt_id (Linux 3.15 or later is needed), so mounts inside the trees cannot be told apart; refusing to re-own");
}

{
	my $fd = POSIX::open("/proc/self", O_PATH | O_NOFOLLOW) // fatal("cannot open /proc/self with O_PATH ($!): this repair needs Linux with /proc mounted");
	my $status = status_of_fd($fd);
	if ($numbers && !($status && ($status->[2] & S_IFMT) == S_IFLNK)) {
		$numbers = undef;
		$status = status_of_fd($fd);
	}
	POSIX::close($fd);
	($status && ($status->[2] & S_IFMT) == S_IFLNK) or fatal("O_PATH does not behave as on Linux here; refusing to re-own");
	$fd = POSIX::open($probe_file, O_PATH | O_NOFOLLOW) // fatal("cannot open $probe_file: $!");
	if (!reown_fd($fd) && $numbers) {
		$numbers = undef;
		reown_fd($fd) or fatal("cannot re-own a probe file through its descriptor ($!); refusing to re-own");
	}
	$status = status_of_fd($fd);
	POSIX::close($fd);
	($status && $status->[4] == $uid && $status->[5] == $gid) or fatal("re-owning through a descriptor did not change the probe file; refusing to re-own");
	$statx_mounts = defined $status->[7];
}

# Mount points strictly below a tree root, from the mount table: counted for the summary. Without
# mount ids from statx, files are checked in fdinfo too when there is any (directories always).
my $mounts_inside = 0;
{
	open(my $table, "<", "/proc/self/mountinfo") or fatal("cannot read /proc/self/mountinfo ($!), so mounts inside the trees cannot be excluded; refusing to re-own");
	while (my $line = <$table>) {
		my $point = (split(/ /, $line))[4];
		next unless defined $point;
		$point =~ s/\\([0-7]{3})/chr(oct($1))/ge;
		$mounts_inside++ if grep { index($point, "$_/") == 0 } @roots;
	}
	close($table);
}
my $check_file_mounts = $statx_mounts || $mounts_inside > 0;

# --- one walk ---

# A tree is {dev (lstat), fd_dev (status_of_fd), mount}; a directory {handle, path, tree}.
my ($changed, $problems, $walk_start) = (0, 0, 0);
my (%visited, %links, @problem_lines);
my $tree;

sub problem {
	my ($what) = @_;
	$problems++;
	push(@problem_lines, $what) if @problem_lines < $shown_max;
}

# A multiply-linked non-directory open as FD with status ST: count this link; re-own the inode
# when this is the last of its links and its link count and ctime never changed (rule 4).
sub hard_linked {
	my ($fd, $st, $path) = @_;
	my $entry = $links{"$st->[0]:$st->[1]"} //= { nlink => $st->[3], ctime => $st->[6], found => 0, paths => [], state => "counting" };
	$entry->{found}++;
	push(@{ $entry->{paths} }, $path) if @{ $entry->{paths} } < $shown_max;
	return if $entry->{state} ne "counting";
	if ($st->[3] != $entry->{nlink} || $st->[6] != $entry->{ctime}) {
		$entry->{state} = "moving";
		return;
	}
	return if $entry->{found} < $entry->{nlink};
	if ($protected ne "1") {
		$entry->{state} = "unprotected";
		return;
	}
	if ($entry->{ctime} > $walk_start - SETTLE_SECONDS) {
		$entry->{state} = "recent";
		return;
	}
	# Right before the change, through the descriptor: still the same inode, count and ctime.
	my $now = status_of_fd($fd);
	if (!$now || $now->[1] != $st->[1] || $now->[3] != $entry->{found} || $now->[6] != $entry->{ctime}) {
		$entry->{state} = "moving";
		return;
	}
	if (reown_fd($fd)) {
		$entry->{state} = "done";
		$changed += $entry->{found};
	} else {
		$entry->{state} = "failed";
		problem("cannot re-own " . shown($path) . ": $!");
	}
}

# Non-directory NAME of the current directory (PATH): opened, looked at and re-owned through its
# descriptor. What is decided and changed is the inode the descriptor holds, whatever the name
# means by then. Returns 1 when it needed a change, 0 when not, undef for a directory.
sub reown_entry {
	my ($name, $path) = @_;
	my $fd = POSIX::open($name, O_PATH | O_NOFOLLOW);
	if (!defined $fd) {
		problem("cannot open " . shown("$path/$name") . ": $!") if $! != ENOENT;
		return 0;
	}
	# The common case (statx with mount ids, one link) without building a status: the same
	# checks as below, read straight from the statx buffer.
	if ($statx_mounts && syscall($numbers->{statx}, $fd, $empty_path, AT_EMPTY_PATH, STATX_WANTED, $statx_buffer) == 0) {
		my ($nlink, $owner, $group, $mode) = unpack("x16 L L L S", $statx_buffer);
		my ($major, $minor, $mount) = unpack("x136 L L Q", $statx_buffer);
		my $result = 1;
		if (($mode & S_IFMT) == S_IFDIR) {
			$result = undef;
		} elsif ($owner == $uid && $group == $gid) {
			$result = 0;
		} elsif ($major * 4294967296 + $minor != $tree->{fd_dev} || $mount != $tree->{mount}) {
			$result = 0;
		} elsif ($nlink > 1) {
			my $st = status_of_fd($fd);
			$st ? hard_linked($fd, $st, "$path/$name") : problem("cannot stat " . shown("$path/$name") . ": $!");
		} elsif (syscall($numbers->{fchownat}, $fd, $empty_path, $uid, $gid, AT_EMPTY_PATH) == 0) {
			$changed++;
		} else {
			problem("cannot re-own " . shown("$path/$name") . ": $!");
		}
		POSIX::close($fd);
		return $result;
	}
	my $result = 1;
	my $st = status_of_fd($fd);
	if (!$st) {
		problem("cannot stat " . shown("$path/$name") . ": $!");
	} elsif (($st->[2] & S_IFMT) == S_IFDIR) {
		$result = undef;
	} elsif ($st->[4] == $uid && $st->[5] == $gid) {
		$result = 0;
	} elsif ($st->[0] != $tree->{fd_dev} || ($check_file_mounts && mount_of_fd($fd, $st) != $tree->{mount})) {
		# Another file system, or a file bind-mounted here: a mount point, left alone.
		$result = 0;
	} elsif ($st->[3] > 1) {
		hard_linked($fd, $st, "$path/$name");
	} elsif (reown_fd($fd)) {
		$changed++;
	} else {
		problem("cannot re-own " . shown("$path/$name") . ": $!");
	}
	POSIX::close($fd);
	return $result;
}

# Opens directory NAME of the current directory (lstat ST) and re-owns it through the handle;
# undef when it is gone, was replaced, is another mount, or was walked already.
sub open_directory {
	my ($name, $st, $path) = @_;
	my $handle;
	if (!sysopen($handle, $name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) {
		return undef if $! == ENOENT;
		problem($! == ELOOP || $! == ENOTDIR ? shown($path) . " was replaced while the repair looked at it; left alone" : "cannot open " . shown($path) . ": $!");
		return undef;
	}
	my @now = stat($handle);
	if (!@now || $now[0] != $st->[0] || $now[1] != $st->[1]) {
		problem(shown($path) . " was replaced while the repair looked at it; left alone");
		return undef;
	}
	# A bind mount of the same file system has the same st_dev: only the mount id tells.
	return undef if mount_of_fd(fileno($handle), $statx_mounts ? status_of_fd(fileno($handle)) : undef) != $tree->{mount};
	if ($visited{"$now[0]:$now[1]"}++) {
		problem(shown($path) . " was moved while the repair walked the trees; left alone");
		return undef;
	}
	if ($now[4] != $uid || $now[5] != $gid) {
		if (chown($uid, $gid, $handle)) {
			$changed++;
		} else {
			problem("cannot re-own " . shown($path) . ": $!");
		}
	}
	return $handle;
}

# Handles the entries of the directory entered through HANDLE (the working directory): every
# non-directory at once, every subdirectory by CHILD(name, lstat, path). Entries are looked at
# with lstat, which is all a tree with nothing to change costs; after an entry that needed a
# change the next is opened straight away (a tree being migrated needs its descriptor anyway).
sub each_entry {
	my ($handle, $path, $child) = @_;
	chdir($handle) or fatal("cannot enter " . shown($path) . ": $!");
	opendir(my $listing, ".") or fatal("cannot list " . shown($path) . ": $!");
	my @names = grep { $_ ne "." && $_ ne ".." } readdir($listing);
	closedir($listing);
	my $open_first = 0;
	for my $name (@names) {
		if ($open_first) {
			$open_first = reown_entry($name, $path);
			next if defined $open_first;
			$open_first = 0;
		}
		my @st = lstat($name);
		if (!@st) {
			problem("cannot stat " . shown("$path/$name") . ": $!") if $! != ENOENT;
			next;
		}
		# Another file system: a mount point (lstat shows what is mounted there), left alone.
		next if $st[0] != $tree->{dev};
		if (($st[2] & S_IFMT) == S_IFDIR) {
			$child->($name, \@st, "$path/$name");
			chdir($handle) or fatal("cannot return to " . shown($path) . ": $!");
		} elsif ($st[4] != $uid || $st[5] != $gid) {
			$open_first = reown_entry($name, $path);
			if (!defined $open_first) {
				problem(shown("$path/$name") . " was replaced by a directory while the repair looked at it; left alone");
				$open_first = 0;
			}
		}
	}
}

# Depth first below the directory entered through HANDLE.
sub walk_below {
	my ($handle, $path) = @_;
	each_entry(
		$handle, $path,
		sub {
			my ($name, $st, $child_path) = @_;
			my $child = open_directory($name, $st, $child_path) or return;
			walk_below($child, $child_path);
		}
	);
}

# A directory found but not opened yet: {parent, name, st, path, tree}. Opens and walks it.
sub walk_item {
	my ($item) = @_;
	$tree = $item->{tree};
	chdir($item->{parent}) or fatal("cannot enter the parent of " . shown($item->{path}) . ": $!");
	my $handle = open_directory($item->{name}, $item->{st}, $item->{path}) or return;
	walk_below($handle, $item->{path});
}

# --- walker processes ---

# What one walker process found, as lines for its parent (paths are shown(): no tab, no newline).
sub report_lines {
	my @lines = ("c\t$changed", "n\t$problems");
	push(@lines, "p\t$_") for @problem_lines;
	for my $key (keys %links) {
		my $entry = $links{$key};
		push(@lines, join("\t", "l", $key, @{$entry}{qw(nlink ctime found state)}, @{ $entry->{paths} }));
	}
	return @lines;
}

# Adds a walker process's report to this process's state. An inode with links in several
# processes' parts: re-owned if one process found all of its links; otherwise "split" when
# together they found all, which only a walk by a single process may decide.
sub merge_report {
	my ($handle) = @_;
	while (my $line = <$handle>) {
		chomp($line);
		my ($kind, @fields) = split(/\t/, $line, -1);
		if ($kind eq "c") {
			$changed += $fields[0];
		} elsif ($kind eq "n") {
			$problems += $fields[0];
		} elsif ($kind eq "p") {
			push(@problem_lines, $fields[0]) if @problem_lines < $shown_max;
		} elsif ($kind eq "l") {
			my ($key, $nlink, $ctime, $found, $state, @paths) = @fields;
			my $entry = $links{$key};
			if (!$entry) {
				$links{$key} = { nlink => $nlink, ctime => $ctime, found => $found, paths => \@paths, state => $state };
				next;
			}
			$entry->{found} += $found;
			push(@{ $entry->{paths} }, @paths);
			splice(@{ $entry->{paths} }, $shown_max) if @{ $entry->{paths} } > $shown_max;
			next if $entry->{state} eq "done";
			if ($state eq "done") {
				$entry->{state} = "done";
			} elsif ($nlink != $entry->{nlink} || $ctime != $entry->{ctime} || $state eq "moving") {
				$entry->{state} = "moving";
			} elsif ($state eq "counting" && ($entry->{state} eq "counting" || $entry->{state} eq "split")) {
				$entry->{state} = "split" if $entry->{found} >= $entry->{nlink};
			} elsif ($entry->{state} eq "counting" || $entry->{state} eq "split") {
				$entry->{state} = $state;
			}
		}
	}
}

# Walks the directories of WORK in COUNT processes; each takes the next from a pipe.
sub walk_in_processes {
	my ($count, @work) = @_;
	pipe(my $queue_out, my $queue_in) or fatal("pipe: $!");
	my @children;
	for (1 .. $count) {
		pipe(my $report_out, my $report_in) or fatal("pipe: $!");
		my $pid = fork();
		fatal("fork: $!") unless defined $pid;
		if ($pid == 0) {
			close($queue_in);
			close($report_out);
			close($_->{report}) for @children;
			%links = ();
			@problem_lines = ();
			($changed, $problems) = (0, 0);
			while (sysread($queue_out, my $record, 4) == 4) {
				walk_item($work[unpack("N", $record)]);
			}
			print {$report_in} map { "$_\n" } report_lines();
			close($report_in) or POSIX::_exit(1);
			POSIX::_exit(0);
		}
		close($report_in);
		push(@children, { pid => $pid, report => $report_out });
	}
	close($queue_out);
	# Records of 4 bytes in writes of at most 4096 (PIPE_BUF): a reader never gets half a record.
	my @records = map { pack("N", $_) } 0 .. $#work;
	while (my @chunk = splice(@records, 0, 1024)) {
		defined(syswrite($queue_in, join("", @chunk))) or fatal("writing to the walker processes: $!");
	}
	close($queue_in);
	my $failed = 0;
	for my $child (@children) {
		merge_report($child->{report});
		close($child->{report});
		waitpid($child->{pid}, 0);
		$failed++ if $? != 0;
	}
	fatal("$failed of the walker processes failed (see above); nothing outside the trees was touched. Re-run") if $failed;
}

# One walk of every tree. The first levels are walked here, breadth first, until there are
# enough directories to share out; those go to PROCESS_COUNT walker processes (or are walked here).
sub walk_trees {
	my ($process_count) = @_;
	%visited = ();
	%links = ();
	$walk_start = time();
	my $trees = 0;
	my @level;
	for my $root (@roots) {
		my @st = lstat($root);
		next if !@st && $! == ENOENT;
		fatal("cannot stat $root: $!") unless @st;
		sysopen(my $handle, $root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) or fatal("cannot open $root: $!");
		my @now = stat($handle);
		fatal("$root was replaced while the repair opened it; re-run") if $now[0] != $st[0] || $now[1] != $st[1];
		next if $visited{"$now[0]:$now[1]"}++;
		$trees++;
		my $status = status_of_fd(fileno($handle)) or fatal("cannot stat $root: $!");
		$tree = { dev => $now[0], fd_dev => $status->[0], mount => mount_of_fd(fileno($handle), $status) };
		if ($now[4] != $uid || $now[5] != $gid) {
			chown($uid, $gid, $handle) ? $changed++ : problem("cannot re-own $root: $!");
		}
		push(@level, { handle => $handle, path => $root, tree => $tree });
	}
	my @work;
	while (@level) {
		@work = ();
		for my $directory (@level) {
			$tree = $directory->{tree};
			each_entry(
				$directory->{handle}, $directory->{path},
				sub {
					my ($name, $st, $path) = @_;
					push(@work, { parent => $directory->{handle}, name => $name, st => $st, path => $path, tree => $directory->{tree} });
				}
			);
		}
		last if @work >= WORK_ITEMS_WANTED || $process_count <= 1;
		@level = ();
		for my $item (@work) {
			$tree = $item->{tree};
			chdir($item->{parent}) or fatal("cannot enter the parent of " . shown($item->{path}) . ": $!");
			my $handle = open_directory($item->{name}, $item->{st}, $item->{path}) or next;
			push(@level, { handle => $handle, path => $item->{path}, tree => $item->{tree} });
		}
		@work = ();
	}
	if ($process_count > 1 && @work > 1) {
		walk_in_processes($process_count < @work ? $process_count : scalar(@work), @work);
	} else {
		walk_item($_) for @work;
	}
	chdir("/");
	return $trees;
}

# Multiply-linked files the last walk left alone: with FINAL, counted and the first few named;
# without, the newest ctime of those a later walk has to decide (undef: none).
sub links_left {
	my ($final) = @_;
	my ($skipped, $shown, $later, $settle) = (0, 0, 0, undef);
	for my $entry (values %links) {
		my $state = $entry->{state};
		next if $state eq "done" || $state eq "failed";
		if (!$final) {
			$later = 1 if $state eq "split" || $state eq "recent";
			$settle = $entry->{ctime} if $state eq "recent" && (!defined $settle || $entry->{ctime} > $settle);
			next;
		}
		$skipped += $entry->{found};
		my $why =
			$state eq "counting" ? "$entry->{found} of its $entry->{nlink} hard links are inside the owned trees, so it stays as it is (re-own it by hand only if every link is meant to belong to the service)"
			: $state eq "unprotected" ? "it has $entry->{nlink} hard links and fs.protected_hardlinks is $protected, so any user could have linked it from elsewhere; it stays as it is (set fs.protected_hardlinks=1 and re-run, or re-own it by hand)"
			: "its hard links changed while the repair ran, so it stays as it is; re-run";
		for my $path (@{ $entry->{paths} }) {
			last if $shown >= $shown_max;
			$shown++;
			note("skipped " . shown($path) . ": $why");
		}
	}
	return $final ? $skipped : ($later ? ($settle // 0) : undef);
}

my $trees = walk_trees($processes);
if ($problems == 0) {
	my $settle = links_left(0);
	if (defined $settle) {
		# Links found by different processes, or changed just before the walk: one more walk in
		# this process alone, once a change cannot share the ctime second any more.
		sleep(1) while time() < $settle + SETTLE_SECONDS;
		$trees = walk_trees(1);
	}
}
if ($problems > 0) {
	note($_) for @problem_lines;
	fatal("$problems entries could not be re-owned safely (see above): something changed the trees while the repair ran, or re-owning failed. They were left alone and nothing outside the trees was touched. Fix: stop whatever writes the trees, then re-run");
}
my $skipped = links_left(1);
print "$changed $skipped $trees $mounts_inside $protected\n";
WALKER
}

# --- main ---

acquire_lock
work=$(mktemp -d)
: >"$work/probe"
find_roots
command -v perl >/dev/null 2>&1 ||
	die "perl is not installed (Debian: perl-base; RHEL family: perl-interpreter), and the repair needs it to walk the trees safely. Nothing was changed. Fix: install it, then re-run"
stop_writers
walk_trees >"$work/walk" || die "re-owning stopped (see the messages above). Nothing outside the trees was touched. Fix the cause, then re-run"
read -r changed skipped trees mounts protected <"$work/walk"
restart_writers
if [ "$skipped" -gt 0 ]; then
	note "skipped $skipped multiply-linked file name(s): see above"
fi
printf '{"changed":%s,"skipped":%s,"trees":%s,"mountsLeftAlone":%s,"protectedHardlinks":%s,"stoppedContainers":%s,"restartedContainers":%s}\n' \
	"$changed" "$skipped" "$trees" "$mounts" "$protected" "$(json_names "$stopped_names")" "$(json_names "$restarted_names")"
