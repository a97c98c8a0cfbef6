#!/bin/sh
# replicated-script: takeover-confirm
#
# Disarms the takeover's fallback once this program's containers on the host run and are
# healthy. Runs after those containers in every `pulumi up`; on a host that was never taken over,
# or whose takeover is confirmed already, it changes nothing.
#
# Usage: sh -s -- <role: primary|operator>
#   The containers that must be healthy: the role's core services, plus the sidecars this
#   program runs on the host.
#
# While the fallback is armed it waits (polling every second, without holding the takeover lock)
# until every named container is healthy, at most until the fallback's deadline plus its grace.
# Healthy: the fallback is disarmed and the state records the moment (phase confirmed).
# Not healthy by then: it fails, saying which container is in which state; the fallback then
# restores the install script's units (it checks again itself). If the fallback has already
# restored them, it fails with what to do.
#
# Prints one JSON line last:
#   {"phase":"confirmed","armed":false,"waitedSeconds":17,"gapSeconds":24.3,"changed":1}
#   {"phase":null,"armed":false,"waitedSeconds":0,"gapSeconds":null,"changed":0}
set -eu
umask 077

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="takeover-confirm"
# replicated-include: messages

[ "$#" -eq 1 ] || die "usage: takeover-confirm.sh <primary|operator> (got $# arguments)"
role=$1
case $role in
primary | operator) ;;
*) die "role must be \"primary\" or \"operator\", got \"$role\"" ;;
esac

# replicated-include: installer-units
# replicated-include: takeover-control

summary() {
	printf '{"phase":%s,"armed":false,"waitedSeconds":%s,"gapSeconds":%s,"changed":%s}\n' "$1" "$2" "$3" "$4"
}

# gap_seconds: from the install script's units stopping to this program's containers healthy.
gap_seconds() {
	stopped=$(state_value stopped_at)
	healthy=$(state_value healthy_at)
	if [ -n "$stopped" ] && [ -n "$healthy" ]; then
		awk -v a="$stopped" -v b="$healthy" 'BEGIN { printf "%.1f", (b - a) / 1000 }'
	else
		printf null
	fi
}

fallback_fired() {
	die "the takeover's fallback restored Replicated's install-script units on this host ($(state_value phase) at $(date -u -d "@$(($(state_value fallback_at) / 1000))" '+%Y-%m-%d %H:%M:%S' 2>/dev/null || echo '?') UTC), because this program's containers were not healthy $(state_value fallback_seconds)s after the takeover. The stack still records the takeover step. Fix: find out why (docker ps -a; docker logs <container>), correct it, then take the host over again: pulumi up --refresh --replace '<urn of this host's takeover step>' (docs/operations.md, \"When the fallback fired\")"
}

phase=$(state_value phase)
case $phase in
'') summary null 0 null 0 && exit 0 ;;
confirmed) summary '"confirmed"' 0 "$(gap_seconds)" 0 && exit 0 ;;
fallback-fired) fallback_fired ;;
handed-back) die "this host was handed back to Replicated's install script (fallback.sh --hand-back). Fix: remove it from the stack, or take it over again with pulumi up --refresh --replace '<urn of this host's takeover step>'" ;;
armed) ;;
*) die "unknown takeover phase \"$phase\" in $TAKEOVER_STATE. Fix: check that file, then re-run" ;;
esac

# shellcheck disable=SC2046 # container names are words by construction
set -- $(program_service_names "$role")
deadline=$(state_value deadline)
limit=$((${deadline:-0} + FALLBACK_GRACE_SECONDS))
started=$(date +%s)
while ! all_healthy "$@"; do
	[ "$(state_value phase)" = armed ] || break
	if [ "$(date +%s)" -ge "$limit" ]; then
		die "this program's containers are not all healthy after the fallback's bound ($(state_value fallback_seconds)s + ${FALLBACK_GRACE_SECONDS}s): $(unhealthy_report "$@"). The fallback restores Replicated's install-script units now. Fix: find out why (docker logs <container>), correct it, then take the host over again (docs/operations.md, \"When the fallback fired\")"
	fi
	sleep 1
done
healthy_at=$(now_ms)
waited=$(($(date +%s) - started))

acquire_takeover_lock
case $(state_value phase) in
armed)
	disarm_fallback
	set_state phase=confirmed "healthy_at=$healthy_at"
	note "this program's containers are healthy ${waited}s after this step started: the fallback is disarmed"
	summary '"confirmed"' "$waited" "$(gap_seconds)" 1
	;;
confirmed) summary '"confirmed"' "$waited" "$(gap_seconds)" 0 ;;
*) fallback_fired ;;
esac
