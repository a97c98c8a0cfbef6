#!/bin/sh
# replicated-script: container-health
#
# Waits until every named container of this host is healthy, and fails with what went wrong
# when one is not: `pulumi up` stops here, so a service that cannot start (wrong user, a
# read-only root it cannot live with, a missing directory, a crash loop) fails the apply
# instead of passing silently under the restart policy.
#
# Usage: sh -s -- <timeout seconds> <container>...
#
# A container fails at once when its healthcheck reports "unhealthy", when it is not running
# any more (exited, dead, or created and never started), or when Docker already restarted it
# RESTART_LIMIT times (a crash loop: under `unless-stopped` Docker reports a restarting
# container as running). Otherwise it has until the timeout to report "healthy"; the timeout is
# measured once for all containers, which are checked side by side.
#
# For each failed container it prints, on stderr, its state (status, exit code, restarts,
# health) and its last LOG_LINES log lines, each cut to LOG_LINE_CHARS characters, with control
# characters removed and every secret value of the container's environment (variables whose
# name says TOKEN, SECRET, PASSWORD, PASSWD, KEY, CREDENTIAL or PROXY) redacted by
# redact_stream. Nothing is changed on the host: reading state and logs only.
#
# Prints one JSON line last: {"healthy":["replicated",...],"failed":[],"seconds":12,"changed":0}
# (exit 1, after the same line, when "failed" is not empty).
set -eu
umask 077

readonly RESTART_LIMIT=3
readonly LOG_LINES=20
readonly LOG_LINE_CHARS=300
readonly POLL_SECONDS=2

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="container-health"
# replicated-include: messages

# replicated-include: redact

[ "$#" -ge 2 ] || die "usage: sh -s -- <timeout seconds> <container>..."
timeout=$1
shift
case "$timeout" in
'' | *[!0-9]*) die "timeout $timeout is not a number of seconds" ;;
esac
for name in "$@"; do
	case "$name" in
	'' | -* | *[!a-z0-9-]*) die "container name $name is not a lowercase DNS label" ;;
	esac
done
command -v docker >/dev/null 2>&1 || die "the docker CLI is not on this host's PATH"

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# One line per container: status restarting restart-count exit-code health (or "none").
container_state() {
	docker inspect --format '{{.State.Status}} {{.State.Restarting}} {{.RestartCount}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' -- "$1" 2>/dev/null ||
		echo "missing false 0 0 none"
}

# Verdict for one state line: healthy, failed:<why>, or waiting.
judge() {
	# shellcheck disable=SC2086 # the state line is split into its fields on purpose
	set -- $1
	status=$1 restarting=$2 restarts=$3 exit_code=$4 health=$5
	if [ "$status" = missing ]; then
		echo "failed:no such container"
	elif [ "$health" = healthy ] && [ "$status" = running ] && [ "$restarting" = false ]; then
		echo healthy
	elif [ "$restarts" -ge "$RESTART_LIMIT" ]; then
		# Docker resets the exit code when it starts the container again: only the count tells.
		echo "failed:it keeps crashing (restarted $restarts times)"
	elif [ "$status" = exited ] || [ "$status" = dead ] || [ "$status" = created ]; then
		echo "failed:it is $status (exit code $exit_code)"
	elif [ "$health" = unhealthy ]; then
		echo "failed:its healthcheck reports unhealthy"
	elif [ "$health" = none ]; then
		echo "failed:it has no healthcheck to wait for"
	else
		echo waiting
	fi
}

# Secret values of the container's environment, one per line, for redact_stream.
secret_values() {
	docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' -- "$1" 2>/dev/null |
		awk -F= 'toupper($1) ~ /TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL|PROXY/ && length($0) > length($1) + 1 { print substr($0, length($1) + 2) }'
}

# report_failure NAME WHY STATE: STATE is the state line the verdict was made on.
report_failure() {
	name=$1 why=$2 state=$3
	secrets=$work/$name.secrets
	secret_values "$name" >"$secrets" || : >"$secrets"
	{
		printf 'container %s is not healthy: %s\n' "$name" "$why"
		printf '  state (status, restarting, restarts, exit code, health): %s\n' "$state"
		printf '  last %s log lines of %s:\n' "$LOG_LINES" "$name"
		docker logs --tail "$LOG_LINES" -- "$name" 2>&1 | tr -d '\000-\010\013-\037\177' | cut -c "1-$LOG_LINE_CHARS" | redact_stream "$secrets" | sed 's/^/    | /'
	} >&2
}

started=$(date +%s)
pending=" $* "
healthy=""
failed=""
while :; do
	for name in $pending; do
		state=$(container_state "$name")
		verdict=$(judge "$state")
		case "$verdict" in
		healthy)
			healthy="$healthy $name"
			pending=$(printf '%s' "$pending" | sed "s/ $name / /")
			;;
		failed:*)
			report_failure "$name" "${verdict#failed:}" "$state"
			failed="$failed $name"
			pending=$(printf '%s' "$pending" | sed "s/ $name / /")
			;;
		esac
	done
	[ -n "$(printf '%s' "$pending" | tr -d ' ')" ] || break
	elapsed=$(($(date +%s) - started))
	if [ "$elapsed" -ge "$timeout" ]; then
		for name in $pending; do
			state=$(container_state "$name")
			report_failure "$name" "not healthy after ${timeout}s (health: $(printf '%s' "$state" | awk '{ print $5 }'))" "$state"
			failed="$failed $name"
		done
		break
	fi
	sleep "$POLL_SECONDS"
done

json_list() {
	printf '['
	separator=""
	for item in $1; do
		printf '%s"%s"' "$separator" "$item"
		separator=","
	done
	printf ']'
}

printf '{"healthy":%s,"failed":%s,"seconds":%s,"changed":0}\n' "$(json_list "$healthy")" "$(json_list "$failed")" "$(($(date +%s) - started))"
[ -z "$failed" ]
