#!/bin/sh
# replicated-script: version-guard
#
# Guards the Replicated version on one host: compares the version this run deploys with the one
# deployed before, refuses a downgrade unless it is explicitly allowed, and then records the new
# version. Images and containers wait for this script, so a refused downgrade changes nothing.
#
# Usage: sh -s -- <version> <channel> <allow downgrade: true|false>
#
# The record is /var/lib/replicated-deploy/version (directory 0755 root:root, file 0644
# root:root: outside the service user's trees, so the service cannot rewrite it), holding
# "version=<x.y.z>" and "channel=<channel>" lines. It is written only after the comparison passed,
# and replaced atomically (a killed run leaves the old record or the new one).
# Without a record (a host installed before this guard existed, e.g. by the original installer),
# the previous version is read from the image tag of the running replicated or
# replicated-operator container; without either it is a new install.
# Versions compare as semantic versions (major, minor, patch, numerically).
#
# Prints one JSON line last:
#   {"previous":"2.53.2","previousChannel":"stable","previousSource":"record","version":"2.54.0",
#    "channel":"stable","direction":"upgrade","changed":1}
# direction: install, same, upgrade, downgrade, or channel (same version, other channel).
set -eu
umask 022

readonly RECORD_DIR=/var/lib/replicated-deploy
readonly RECORD_FILE=/var/lib/replicated-deploy/version
readonly LOCK_FILE=/run/replicated-version-guard.lock
readonly LOCK_WAIT_SECONDS=120
# Containers whose image tag tells the running version on a host without a record.
readonly VERSIONED_CONTAINERS="replicated replicated-operator"

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="version-guard"
# replicated-include: messages

# --- arguments (validated again here: the script must be safe when run by hand) ---

[ "$#" -eq 3 ] || die "usage: version-guard.sh <version> <channel> <true|false> (got $# arguments)"
version=$1
channel=$2
allow_downgrade=$3

# x.y.z, each part 0 or a number without a leading zero, at most 9 digits (no overflow below).
valid_version() {
	case $1 in
	*[!0-9.]* | .* | *. | *..*) return 1 ;;
	esac
	rest=$1
	parts=0
	while [ -n "$rest" ]; do
		part=${rest%%.*}
		case $part in
		'' | 0?*) return 1 ;;
		esac
		[ "${#part}" -le 9 ] || return 1
		parts=$((parts + 1))
		case $rest in
		*.*) rest=${rest#*.} ;;
		*) rest="" ;;
		esac
	done
	[ "$parts" -eq 3 ]
}

valid_channel() {
	case $1 in
	'' | [!a-z0-9]* | *[!a-z0-9-]*) return 1 ;;
	esac
	[ "${#1}" -le 31 ]
}

valid_version "$version" || die "invalid version \"$version\": it must be <major>.<minor>.<patch>, e.g. 2.53.2"
valid_channel "$channel" || die "invalid channel \"$channel\": it must match ^[a-z0-9][a-z0-9-]{0,30}\$"
case $allow_downgrade in
true | false) ;;
*) die "the third argument must be true or false (replicated:allowDowngrade), got \"$allow_downgrade\"" ;;
esac

# --- comparison ---

# compare_versions A B: prints -1, 0 or 1 as A is older than, equal to or newer than B.
compare_versions() {
	a=$1
	b=$2
	for _ in 1 2 3; do
		a_part=${a%%.*}
		b_part=${b%%.*}
		if [ "$a_part" -lt "$b_part" ]; then
			echo -1
			return 0
		fi
		if [ "$a_part" -gt "$b_part" ]; then
			echo 1
			return 0
		fi
		a=${a#*.}
		b=${b#*.}
	done
	echo 0
}

# --- lock ---

# One guard at a time per host (two stacks, or a run by hand). Its own lock, not the provisioning
# one, so a long ownership migration cannot time it out. Without flock the atomic rename still
# keeps the record whole.
acquire_lock() {
	command -v flock >/dev/null 2>&1 || return 0
	exec 9>>"$LOCK_FILE"
	flock -w "$LOCK_WAIT_SECONDS" 9 ||
		die "another version check still holds $LOCK_FILE after ${LOCK_WAIT_SECONDS}s. Fix: wait for it to finish, then re-run"
}

# --- the record ---

# The record directory must be root's alone: whoever can write it could plant a record (or a
# symlink in its place).
check_record_dir() {
	[ -e "$RECORD_DIR" ] || [ -L "$RECORD_DIR" ] || return 0
	if [ -L "$RECORD_DIR" ]; then
		die "$RECORD_DIR is a symbolic link (to $(readlink -- "$RECORD_DIR" || printf '?')), not a directory. Nothing was changed. Fix: remove the link, then re-run"
	fi
	[ -d "$RECORD_DIR" ] || die "$RECORD_DIR exists but is $(stat -c %F -- "$RECORD_DIR"), not a directory. Nothing was changed. Fix: move it away, then re-run"
	dir_owner=$(stat -c %u -- "$RECORD_DIR")
	dir_mode=$(stat -c %a -- "$RECORD_DIR")
	if [ "$dir_owner" != 0 ] || [ $((0$dir_mode & 022)) -ne 0 ]; then
		die "$RECORD_DIR belongs to uid $dir_owner with mode $dir_mode; it must belong to root and be writable by root only. Nothing was changed. Fix: chown root:root $RECORD_DIR && chmod 0755 $RECORD_DIR, check the record in it, then re-run"
	fi
}

# Sets previous_version and previous_channel from the record; returns 1 when there is none.
read_record() {
	[ -e "$RECORD_FILE" ] || [ -L "$RECORD_FILE" ] || return 1
	if [ -L "$RECORD_FILE" ] || [ ! -f "$RECORD_FILE" ]; then
		die "$RECORD_FILE is not a regular file. Nothing was changed. Fix: remove it (the next run then takes the version from the running containers), then re-run"
	fi
	[ "$(stat -c %u -- "$RECORD_FILE")" = 0 ] ||
		die "$RECORD_FILE does not belong to root. Nothing was changed. Fix: check its content, chown root:root $RECORD_FILE, then re-run"
	previous_version=$(sed -n 's/^version=//p' -- "$RECORD_FILE" | head -n 1)
	previous_channel=$(sed -n 's/^channel=//p' -- "$RECORD_FILE" | head -n 1)
	valid_version "$previous_version" ||
		die "$RECORD_FILE holds no valid version line (version=<x.y.z>). Nothing was changed. Fix: write the version deployed on this host into it (printf 'version=2.53.2\\nchannel=stable\\n' > $RECORD_FILE), or remove it, then re-run"
	if ! valid_channel "$previous_channel"; then
		previous_channel=""
	fi
	return 0
}

# Sets previous_version and previous_channel from the image tag of a running Replicated
# container (the original installer runs <registry>/<name>:<channel>-<version>); returns 1 when
# none tells. Several tags on one image: the newest version counts (the safe side for a downgrade).
read_running_version() {
	command -v docker >/dev/null 2>&1 || return 1
	run_timeout=""
	if command -v timeout >/dev/null 2>&1; then
		run_timeout="timeout 30"
	fi
	found=1
	for container in $VERSIONED_CONTAINERS; do
		# Config.Image is the reference the container was created with; this program passes an
		# image id there, so the image's own tags are read too.
		refs=$($run_timeout docker inspect --type container --format '{{.Config.Image}}' -- "$container" 2>/dev/null) || continue
		image_id=$($run_timeout docker inspect --type container --format '{{.Image}}' -- "$container" 2>/dev/null) || image_id=""
		if [ -n "$image_id" ]; then
			refs="$refs $($run_timeout docker image inspect --format '{{join .RepoTags " "}}' -- "$image_id" 2>/dev/null || true)"
		fi
		for ref in $refs; do
			case $ref in
			*:*) tag=${ref##*:} ;;
			*) continue ;;
			esac
			case $tag in
			*-*) tag_version=${tag##*-} tag_channel=${tag%-*} ;;
			*) tag_version=$tag tag_channel="" ;;
			esac
			valid_version "$tag_version" || continue
			valid_channel "$tag_channel" || tag_channel=""
			if [ "$found" = 1 ] || [ "$(compare_versions "$tag_version" "$previous_version")" = 1 ]; then
				previous_version=$tag_version
				previous_channel=$tag_channel
				found=0
			fi
		done
	done
	return "$found"
}

ensure_record_dir() {
	[ -d "$RECORD_DIR" ] && return 0
	mkdir -m 0755 -- "$RECORD_DIR" || die "cannot create $RECORD_DIR; see the message above"
	chown 0:0 -- "$RECORD_DIR"
}

# Write the record next to the old one and rename it over (atomic on one file system).
write_record() {
	ensure_record_dir
	new_record=$(mktemp -- "$RECORD_DIR/.version.XXXXXX") || die "cannot create a file in $RECORD_DIR; see the message above"
	printf 'version=%s\nchannel=%s\n' "$version" "$channel" >"$new_record"
	chown 0:0 -- "$new_record"
	chmod 0644 -- "$new_record"
	mv -f -- "$new_record" "$RECORD_FILE"
}

json_string_or_null() {
	if [ -n "$1" ]; then
		printf '"%s"' "$1"
	else
		printf 'null'
	fi
}

# --- main ---

acquire_lock
check_record_dir

previous_version=""
previous_channel=""
if read_record; then
	previous_source=record
elif read_running_version; then
	previous_source=containers
else
	previous_source=none
fi

if [ -z "$previous_version" ]; then
	direction=install
else
	case $(compare_versions "$version" "$previous_version") in
	1) direction=upgrade ;;
	-1) direction=downgrade ;;
	*)
		if [ "$previous_source" = record ] && [ "$channel" != "$previous_channel" ]; then
			direction=channel
		else
			direction=same
		fi
		;;
	esac
fi

where=$RECORD_FILE
if [ "$previous_source" = containers ]; then
	where="the image tags of the running Replicated containers"
fi
if [ "$direction" = downgrade ]; then
	if [ "$allow_downgrade" != true ]; then
		die "refusing to downgrade Replicated from $previous_version (found in $where) to $version: a downgrade needs replicated:allowDowngrade. Nothing was changed on this host. Fix: set replicated:version to $previous_version or later; or, to roll back on purpose, run 'pulumi config set replicated:allowDowngrade true' (check that $version can read the data $previous_version wrote), then re-run"
	fi
	note "downgrading Replicated from $previous_version to $version (replicated:allowDowngrade is set)"
fi

changed=0
if [ "$previous_source" != record ] || [ "$direction" != same ]; then
	write_record
	changed=1
fi

printf '{"previous":%s,"previousChannel":%s,"previousSource":"%s","version":"%s","channel":"%s","direction":"%s","changed":%s}\n' \
	"$(json_string_or_null "$previous_version")" "$(json_string_or_null "$previous_channel")" "$previous_source" \
	"$version" "$channel" "$direction" "$changed"
