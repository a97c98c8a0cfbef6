#!/bin/sh
# replicated-script: elevated-run
#
# Runs ONE on-demand root operation of a Replicated host (support bundle, application volumes,
# snapshot) in a short-lived helper container, as root, and guarantees:
#   - the container runs as 0:0 with --cap-drop ALL plus only the capabilities its operation
#     needs, no-new-privileges, no network, memory/pids/cpu limits, a read-only root file system,
#     and only the mounts that operation needs (read-only where it only reads); it runs the
#     helper by image id (never pulled; a pinned id is checked first);
#   - every path it creates, re-owns or mounts lies below directories only root can change
#     (checked level by level, created one level at a time, checked again before each change);
#     volume roots and snapshot destinations lie strictly below one of DATA_PREFIXES and never
#     in a system or Replicated tree;
#   - it is killed and removed after TIMEOUT_SECONDS; no container outlives this script, whether
#     the operation succeeds, fails or times out;
#   - every run (also a refused, failed, timed-out or already-done one) appends one JSON line to
#     /var/log/replicated/elevated.log (root:root 0640, directory root:root 0750);
#   - a request id that already succeeded is never run again: its recorded summary is printed
#     with "changed":0 and "alreadyDone":true (records in /var/lib/replicated-elevated, root 0700);
#   - the generated secret values (fd 3, one per line) reach only the support bundle's container,
#     on its stdin, never a command line or a file on the host.
#
# Usage, as root (the operation's own script arrives on stdin: operation-spec.ts appends
# `run_elevated "$@" 3<<'...' <<'...'` with the secret values and the static script of
# components/scripts/ops/ as quoted here-documents):
#   run_elevated OPERATION REQUEST STACK IMAGE TIMEOUT_SECONDS IMAGE_ID DATA_PREFIXES [ARGS...]
#     IMAGE_ID       the helper's pinned image id (sha256:<64 hex>), or - when not pinned
#     DATA_PREFIXES  colon-separated directories (replicated:dataPrefixes), e.g. /srv:/data
#     support-bundle OWNER_UID OWNER_GID
#     volumes        ROOT_COUNT ROOT... [PATH UID GID MODE]...
#     snapshot       DESTINATION OWNER_UID OWNER_GID
# Prints: the operation's one-line JSON summary (path, bytes, files, sha256 as fits, "changed").
# Exit status: the operation's; 124 when it timed out; 2 for refused arguments.
set -eu

readonly AUDIT_DIR=/var/log/replicated
readonly AUDIT_LOG=/var/log/replicated/elevated.log
readonly DONE_DIR=/var/lib/replicated-elevated
readonly STATE_DIR=/var/lib/replicated
readonly RUN_LABEL=replicated.elevated.run
readonly SECRET_VALUES_DELIMITER=REPLICATED_SECRET_VALUES
readonly REPLICATED_CONTAINERS="replicated replicated-ui replicated-operator replicated-statsd replicated-premkit"

# Filled in as the run proceeds; the EXIT trap reads them.
operation=unknown
request=unknown
stack=unknown
image=unknown
timeout_seconds=0
# Few forks on the way to the container (each costs milliseconds on a busy host): one date for
# both stamps, the run id from the kernel's uuid source by the read builtin.
started_stamp=$(date -u '+%s %Y-%m-%dT%H:%M:%SZ')
started_at=${started_stamp% *}
started_iso=${started_stamp#* }
read -r run_uuid </proc/sys/kernel/random/uuid
run_uuid_rest=${run_uuid#*-}
run_id=${run_uuid%%-*}${run_uuid_rest%%-*}
run_uuid_rest=${run_uuid_rest#*-}
run_id=$run_id${run_uuid_rest%%-*}
run_dir=
result=failed
paused_file=
# Set while a container of this run may exist that `docker run --rm` did not remove itself.
container_may_remain=no
audit_log_ready=no

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="elevated-run"
# replicated-include: messages

refuse() {
	note "$*"
	result=refused
	exit 2
}

# replicated-include: trusted-paths

# --- validation: the same rules as components/ops/operation-spec.ts, checked again here ---

is_request_id() {
	case $1 in
	"" | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*) return 1 ;;
	esac
	[ "${#1}" -le 64 ]
}

is_stack_name() {
	case $1 in
	"" | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]*) return 1 ;;
	esac
	[ "${#1}" -le 100 ]
}

is_image_reference() {
	case $1 in
	"" | [!a-z0-9]* | *[!A-Za-z0-9._:/@-]*) return 1 ;;
	esac
	[ "${#1}" -le 255 ]
}

is_image_id() {
	case $1 in
	sha256:*) ;;
	*) return 1 ;;
	esac
	case ${1#sha256:} in
	*[!0-9a-f]*) return 1 ;;
	esac
	[ "${#1}" -eq 71 ]
}

is_id() {
	case $1 in
	"" | *[!0-9]* | 0?*) return 1 ;;
	esac
	[ "${#1}" -le 10 ] && [ "$1" -le 2147483646 ]
}

is_owner() {
	is_id "$1" && is_id "$2"
}

is_seconds() {
	case $1 in
	"" | *[!0-9]* | 0*) return 1 ;;
	esac
	[ "${#1}" -le 4 ] && [ "$1" -le 3600 ]
}

is_mode() {
	case $1 in
	[0-7][0-7][0-7] | 0[0-7][0-7][0-7]) return 0 ;;
	esac
	return 1
}

# Absolute, only [A-Za-z0-9._/-], no empty, "." or ".." component, no trailing slash.
is_clean_path() {
	case $1 in
	/ | "" | [!/]* | *[!A-Za-z0-9._/-]* | *//* | */ | */./* | */. | */../* | */..) return 1 ;;
	esac
	return 0
}

# Trees an operation may never write to or mount, whatever the configuration says: the system,
# Docker's and Replicated's own state, shared scratch space. A second line behind DATA_PREFIXES.
is_protected_path() {
	case $1 in
	/ | /var | /var/lib | /home | \
		/bin | /bin/* | /sbin | /sbin/* | /usr | /usr/* | /lib | /lib/* | /lib32 | /lib32/* | \
		/lib64 | /lib64/* | /libx32 | /libx32/* | /boot | /boot/* | /dev | /dev/* | /etc | /etc/* | \
		/proc | /proc/* | /sys | /sys/* | /run | /run/* | /var/run | /var/run/* | /root | /root/* | \
		/tmp | /tmp/* | /var/tmp | /var/tmp/* | /var/log | /var/log/* | /var/lib/docker | \
		/var/lib/docker/* | /var/lib/containerd | /var/lib/containerd/* | /var/lib/replicated | \
		/var/lib/replicated/* | /var/lib/replicated-*)
		return 0
		;;
	esac
	return 1
}

# DATA_PREFIXES: each a clean absolute path that is neither "/" nor a protected path.
parse_data_prefixes() {
	[ -n "$1" ] || refuse "no data prefixes given (replicated:dataPrefixes is empty). Fix: list the directories that may hold volume roots and snapshots, e.g. [\"/srv\", \"/data\"]"
	data_prefixes=
	old_ifs=$IFS
	IFS=:
	set -f
	# shellcheck disable=SC2086 # split on ":" on purpose; globbing is off
	set -- $1
	set +f
	IFS=$old_ifs
	for prefix in "$@"; do
		is_clean_path "$prefix" || refuse "data prefix $(json_string "$prefix") is not a clean absolute path (replicated:dataPrefixes). Fix: use paths like /srv or /data"
		! is_protected_path "$prefix" || refuse "data prefix $prefix is a system or Replicated path (replicated:dataPrefixes). Fix: use a dedicated directory such as /srv or /data"
		data_prefixes="$data_prefixes $prefix"
	done
}

# PATH lies strictly below one of the data prefixes.
is_below_data_prefix() {
	for prefix in $data_prefixes; do
		case $1 in "$prefix"/*) return 0 ;; esac
	done
	return 1
}

# A real directory, not a symlink. Callers have checked every directory above it with
# trusted_parents (each a real directory, no symlink), so its path has no symlink in it.
is_real_directory() {
	[ -d "$1" ] && [ ! -L "$1" ]
}

json_string() {
	printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# $quoted: VALUE as a JSON string. Validated values need no escaping, and no fork.
json_quote() {
	case $1 in
	*[!A-Za-z0-9._:/@+\ -]*) quoted=$(json_string "$1") ;;
	*) quoted="\"$1\"" ;;
	esac
}

# --- audit, cleanup ---

ensure_audit_log() {
	[ "$audit_log_ready" = no ] || return 0
	ensure_root_dir "$AUDIT_DIR" 0750 || {
		note "cannot write the audit line: $(trusted_problem)"
		return 1
	}
	if [ -L "$AUDIT_LOG" ] || { [ -e "$AUDIT_LOG" ] && [ ! -f "$AUDIT_LOG" ]; }; then
		note "$AUDIT_LOG exists and is not a regular file: cannot write the audit line. Fix: move it away"
		return 1
	fi
	if [ ! -e "$AUDIT_LOG" ]; then
		(umask 077 && : >>"$AUDIT_LOG")
	fi
	audit_have=$(stat -c '%u:%g %a' -- "$AUDIT_LOG")
	if [ "${audit_have% *}" != 0:0 ]; then chown -h root:root -- "$AUDIT_LOG"; fi
	if [ "${audit_have#* }" != 640 ]; then chmod 0640 -- "$AUDIT_LOG"; fi
	audit_log_ready=yes
}

write_audit() {
	status=$1
	duration=$(($(date +%s) - started_at))
	read -r host_name </proc/sys/kernel/hostname || host_name=unknown
	line="{\"time\":\"$started_iso\""
	for field in operation request stack host image container run; do
		case $field in
		operation) value=$operation ;;
		request) value=$request ;;
		stack) value=$stack ;;
		host) value=$host_name ;;
		image) value=$image ;;
		container) value=replicated-op-$operation-$request ;;
		run) value=$run_id ;;
		esac
		json_quote "$value"
		line="$line,\"$field\":$quoted"
	done
	line="$line,\"status\":$status,\"result\":\"$result\",\"durationSeconds\":$duration}"
	if ensure_audit_log; then
		printf '%s\n' "$line" >>"$AUDIT_LOG"
	fi
}

container_name() {
	printf 'replicated-op-%s-%s' "$operation" "$request"
}

# Only the container of THIS run (by its run label), so a concurrent run is never touched.
remove_container() {
	command -v docker >/dev/null 2>&1 || return 0
	tries=0
	while :; do
		ids=$(docker ps -aq --filter "label=$RUN_LABEL=$run_id" 2>/dev/null || true)
		[ -z "$ids" ] && return 0
		for id in $ids; do
			docker rm -f -- "$id" >/dev/null 2>&1 || true
		done
		tries=$((tries + 1))
		if [ "$tries" -ge 30 ]; then
			note "container $(container_name) (run $run_id) could not be removed: remove it with docker rm -f $(container_name)"
			return 1
		fi
		sleep 1
	done
}

resume_paused() {
	[ -n "$paused_file" ] && [ -s "$paused_file" ] || return 0
	while read -r id; do
		docker unpause -- "$id" >/dev/null 2>&1 || note "could not unpause container $id: run docker unpause $id"
	done <"$paused_file"
	: >"$paused_file"
}

on_exit() {
	status=$?
	trap - EXIT HUP INT TERM
	set +e
	resume_paused
	if [ "$container_may_remain" = yes ] && ! remove_container && [ "$status" -eq 0 ]; then
		status=1
		result=failed
	fi
	[ -n "$run_dir" ] && rm -rf -- "$run_dir"
	if [ "$status" -eq 0 ] && [ "$result" = failed ]; then result=ok; fi
	write_audit "$status"
	exit "$status"
}

# --- per-operation preparation (host side) ---

# The engine and the helper image, with as few docker calls as possible: one image inspect
# answers both on success; only a failure asks `docker info` which of the two it was.
resolve_helper_image() {
	command -v docker >/dev/null 2>&1 || die "docker is not installed on this host"
	if ! image_id=$(docker image inspect --format '{{.Id}}' -- "$image" 2>/dev/null); then
		timeout 30 docker info >/dev/null 2>&1 ||
			die "the Docker engine does not answer (docker info failed): start it, then run pulumi up again"
		die "helper image $image is not on this host: it is pulled or loaded by the images step; run pulumi up again once that succeeded"
	fi
	if [ "$expected_image_id" != - ] && [ "$image_id" != "$expected_image_id" ]; then
		die "helper image $image on this host is $image_id, but its pin (replicated:images.pins, replicated-helper) is $expected_image_id. Fix: let pulumi up pull or load the pinned image again, or correct the pin"
	fi
}

# Material only the host can produce: docker info/ps, the replicated containers' logs, and the
# journal of the replicated units (journalctl reads the host's own journal format). It lands in
# a root-only directory that the container mounts read-only and redacts with everything else.
# The docker calls run side by side (each waits mostly on the engine), and all have ended when
# this returns.
collect_host_material() {
	out=$1
	mkdir -m 0700 -- "$out" "$out/docker-logs"
	{ timeout 60 docker info >"$out/docker-info.txt" 2>&1 || echo "docker info failed (exit $?)" >>"$out/docker-info.txt"; } &
	{ timeout 60 docker ps -a --no-trunc >"$out/docker-ps.txt" 2>&1 || echo "docker ps failed (exit $?)" >>"$out/docker-ps.txt"; } &
	if command -v journalctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		{ timeout 120 journalctl --no-pager --output=short-iso --unit='replicated*' >"$out/journal.txt" 2>&1 ||
			echo "journalctl failed (exit $?)" >>"$out/journal.txt"; } &
	else
		echo "no systemd journal on this host (journalctl or /run/systemd/system missing)" >"$out/journal.txt"
	fi
	# One inspect for all five: it prints the names of those that exist.
	# shellcheck disable=SC2086 # fixed list of plain names
	existing=$(timeout 60 docker container inspect --format '{{.Name}}' -- $REPLICATED_CONTAINERS 2>/dev/null || true)
	for name in $existing; do
		name=${name#/}
		case " $REPLICATED_CONTAINERS " in *" $name "*) ;; *) continue ;; esac
		{ timeout 60 docker logs --timestamps --tail 20000 -- "$name" >"$out/docker-logs/$name.log" 2>&1 ||
			echo "docker logs $name failed (exit $?)" >>"$out/docker-logs/$name.log"; } &
	done
	wait
}

# The env files and replicated.conf, each bound read-only on its own (only regular files with
# plain names: a bind of a symlink would follow it).
env_file_mounts() {
	for file in /etc/default/replicated* /etc/sysconfig/replicated* /etc/replicated.conf; do
		if [ ! -f "$file" ] || [ -L "$file" ]; then continue; fi
		case ${file##*/} in
		*[!A-Za-z0-9._-]*)
			note "skipping $file: unusual file name"
			continue
			;;
		esac
		printf ' --mount type=bind,source=%s,target=/host%s,readonly' "$file" "$file"
	done
}

# Pause every running container that mounts Replicated's state, so the copy is one point in
# time; resume_paused (EXIT trap) unpauses them whatever happens. One inspect for all of them.
pause_state_writers() {
	paused_file=$run_dir/paused
	: >"$paused_file"
	running=$(docker ps -q --filter status=running)
	[ -n "$running" ] || return 0
	# shellcheck disable=SC2086 # container ids: hex words
	docker container inspect --format '{{.Id}}{{range .Mounts}} {{.Source}}{{end}}' -- $running 2>/dev/null >"$run_dir/mounts" || true
	while read -r id sources; do
		for source in $sources; do
			case $source in
			"$STATE_DIR" | "$STATE_DIR"/*)
				docker pause -- "$id" >/dev/null
				printf '%s\n' "$id" >>"$paused_file"
				note "paused container $id during the snapshot"
				break
				;;
			esac
		done
	done <"$run_dir/mounts"
}

# The container's stdin for the support bundle: the secret values as a quoted here-document
# that lands in the container's own tmpfs, then the operation script (this function's stdin).
support_bundle_stdin() {
	printf "(umask 077 && cat >/tmp/passed-secret-values) <<'%s'\n" "$SECRET_VALUES_DELIMITER"
	if [ -n "$secret_values" ]; then printf '%s\n' "$secret_values"; fi
	printf '%s\n' "$SECRET_VALUES_DELIMITER"
	cat
}

# --- argument checks, one function per operation; nothing on the host changes here ---

# The generated secrets, one per line, from the here-document on fd 3 (none when it is closed).
read_secret_values() {
	nl='
'
	secret_values=
	if [ -e /proc/self/fd/3 ]; then
		while IFS= read -r secret_line; do
			secret_values=$secret_values${secret_values:+$nl}$secret_line
		done <&3
	fi
	case "$nl$secret_values$nl" in
	*"$nl$SECRET_VALUES_DELIMITER$nl"*) refuse "a secret value equals the here-document delimiter; refusing to pass it on" ;;
	esac
}

# OPERATION REQUEST STACK IMAGE TIMEOUT_SECONDS IMAGE_ID DATA_PREFIXES: the words every
# operation takes, before its own.
parse_common_args() {
	[ "$#" -ge 7 ] || refuse "usage: OPERATION REQUEST STACK IMAGE TIMEOUT_SECONDS IMAGE_ID DATA_PREFIXES [ARGS...], got $# arguments"
	case $1 in
	support-bundle | volumes | snapshot) operation=$1 ;;
	*) refuse "unknown operation $(json_string "$1"): use support-bundle, volumes or snapshot" ;;
	esac
	is_request_id "$2" || refuse "invalid request id $(json_string "$2"): must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\$"
	request=$2
	is_stack_name "$3" || refuse "invalid stack name $(json_string "$3")"
	stack=$3
	is_image_reference "$4" || refuse "invalid helper image reference $(json_string "$4")"
	image=$4
	is_seconds "$5" || refuse "invalid timeout $(json_string "$5"): seconds between 1 and 3600"
	timeout_seconds=$5
	if [ "$6" != - ] && ! is_image_id "$6"; then
		refuse "invalid helper image id $(json_string "$6"): sha256:<64 hex> (replicated:images.pins), or - when not pinned"
	fi
	expected_image_id=$6
	parse_data_prefixes "$7"
}

# OWNER_UID OWNER_GID
check_support_bundle_args() {
	[ "$#" -eq 2 ] || refuse "support-bundle takes OWNER_UID OWNER_GID, got $# arguments"
	is_owner "$1" "$2" || refuse "support-bundle owner must be numeric uid and gid, got $(json_string "$1:$2")"
	is_real_directory "$STATE_DIR" || die "$STATE_DIR is missing or not a plain directory: the directories step creates it"
	# DAC_OVERRIDE: read root-only and other users' logs, write into the service user's
	# bundle directory. CHOWN: hand the archive to the service user.
	caps="DAC_OVERRIDE CHOWN"
	memory=768m
	tmpfs_size=600m
}

# ROOT_COUNT ROOT... [PATH UID GID MODE]...: sets roots.
check_volumes_args() {
	[ "$#" -ge 1 ] || refuse "volumes takes ROOT_COUNT ROOT... [PATH UID GID MODE]..."
	case $1 in "" | *[!0-9]*) refuse "volumes: invalid root count $(json_string "$1")" ;; esac
	root_count=$1
	if [ "$root_count" -lt 1 ] || [ "$#" -lt $((root_count + 1)) ]; then
		refuse "volumes: $root_count roots announced, $(($# - 1)) arguments follow"
	fi
	item_words=$(($# - 1 - root_count))
	if [ "$item_words" -lt 4 ] || [ $((item_words % 4)) -ne 0 ]; then
		refuse "volumes: each volume needs PATH UID GID MODE ($item_words words follow the roots)"
	fi
	index=0
	roots=
	for arg in "$@"; do
		index=$((index + 1))
		[ "$index" -ge 2 ] || continue
		if [ "$index" -le $((root_count + 1)) ]; then
			check_volume_root "$arg"
			case " $roots " in *" $arg "*) continue ;; esac
			roots="$roots $arg"
			continue
		fi
		case $(((index - root_count - 2) % 4)) in
		0)
			is_clean_path "$arg" || refuse "volumes: path $(json_string "$arg") is not a clean absolute path (no '.', '..', '//' or unusual characters)"
			inside=no
			for root in $roots; do
				case $arg in "$root"/*) inside=yes ;; esac
			done
			[ "$inside" = yes ] || refuse "volumes: path $arg is not below an allowed root (${roots# })"
			;;
		1 | 2) is_id "$arg" || refuse "volumes: owner and group must be numeric ids 0..2147483646, got $(json_string "$arg")" ;;
		3) is_mode "$arg" || refuse "volumes: mode must be octal like 0750 (no setuid/setgid/sticky), got $(json_string "$arg")" ;;
		esac
	done
	# CHOWN: give each volume its owner. FOWNER: fix the mode of a volume another uid owns.
	# DAC_OVERRIDE: create volumes inside directories owned by other users.
	caps="DAC_OVERRIDE CHOWN FOWNER"
	memory=64m
	tmpfs_size=8m
}

check_volume_root() {
	is_clean_path "$1" || refuse "volumes: root $(json_string "$1") is not a clean absolute path (no '.', '..', '//' or unusual characters)"
	! is_protected_path "$1" || refuse "volumes: root $1 is a system or Replicated path and can never be a volume root"
	is_below_data_prefix "$1" || refuse "volumes: root $1 is not below a data prefix (${data_prefixes# }). Fix: move it below one, or add its parent to replicated:dataPrefixes"
	trusted_parents "$1" || refuse "volumes: root $1: $(trusted_problem)"
	if [ -L "$1" ] || { [ -e "$1" ] && ! is_real_directory "$1"; }; then
		refuse "volumes: root $1 is not a directory, or its path goes through a symlink (it resolves to $(realpath -- "$1" 2>/dev/null || echo '?')); configure the real path"
	fi
}

# DESTINATION OWNER_UID OWNER_GID
check_snapshot_args() {
	[ "$#" -eq 3 ] || refuse "snapshot takes DESTINATION OWNER_UID OWNER_GID, got $# arguments"
	is_clean_path "$1" || refuse "snapshot: destination $(json_string "$1") is not a clean absolute path"
	! is_protected_path "$1" || refuse "snapshot: destination $1 is a system or Replicated path"
	is_below_data_prefix "$1" || refuse "snapshot: destination $1 is not below a data prefix (${data_prefixes# }). Fix: choose one below them, or add its parent to replicated:dataPrefixes"
	is_owner "$2" "$3" || refuse "snapshot: owner must be numeric uid and gid, got $(json_string "$2:$3")"
	is_real_directory "$STATE_DIR" || die "$STATE_DIR is missing or not a plain directory: nothing to snapshot"
	trusted_parents "$1" || refuse "snapshot: destination $1: $(trusted_problem)"
	if [ -L "$1" ] || { [ -e "$1" ] && ! is_real_directory "$1"; }; then
		refuse "snapshot: destination $1 is not a directory, or its path goes through a symlink; configure the real path"
	fi
	if [ -e "$1/$request" ] || [ -L "$1/$request" ]; then
		refuse "snapshot: $1/$request already exists; choose a new request id"
	fi
	# DAC_OVERRIDE: read the whole state tree (0600/0700 files of the service user) and write
	# into a destination another user owns. CHOWN + FOWNER: copy with modes and times kept,
	# then give the copy to the requested owner.
	caps="DAC_OVERRIDE CHOWN FOWNER"
	memory=256m
	tmpfs_size=8m
}

# --- host preparation, one function per operation: sets mounts and operation_args ---
# Every word in both is validated above ([A-Za-z0-9._/-], numeric ids, octal modes): they split
# safely on spaces.

prepare_support_bundle() {
	collect_host_material "$run_dir/host"
	mounts="--mount type=bind,source=/var/log,target=/host/var/log,readonly"
	mounts="$mounts --mount type=bind,source=$run_dir/host,target=/host/collected,readonly"
	mounts="$mounts --mount type=bind,source=$STATE_DIR,target=/state$(env_file_mounts)"
	operation_args="$request $1 $2"
}

prepare_volumes() {
	for root in $roots; do
		if [ ! -e "$root" ]; then
			ensure_root_dir "$root" 0755 || die "volumes: root $root: $(trusted_problem)"
		fi
		is_real_directory "$root" || die "volumes: root $root is not a real directory"
		mounts="$mounts --mount type=bind,source=$root,target=$root"
	done
	operation_args="$request $*"
}

prepare_snapshot() {
	if [ ! -e "$1" ]; then
		ensure_dir_level "$1" 0750 || die "snapshot: destination $1: $(trusted_problem)"
		# Its parent is trusted, so the directory just made is still the one chown -h changes.
		chown -h -- "$2:$3" "$1"
	fi
	is_real_directory "$1" || die "snapshot: destination $1 is not a real directory"
	mounts="--mount type=bind,source=$STATE_DIR,target=/source,readonly --mount type=bind,source=$1,target=$1"
	operation_args="$request $*"
	pause_state_writers
}

# --- the run ---

# The helper container, by image id: nothing to pull, and the image checked above is the one
# that runs. --sig-proxy=false lets `timeout` end the client; the EXIT trap then removes the
# container itself (killing a docker client never stops its container).
run_helper_container() {
	cap_options=
	for cap in $caps; do cap_options="$cap_options --cap-add $cap"; done
	set -f
	# shellcheck disable=SC2086 # validated option words: no whitespace, no glob characters
	set -- --name "$(container_name)" --label "$RUN_LABEL=$run_id" \
		--label "replicated.elevated.operation=$operation" --label "replicated.elevated.request=$request" \
		--user 0:0 --cap-drop ALL $cap_options --security-opt no-new-privileges \
		--network none --memory "$memory" --memory-swap "$memory" --cpu-shares 512 --pids-limit 256 \
		--read-only --tmpfs "/tmp:rw,nosuid,nodev,size=$tmpfs_size" --log-driver none \
		$mounts --entrypoint /bin/sh "$image_id" -s -- $operation_args
	set +f

	container_may_remain=yes
	set +e
	if [ "$operation" = support-bundle ]; then
		support_bundle_stdin | timeout -k 10 "$timeout_seconds" docker run -i --rm --sig-proxy=false "$@" >"$run_dir/stdout" 2>"$run_dir/stderr"
	else
		timeout -k 10 "$timeout_seconds" docker run -i --rm --sig-proxy=false "$@" >"$run_dir/stdout" 2>"$run_dir/stderr"
	fi
	status=$?
	set -e
	cat -- "$run_dir/stderr" >&2
	elapsed=$(($(date +%s) - started_at))
	if [ "$status" -eq 124 ] || { [ "$status" -eq 137 ] && [ "$elapsed" -ge "$timeout_seconds" ]; }; then
		result=timeout
		remove_container || true
		container_may_remain=no
		note "$operation request $request timed out after $timeout_seconds s; its container $(container_name) was killed and removed"
		exit 124
	fi
	# Below 125 the status is the container's own: it ran and exited, and --rm removed it.
	if [ "$status" -lt 125 ]; then container_may_remain=no; fi
	if [ "$status" -eq 125 ] && grep -q 'is already in use' -- "$run_dir/stderr"; then
		die "container $(container_name) already exists: another run of this request is in progress, or a crashed run left it (then remove it: docker rm -f $(container_name))"
	fi
	if [ "$status" -ne 0 ]; then
		note "$operation request $request failed (exit $status); its container was removed. Fix the cause above, then run pulumi up again"
		exit "$status"
	fi
}

# The operation's summary becomes the done-record of its request, so a repeat runs nothing.
record_done() {
	summary=$(tail -n 1 "$run_dir/stdout")
	case $summary in
	'{"operation":"'"$operation"'"'*'}') ;;
	*) die "$operation request $request printed no JSON summary (last line: $(json_string "$summary"))" ;;
	esac
	ensure_root_dir "$DONE_DIR" 0700 || die "cannot record the request as done: $(trusted_problem)"
	ensure_root_dir "$DONE_DIR/$operation" 0700 || die "cannot record the request as done: $(trusted_problem)"
	printf '%s\n' "$summary" >"$done_record.partial"
	mv -f -- "$done_record.partial" "$done_record"
}

run_elevated() {
	trap on_exit EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM

	[ "$(id -u)" -eq 0 ] || die "must run as root (use become: sudo for a non-root SSH user)"
	# Every run is audited: a run that could not be is not started.
	ensure_audit_log || die "refusing to run without the audit log $AUDIT_LOG"
	read_secret_values
	parse_common_args "$@"
	shift 7

	done_record=$DONE_DIR/$operation/$request.json
	if [ -f "$done_record" ] && [ ! -L "$done_record" ]; then
		result=already-done
		note "$operation request $request already ran on $(date -u -r "$done_record" +%Y-%m-%dT%H:%M:%SZ); nothing to do (use a new request id to run it again)"
		sed 's/"changed":[0-9][0-9]*/"changed":0,"alreadyDone":true/' "$done_record"
		return 0
	fi

	# Every argument is checked, and every directory on the way to a path this run creates or
	# mounts, before anything on the host changes.
	trusted_parents "$STATE_DIR" || die "$STATE_DIR: $(trusted_problem)"
	mounts=
	case $operation in
	support-bundle) check_support_bundle_args "$@" ;;
	volumes) check_volumes_args "$@" ;;
	snapshot) check_snapshot_args "$@" ;;
	esac

	resolve_helper_image
	run_dir=$(mktemp -d "${TMPDIR:-/tmp}/replicated-op.XXXXXXXX")

	# Host changes start here, each below directories checked above and checked again.
	case $operation in
	support-bundle) prepare_support_bundle "$@" ;;
	volumes) prepare_volumes "$@" ;;
	snapshot) prepare_snapshot "$@" ;;
	esac

	run_helper_container
	record_done
	result=ok
	printf '%s\n' "$summary"
}

# The call follows, appended by components/ops/operation-spec.ts:
#   run_elevated "$@" 3<<'...' <<'...'   (the secret values, then the operation script from
#   components/scripts/ops/)
