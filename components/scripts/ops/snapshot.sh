#!/bin/sh
# replicated-script: op-snapshot
#
# Runs INSIDE the helper container (root, no network; started by elevated-run, which pauses
# every container writing Replicated's state for the duration). /var/lib/replicated is mounted
# read-only at /source, DESTINATION read-write at its own path. Guarantees:
#   - DESTINATION/REQUEST/ is an exact copy of the state (symlinks kept as links, modes and times
#     kept) plus SHA256SUMS, a manifest of every regular file that `sha256sum -c` verifies;
#     support-bundles/ is left out (diagnostics, not state);
#   - the copy is checked file for file against checksums of the source taken in the same run;
#   - it appears atomically: copied into DESTINATION/.REQUEST.partial, then renamed; an existing
#     DESTINATION/REQUEST is never touched;
#   - everything in it is owned OWNER_UID:OWNER_GID (the top directory 0750).
# Usage: sh -s -- REQUEST DESTINATION OWNER_UID OWNER_GID
# Prints: {"operation":"snapshot","request":...,"path":...,"files":N,"bytes":N,"sha256":...,
#          "verified":true,"changed":1}   (sha256 is that of the SHA256SUMS manifest)
set -eu
umask 077
export LC_ALL=C

readonly SOURCE=/source

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="snapshot"
# replicated-include: messages

[ "$#" -eq 4 ] || die "usage: REQUEST DESTINATION OWNER_UID OWNER_GID"
request=$1
destination=$2
owner_uid=$3
owner_gid=$4
case $request in "" | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*) die "invalid request id" ;; esac
case $owner_uid$owner_gid in *[!0-9]*) die "owner must be numeric" ;; esac
if [ ! -d "$destination" ] || [ -L "$destination" ]; then die "destination $destination is not a directory"; fi

final=$destination/$request
partial=$destination/.$request.partial

readonly EXCLUDED=support-bundles

# checksums DIR: "<sha256>  ./<path>" for every regular file below DIR, sorted by path.
checksums() {
	(cd "$1" && find . -path "./$EXCLUDED" -prune -o -type f ! -path ./SHA256SUMS -exec sha256sum {} + | sort -k 2)
}

ensure_fresh_partial() {
	if [ -e "$partial" ] || [ -L "$partial" ]; then
		printf 'snapshot: removing %s left by an interrupted run\n' "$partial" >&2
		rm -rf -- "$partial"
	fi
	mkdir -m 0700 -- "$partial"
}

copy_state() {
	if [ -e "$SOURCE/SHA256SUMS" ]; then
		die "/var/lib/replicated/SHA256SUMS exists and would collide with the snapshot manifest; move it away"
	fi
	checksums "$SOURCE" >/tmp/source.sums
	for entry in "$SOURCE"/* "$SOURCE"/.[!.]* "$SOURCE"/..?*; do
		[ -e "$entry" ] || [ -L "$entry" ] || continue
		[ "${entry##*/}" != "$EXCLUDED" ] || continue
		cp -a -- "$entry" "$partial/"
	done
	checksums "$partial" >/tmp/copy.sums
	cmp -s /tmp/source.sums /tmp/copy.sums || die "the copy differs from the source (checksums do not match); nothing was published"
	set -C
	cat /tmp/copy.sums >"$partial/SHA256SUMS"
	set +C
	(cd "$partial" && sha256sum -c SHA256SUMS >/dev/null) || die "SHA256SUMS does not verify"
}

give_to_owner() {
	chmod 0640 -- "$partial/SHA256SUMS"
	chmod 0750 -- "$partial"
	chown -R -h -- "$owner_uid:$owner_gid" "$partial"
}

publish() {
	if [ -e "$final" ] || [ -L "$final" ]; then
		die "$final appeared while copying; keeping it, the new copy is left in $partial"
	fi
	mv -- "$partial" "$final"
}

if [ -e "$final" ] || [ -L "$final" ]; then
	die "$final already exists; choose a new request id"
fi
ensure_fresh_partial
copy_state
give_to_owner
publish

files=$(wc -l <"$final/SHA256SUMS" | tr -d ' ')
bytes=$(find "$final" -type f ! -path "$final/SHA256SUMS" -exec stat -c %s {} + | awk '{ total += $1 } END { printf "%.0f", total }')
sha256=$(sha256sum "$final/SHA256SUMS" | cut -d ' ' -f 1)
printf '{"operation":"snapshot","request":"%s","path":"%s","files":%s,"bytes":%s,"sha256":"%s","verified":true,"changed":1}\n' \
	"$request" "$final" "$files" "$bytes" "$sha256"
