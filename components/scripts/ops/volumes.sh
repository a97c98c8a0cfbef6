#!/bin/sh
# replicated-script: op-volumes
#
# Runs INSIDE the helper container (root, no network; started by elevated-run). Each allowed
# root is mounted at its own path, so absolute symlinks resolve as they would on the host, and
# anything that leads outside the mounted roots lands in the container's read-only file system.
# Guarantees, for every PATH UID GID MODE:
#   - PATH lies strictly below one of the ROOTs (re-checked here), no '.', '..' or empty part;
#   - no component below the root is a symlink that leads outside that root, and PATH itself is
#     a real directory (a symlink or a file there is an error, never replaced);
#   - missing parents are created root:root 0755, PATH itself with MODE, then owned UID:GID;
#   - an existing PATH is only changed where its owner, group or mode differ (idempotent: a
#     converged host reports "changed":0).
# Usage: sh -s -- REQUEST ROOT_COUNT ROOT... PATH UID GID MODE [PATH UID GID MODE]...
# Prints: {"operation":"volumes","request":...,"volumes":N,"created":N,"updated":N,"paths":[...],"changed":N}
set -eu
umask 022

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="volumes"
# replicated-include: messages

[ "$#" -ge 6 ] || die "usage: REQUEST ROOT_COUNT ROOT... PATH UID GID MODE..."
request=$1
root_count=$2
shift 2
case $request in "" | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*) die "invalid request id" ;; esac
case $root_count in "" | *[!0-9]*) die "invalid root count" ;; esac
roots=
while [ "$root_count" -gt 0 ]; do
	roots="$roots $1"
	shift
	root_count=$((root_count - 1))
done
if [ "$#" -lt 4 ] || [ $(($# % 4)) -ne 0 ]; then die "each volume needs PATH UID GID MODE"; fi

created=0
updated=0
count=0
paths=

# root_of PATH: the allowed root PATH lies strictly below, or nothing.
root_of() {
	for root in $roots; do
		case $1 in "$root"/*)
			printf '%s\n' "$root"
			return 0
			;;
		esac
	done
	return 1
}

# Walk PATH below ROOT one component at a time, creating what is missing and refusing a
# symlink that leaves ROOT (or any symlink as the volume itself).
ensure_path_inside_root() {
	path=$1
	root=$2
	rest=${path#"$root"/}
	current=$root
	while [ -n "$rest" ]; do
		part=${rest%%/*}
		if [ "$part" = "$rest" ]; then rest=; else rest=${rest#*/}; fi
		case $part in "" | . | ..) die "$path: empty, '.' or '..' component" ;; esac
		current=$current/$part
		if [ -L "$current" ]; then
			target=$(readlink -f -- "$current" || true)
			case $target in
			"$root"/*) ;;
			*) die "$current is a symlink that leads outside the allowed root $root (to ${target:-an unresolvable target}); remove it or choose another path" ;;
			esac
			[ -n "$rest" ] || die "$path is a symlink; a volume must be a real directory"
		elif [ ! -e "$current" ]; then
			mkdir -- "$current"
			if [ -n "$rest" ]; then chmod 0755 -- "$current"; fi
			created=$((created + 1))
		elif [ ! -d "$current" ]; then
			die "$current exists and is not a directory; move it away or choose another path"
		fi
	done
	resolved=$(readlink -f -- "$path")
	case $resolved in
	"$root"/*) ;;
	*) die "$path resolves to $resolved, outside the allowed root $root" ;;
	esac
}

# Owner, group and mode exactly as requested; only what differs is changed.
ensure_volume() {
	path=$1
	uid=$2
	gid=$3
	want_mode=$(printf '%o' "0$4")
	root=$(root_of "$path") || die "$path is not below an allowed root (${roots# })"
	before=$created
	ensure_path_inside_root "$path" "$root"
	have=$(stat -c '%u:%g:%a' -- "$path")
	have_uid=${have%%:*}
	have=${have#*:}
	have_gid=${have%%:*}
	have_mode=${have#*:}
	changed_here=no
	if [ "$(printf '%o' "0$have_mode")" != "$want_mode" ]; then
		chmod -- "$want_mode" "$path"
		changed_here=yes
	fi
	if [ "$have_uid" != "$uid" ] || [ "$have_gid" != "$gid" ]; then
		chown -h -- "$uid:$gid" "$path"
		changed_here=yes
	fi
	if [ "$changed_here" = yes ] && [ "$created" -eq "$before" ]; then
		updated=$((updated + 1))
	fi
	count=$((count + 1))
	paths="$paths${paths:+,}\"$path\""
}

while [ "$#" -ge 4 ]; do
	ensure_volume "$1" "$2" "$3" "$4"
	shift 4
done

printf '{"operation":"volumes","request":"%s","volumes":%s,"created":%s,"updated":%s,"paths":[%s],"changed":%s}\n' \
	"$request" "$count" "$created" "$updated" "$paths" "$((created + updated))"
