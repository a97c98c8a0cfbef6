#!/bin/sh
# Test fixture, not a product script: repair-ownership.sh as of commit e61b47a (the version the
# security review broke), with its provision-lock library inlined the way loadScript does.
# test/host/repair-attacks.test.ts runs the same attacks against it, to show that they catch the
# bug the current script fixes. Never run it on a real host.
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
# Each tree is walked once; multiply-linked files are decided from that walk's list.
# It keeps no state: killed at any point, the next run finds what is still wrong and finishes.
# Needs GNU findutils (-printf, -samefile, xargs -0), awk (mawk or gawk) and /proc/self/mountinfo.
#
# Prints one JSON line last:
#   {"changed":0,"skipped":0,"trees":4,"mountsLeftAlone":0,"protectedHardlinks":1}
set -eu
umask 077

readonly TREES="/var/lib/replicated /var/run/replicated /var/lib/replicated-operator /var/run/replicated-operator"
# chown -h processes working in parallel on the main pass's batches (the walk runs alongside).
readonly CHOWN_JOBS=2
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

# replicated-library: provision-lock
#
# Inlined by loadScript (components/shell.ts) where a host script says
# "# replicated-include: provision-lock"; each script travels alone on stdin, so it cannot source
# a file. Uses the script's own die and note.
#
# One provisioning run at a time per host (two `pulumi up`, or an operator running by hand):
# flock where util-linux has it; otherwise a mkdir lock holding the owner's pid, taken over when
# that process is gone (a killed run). release_lock removes a mkdir lock: call it on exit.
readonly LOCK_FILE=/run/replicated-provision.lock
readonly LOCK_WAIT_SECONDS=120
held_lock_dir=""

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
	held_lock_dir=$lock_dir
}

release_lock() {
	if [ -n "$held_lock_dir" ]; then
		rm -rf -- "$held_lock_dir"
	fi
}

work=""
cleanup() {
	if [ -n "$work" ]; then
		rm -rf -- "$work"
	fi
	release_lock
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

# One walk of each tree: every entry that differs is re-owned by chown -h in batches as the walk
# finds it (find | xargs: the walk and the chowns overlap), except multiply-linked
# non-directories, recorded NUL-terminated as "dev:inode nlink root-index ./path" for the link
# check. The same inode has one owner, so every link of a mismatching file inside is listed.
main_pass() {
	pass=$1
	status=0
	root_index=0
	rm -f -- "$work/find.failed"
	while read -r root; do
		{
			run_find "$root" \
				"(" ! -user "$owner_uid" -o ! -group "$owner_gid" ")" \
				"(" ! -type d -links +1 \
				-fprintf "$work/multi.$pass.$root_index" "%D:%i %n $root_index %p\\0" \
				-o -fprintf "$work/changed.$pass.$root_index" 'x' -print0 ")" ||
				: >"$work/find.failed"
		} | (cd -P -- "$root" && exec xargs -0 -r -P "$CHOWN_JOBS" chown -h -- "$owner_uid:$owner_gid") || status=1
		if [ -e "$work/find.failed" ]; then
			status=1
		fi
		root_index=$((root_index + 1))
	done <"$work/roots"
	return "$status"
}

# From the main pass's list alone (no further walk): a multiply-linked file whose every link is
# inside the trees (paths listed per dev:inode >= st_nlink) is re-owned; the others are counted
# and the first $SKIPPED_SHOWN of their names printed on stderr.
hardlink_pass() {
	cat -- "$work"/multi.* 2>/dev/null >"$work/multi" || true
	: >"$work/links"
	if [ -s "$work/multi" ]; then
		# shellcheck disable=SC2016 # awk's own $ fields
		awk -v work="$work" -v shown_max="$SKIPPED_SHOWN" '
			BEGIN {
				roots = 0
				while ((getline line < (work "/roots")) > 0) root[roots++] = line
				close(work "/roots")
				RS = "\0"
				ORS = "\0"
				records = 0
			}
			{
				rest = $0
				cut = index(rest, " "); key = substr(rest, 1, cut - 1); rest = substr(rest, cut + 1)
				cut = index(rest, " "); nlink[key] = substr(rest, 1, cut - 1) + 0; rest = substr(rest, cut + 1)
				cut = index(rest, " "); index_of[records] = substr(rest, 1, cut - 1); path_of[records] = substr(rest, cut + 1)
				key_of[records] = key
				paths[key]++
				records++
			}
			END {
				safe = 0; skipped = 0; shown = 0
				for (r = 0; r < records; r++) {
					key = key_of[r]
					if (paths[key] >= nlink[key]) {
						print path_of[r] > (work "/safe." index_of[r])
						safe++
						continue
					}
					skipped++
					if (shown < shown_max) {
						printf "skipped %s/%s: %d of its %d hard links are inside the owned trees, so it stays as it is (re-own it by hand only if every link is meant to belong to the service)\n", root[index_of[r]], substr(path_of[r], 3), paths[key], nlink[key]
						shown++
					}
				}
				printf "%d %d\n", safe, skipped > (work "/links")
			}
		' <"$work/multi" >&2
	fi
	read -r safe skipped <"$work/links" || {
		safe=0
		skipped=0
	}
	root_index=0
	while read -r root; do
		if [ -s "$work/safe.$root_index" ]; then
			(cd -P -- "$root" && exec xargs -0 -r chown -h -- "$owner_uid:$owner_gid" <"$work/safe.$root_index") ||
				die "re-owning hard-linked files below $root failed; see the messages above. Re-run to finish"
		fi
		root_index=$((root_index + 1))
	done <"$work/roots"
}

# --- main ---

acquire_lock
work=$(mktemp -d)
find_roots
find_mounts_below_roots
skipped=0
safe=0

if ! main_pass 1; then
	# Entries that vanish while the tree is walked (a running service) make find or chown fail;
	# a second pass finds only what is still wrong.
	note "the first pass reported errors (see above); checking again"
	rm -f -- "$work"/multi.*
	main_pass 2 || die "re-owning failed twice; see the messages above. Nothing outside the trees was touched. Fix the cause, then re-run"
fi
hardlink_pass

changed=$(($(cat -- "$work"/changed.* 2>/dev/null | wc -c) + safe))
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
