#!/bin/sh
# replicated-script: repair-ownership
#
# Re-owns Replicated's own trees to <uid>:<gid>: /var/lib/replicated, /var/run/replicated,
# /var/lib/replicated-operator and /var/run/replicated-operator, each where it exists. On a fresh
# host it changes nothing; on a host leaving legacy root mode it is the migration of the data.
#
# Usage: sh -s -- <uid> <gid>
#
# Rules (each is what makes a recursive chown by root safe over a tree another user can write):
#   - only entries whose owner or group differ are touched (find ! -user / ! -group);
#   - symbolic links are never followed: find -P, and chown -h changes the link itself;
#   - no other file system is entered: find -xdev, and every mount point below a tree (including
#     bind mounts of the same file system, which -xdev cannot see) is pruned with everything in it;
#   - a non-directory with more than one hard link is re-owned only when ALL its links lie inside
#     the trees (links counted per inode inside the trees vs st_nlink); otherwise it is skipped and
#     reported, so a hard link to a file elsewhere (say a root-owned one) cannot be used to take it.
# It keeps no state: killed at any point, the next run finds what is still wrong and finishes.
# Needs GNU findutils (-printf, -samefile) and /proc/self/mountinfo.
#
# Prints one JSON line last:
#   {"changed":0,"skipped":0,"trees":4,"mountsLeftAlone":0,"protectedHardlinks":1}
set -eu
umask 077

readonly TREES="/var/lib/replicated /var/run/replicated /var/lib/replicated-operator /var/run/replicated-operator"
readonly LOCK_FILE=/run/replicated-provision.lock
readonly LOCK_WAIT_SECONDS=120
# -inum terms per find call when re-owning multiply-linked files (keeps argv small).
readonly INODE_BATCH=200
# Skipped files named on stderr (the count in the summary is complete).
readonly SKIPPED_SHOWN=20

die() {
	printf 'replicated repair-ownership: %s\n' "$*" >&2
	exit 1
}

note() {
	printf 'replicated repair-ownership: %s\n' "$*" >&2
}

# --- arguments (validated again here: the script must be safe when run by hand) ---

[ "$#" -eq 2 ] || die "usage: repair-ownership.sh <uid> <gid> (got $# arguments)"
owner_uid=$1
owner_gid=$2

valid_id() {
	case $1 in
	'' | *[!0-9]* | 0*) return 1 ;;
	esac
	[ "${#1}" -le 10 ] && [ "$1" -le 2147483646 ]
}

valid_id "$owner_uid" || die "invalid uid \"$owner_uid\": it must be an integer from 1 to 2147483646 (this repair never re-owns to root)"
valid_id "$owner_gid" || die "invalid gid \"$owner_gid\": it must be an integer from 1 to 2147483646"

# --- lock ---

acquire_lock() {
	if command -v flock >/dev/null 2>&1; then
		exec 9>>"$LOCK_FILE"
		flock -w "$LOCK_WAIT_SECONDS" 9 ||
			die "another provisioning run still holds $LOCK_FILE after ${LOCK_WAIT_SECONDS}s. Fix: wait for it to finish, then re-run"
		return 0
	fi
	lock_dir=$LOCK_FILE.d
	waited=0
	while ! mkdir -m 0700 -- "$lock_dir" 2>/dev/null; do
		holder=$(cat -- "$lock_dir/pid" 2>/dev/null || true)
		if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
			note "removing the stale lock $lock_dir of process $holder, which is gone"
			rm -rf -- "$lock_dir"
			continue
		fi
		[ "$waited" -lt "$LOCK_WAIT_SECONDS" ] ||
			die "another provisioning run still holds $lock_dir after ${LOCK_WAIT_SECONDS}s. Fix: wait for it, or remove $lock_dir if no run is active, then re-run"
		sleep 1
		waited=$((waited + 1))
	done
	printf '%s\n' "$$" >"$lock_dir/pid"
	release_mkdir_lock=$lock_dir
}

work=""
release_mkdir_lock=""
cleanup() {
	if [ -n "$work" ]; then
		rm -rf -- "$work"
	fi
	if [ -n "$release_mkdir_lock" ]; then
		rm -rf -- "$release_mkdir_lock"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- trees and mounts ---

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

# mountinfo escapes space, tab, newline and backslash as \ooo; printf %b wants \0ooo.
unescape_mount_path() {
	escaped=$(printf '%s' "$1" | sed 's/\\\([0-7][0-7][0-7]\)/\\0\1/g')
	decoded=$(printf '%bx' "$escaped")
	printf '%s' "${decoded%x}"
}

# Mount points strictly below a tree root, one per line, in $work/mounts (decoded paths cannot
# hold a newline here: such a mount point is reported and the run stops, nothing is guessed).
find_mounts_below_roots() {
	: >"$work/mounts"
	[ -r /proc/self/mountinfo ] || die "cannot read /proc/self/mountinfo, so mounts inside the trees cannot be excluded; refusing to re-own"
	# shellcheck disable=SC2034 # the unused fields of a mountinfo line
	while read -r _id _parent _devno _root mount_point _rest; do
		case $mount_point in
		*\\*) path=$(unescape_mount_path "$mount_point") ;;
		*) path=$mount_point ;;
		esac
		while read -r root; do
			case $path in
			"$root"/*)
				case $path in
				*'
'*) die "a mount point below $root has a newline in its name; unmount it or re-own by hand" ;;
				esac
				printf '%s\n' "$path" >>"$work/mounts"
				;;
			esac
		done <"$work/roots"
	done </proc/self/mountinfo
}

mounts_count() {
	grep -c . "$work/mounts" || true
}

# --- passes ---

# run_find ROOT EXPRESSION...: find -P . -xdev from inside ROOT, with every mount point below
# ROOT pruned. Paths relative to the root keep each chown's path lookup short (this is most of
# the cost on a large tree).
run_find() {
	root=$1
	shift
	# Rebuild the argument list: start point, -xdev, prunes, then the caller's expression.
	expression_count=$#
	set -- "$@" . -xdev
	if [ -s "$work/mounts" ]; then
		set -- "$@" "("
		first=1
		while read -r mount_point; do
			case $mount_point in
			"$root"/*)
				if [ "$first" = 0 ]; then
					set -- "$@" -o
				fi
				set -- "$@" -samefile "$mount_point"
				first=0
				;;
			esac
		done <"$work/mounts"
		if [ "$first" = 1 ]; then
			set -- "$@" -false
		fi
		set -- "$@" ")" -prune -o
	fi
	# Move the caller's expression (the first $expression_count parameters) to the end.
	while [ "$expression_count" -gt 0 ]; do
		set -- "$@" "$1"
		shift
		expression_count=$((expression_count - 1))
	done
	(cd -P -- "$root" && exec find -P "$@")
}

# Everything that differs except multiply-linked non-directories: re-owned in batches; those are
# recorded as "dev:inode nlink" lines for the link count check.
main_pass() {
	pass=$1
	status=0
	while read -r root; do
		run_find "$root" \
			"(" ! -type d -links +1 "(" ! -user "$owner_uid" -o ! -group "$owner_gid" ")" \
			-fprintf "$work/multi.$pass.$root_index" '%D:%i %n\n' ")" \
			-o "(" ! -user "$owner_uid" -o ! -group "$owner_gid" ")" \
			-fprintf "$work/changed.$pass.$root_index" 'x' \
			-exec chown -h -- "$owner_uid:$owner_gid" "{}" + || status=1
		root_index=$((root_index + 1))
	done <"$work/roots"
	return "$status"
}

count_bytes() {
	total=0
	for file in "$@"; do
		if [ -f "$file" ]; then
			total=$((total + $(wc -c <"$file")))
		fi
	done
	printf '%s\n' "$total"
}

# Re-own multiply-linked files whose every link is inside the trees; count and name the others.
hardlink_pass() {
	cat "$work"/multi.* 2>/dev/null | sort | uniq -c >"$work/tally" || true
	: >"$work/safe"
	: >"$work/unsafe"
	while read -r paths key nlink; do
		if [ "$paths" -ge "$nlink" ]; then
			printf '%s\n' "$key" >>"$work/safe"
		else
			printf '%s %s %s\n' "$key" "$paths" "$nlink" >>"$work/unsafe"
			skipped=$((skipped + paths))
		fi
	done <"$work/tally"

	root_index=0
	batch_index=0
	while read -r root; do
		device=$(stat -c %d -- "$root")
		grep "^$device:" "$work/safe" | cut -d: -f2 >"$work/safe.$root_index" || true
		while [ -s "$work/safe.$root_index" ]; do
			head -n "$INODE_BATCH" "$work/safe.$root_index" >"$work/batch"
			tail -n "+$((INODE_BATCH + 1))" "$work/safe.$root_index" >"$work/rest"
			mv -f -- "$work/rest" "$work/safe.$root_index"
			set -- "("
			first=1
			while read -r inode; do
				if [ "$first" = 0 ]; then
					set -- "$@" -o
				fi
				set -- "$@" -inum "$inode"
				first=0
			done <"$work/batch"
			batch_index=$((batch_index + 1))
			set -- "$@" ")" ! -type d "(" ! -user "$owner_uid" -o ! -group "$owner_gid" ")" \
				-fprintf "$work/changed.links.$batch_index" 'x' \
				-exec chown -h -- "$owner_uid:$owner_gid" "{}" +
			run_find "$root" "$@" || die "re-owning hard-linked files below $root failed; see the messages above. Re-run to finish"
		done

		shown=0
		# The root as literal text in a find -printf format.
		format_root=$(printf '%s' "$root" | sed 's/[%\\]/&&/g')
		while read -r key paths nlink && [ "$shown" -lt "$SKIPPED_SHOWN" ]; do
			case $key in
			"$device":*) ;;
			*) continue ;;
			esac
			inode=${key#*:}
			run_find "$root" ! -type d -inum "$inode" -printf "skipped $format_root/%P: $paths of its $nlink hard links are inside the owned trees, so it stays as it is (re-own it by hand only if every link is meant to belong to the service)\n" >&2 || true
			shown=$((shown + 1))
		done <"$work/unsafe"
		root_index=$((root_index + 1))
	done <"$work/roots"
}

# --- main ---

acquire_lock
work=$(mktemp -d)
find_roots
find_mounts_below_roots
skipped=0

root_index=0
if ! main_pass 1; then
	# Entries that vanish while the tree is walked (a running service) make find or chown fail;
	# a second pass finds only what is still wrong.
	note "the first pass reported errors (see above); checking again"
	rm -f -- "$work"/multi.*
	root_index=0
	main_pass 2 || die "re-owning failed twice; see the messages above. Nothing outside the trees was touched. Fix the cause, then re-run"
fi
hardlink_pass

changed=$(count_bytes "$work"/changed.*)
trees=$(grep -c . "$work/roots" || true)
mounts=$(mounts_count)
protected=null
if [ -r /proc/sys/fs/protected_hardlinks ]; then
	protected=$(cat /proc/sys/fs/protected_hardlinks)
fi
if [ "$skipped" -gt 0 ]; then
	note "skipped $skipped multiply-linked file(s) with links outside the trees"
fi
printf '{"changed":%s,"skipped":%s,"trees":%s,"mountsLeftAlone":%s,"protectedHardlinks":%s}\n' \
	"$changed" "$skipped" "$trees" "$mounts" "$protected"
