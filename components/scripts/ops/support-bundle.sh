#!/bin/sh
# replicated-script: op-support-bundle
#
# Runs INSIDE the helper container (root, no network; started by elevated-run). Writes one
# support bundle /var/lib/replicated/support-bundles/REQUEST.tar.gz (the state directory is
# mounted at /state), owned by OWNER_UID:OWNER_GID with mode 0640, and guarantees:
#   - it holds /var/log (root-only files included; rotated archives, binary login records and the
#     binary journal skipped; each file capped to its last 16 MiB), the env files
#     /etc/default/replicated* and /etc/sysconfig/replicated*, /etc/replicated.conf, and what the
#     host collected (docker info, docker ps, logs of the replicated containers, the journal of
#     the replicated units);
#   - secrets are redacted in every file (redact_stream, components/scripts/lib/redact.sh): by
#     value, every occurrence of a generated secret passed on stdin (the daemon token, which
#     lives only in the containers' env) and of every secret value found in the env files or
#     replicated.conf; by name, the values of token, password, secret, key, authorization and
#     cookie settings in env, JSON, YAML, flag and header form; URL credentials; PEM private keys;
#   - an existing bundle is never overwritten; the archive appears atomically (rename).
# Mounts: /host/var/log (ro), /host/collected (ro), /host/etc/... (ro, one per env file), /state (rw).
# The passed secret values are in /tmp/passed-secret-values (the container's tmpfs), written by
# the lines elevated-run puts before this script on stdin; without that file there are none.
# Usage: sh -s -- REQUEST OWNER_UID OWNER_GID
# Prints: {"operation":"support-bundle","request":...,"path":...,"bytes":N,"files":N,"sha256":...,
#          "secretValues":N,"truncatedFiles":N,"changed":1}
set -eu
umask 077

readonly MAX_FILE_BYTES=16777216
readonly HOST_STATE=/var/lib/replicated
readonly OUT_DIR=/state/support-bundles

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="support-bundle"
# replicated-include: messages

[ "$#" -eq 3 ] || die "usage: REQUEST OWNER_UID OWNER_GID"
request=$1
owner_uid=$2
owner_gid=$3
case $request in "" | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*) die "invalid request id" ;; esac
case $owner_uid$owner_gid in *[!0-9]*) die "owner must be numeric" ;; esac

work=/tmp/bundle/$request
secrets=/tmp/secret-values
passed_secrets=/tmp/passed-secret-values
files=0
truncated=0

# replicated-include: redact

ensure_out_dir() {
	if [ -L "$OUT_DIR" ]; then
		die "$HOST_STATE/support-bundles is a symlink; remove it (bundles are written into a real directory)"
	fi
	if [ ! -d "$OUT_DIR" ]; then
		mkdir -m 0750 -- "$OUT_DIR"
		chown -h -- "$owner_uid:$owner_gid" "$OUT_DIR"
	fi
}

# Values to redact wherever they appear (a daemon token echoed into a container log has no
# NAME= in front of it): the secrets passed on stdin, and the values of secret settings in the
# env files and replicated.conf (at least 6 characters there, so "true" or "info" never count).
collect_secret_values() {
	: >"$secrets"
	{
		if [ -f "$passed_secrets" ]; then grep -v '^$' -- "$passed_secrets" || true; fi
		file_secret_values
	} | sort -u >"$secrets"
}

file_secret_values() {
	for file in /host/etc/default/* /host/etc/sysconfig/* /host/etc/replicated.conf; do
		[ -f "$file" ] || continue
		sed -n -E \
			-e 's/^[[:space:]]*(export[[:space:]]+)?[A-Za-z0-9_]*(TOKEN|PASSWORD|PASSWD|SECRET|PRIVATE_KEY|API_KEY|ACCESS_KEY)[A-Za-z0-9_]*[[:space:]]*=[[:space:]]*//Ip' \
			-e 's/.*"[A-Za-z0-9_]*(TOKEN|PASSWORD|PASSWD|SECRET|PRIVATE_KEY|API_KEY|ACCESS_KEY)[A-Za-z0-9_]*"[[:space:]]*:[[:space:]]*"([^"]*)".*/\2/Ip' \
			-- "$file"
	done | sed -E -e "s/[[:space:]]+$//" -e 's/^"(.*)"$/\1/' -e "s/^'(.*)'$/\\1/" |
		awk 'length($0) >= 6'
}

redact() {
	redact_stream "$secrets"
}

# add_file SOURCE DEST: a redacted copy, capped to its last MAX_FILE_BYTES.
add_file() {
	dest=$work/$2
	mkdir -p -- "${dest%/*}"
	size=$(stat -c %s -- "$1")
	if [ "$size" -gt "$MAX_FILE_BYTES" ]; then
		truncated=$((truncated + 1))
		printf '%s: truncated to its last %s bytes (of %s)\n' "$2" "$MAX_FILE_BYTES" "$size" >>"$work/README.txt"
	fi
	tail -c "$MAX_FILE_BYTES" -- "$1" | redact >"$dest"
	files=$((files + 1))
}

is_skipped_log() {
	case $1 in
	*.gz | *.xz | *.bz2 | *.zst | *.lz4 | */wtmp* | */btmp* | */lastlog | */faillog | */journal/*) return 0 ;;
	esac
	return 1
}

collect_var_log() {
	[ -d /host/var/log ] || return 0
	find /host/var/log -xdev -type f | sort >/tmp/log-files
	while IFS= read -r path; do
		[ -f "$path" ] || continue
		if is_skipped_log "$path"; then
			printf 'skipped (binary or compressed): %s\n' "${path#/host}" >>"$work/README.txt"
			continue
		fi
		add_file "$path" "var/log/${path#/host/var/log/}"
	done </tmp/log-files
}

collect_config_and_host_material() {
	for file in /host/etc/default/* /host/etc/sysconfig/* /host/etc/replicated.conf; do
		[ -f "$file" ] || continue
		add_file "$file" "${file#/host/}"
	done
	if [ -d /host/collected ]; then
		for file in /host/collected/*.txt /host/collected/docker-logs/*.log; do
			[ -f "$file" ] || continue
			add_file "$file" "host/${file#/host/collected/}"
		done
	fi
}

write_archive() {
	final=$OUT_DIR/$request.tar.gz
	partial=$OUT_DIR/.$request.tar.gz.partial
	rm -f -- "$partial"
	# noclobber: the partial file is created fresh (O_EXCL), never written through a planted link
	set -C
	{
		tar -C /tmp/bundle -cf - -- "$request"
		echo "$?" >/tmp/tar-status
	} | gzip -n -6 >"$partial"
	set +C
	[ "$(cat /tmp/tar-status)" = 0 ] || die "tar failed while writing the bundle"
	chmod 0640 -- "$partial"
	chown -- "$owner_uid:$owner_gid" "$partial"
	mv -f -- "$partial" "$final"
}

ensure_out_dir
if [ -e "$OUT_DIR/$request.tar.gz" ] || [ -L "$OUT_DIR/$request.tar.gz" ]; then
	die "$HOST_STATE/support-bundles/$request.tar.gz already exists; choose a new request id"
fi
mkdir -p -- "$work"
{
	echo "Replicated support bundle $request, created $(date -u +%Y-%m-%dT%H:%M:%SZ) on the host."
	echo "Secrets are redacted: every occurrence of the daemon token and of each secret value found in the"
	echo "env files or replicated.conf; values of token, password, secret, key, authorization and cookie"
	echo "settings (env, JSON, YAML, flags, headers); URL credentials; PEM private keys. Layout: var/log/"
	echo "(host /var/log), etc/ (env files, replicated.conf), host/ (docker info, docker ps, container"
	echo "logs, journal)."
	echo
} >"$work/README.txt"
collect_secret_values
collect_var_log
collect_config_and_host_material
files=$((files + 1)) # README.txt
write_archive

bytes=$(stat -c %s -- "$final")
sha256=$(sha256sum -- "$final" | cut -d ' ' -f 1)
secret_count=$(wc -l <"$secrets" | tr -d ' ')
printf '{"operation":"support-bundle","request":"%s","path":"%s","bytes":%s,"files":%s,"sha256":"%s","secretValues":%s,"truncatedFiles":%s,"changed":1}\n' \
	"$request" "$HOST_STATE/support-bundles/$request.tar.gz" "$bytes" "$files" "$sha256" "$secret_count" "$truncated"
