#!/bin/sh
# replicated-library: takeover-fallback
#
# The fallback program takeover.sh writes to /var/lib/replicated-deploy/takeover/fallback.sh
# (root-only), after the installer-units and takeover-control libraries. It is never sent as a
# script of its own.
#
# Usage: fallback.sh --fire       the deadline passed (the systemd timer): check, then restore
#        fallback.sh --watch      hosts without systemd: sleep until the deadline, then --fire
#        fallback.sh --hand-back  an operator hands the host back to the install script now:
#                                 restore without checking health, and disarm
#
# Restoring removes this program's containers that hold Replicated's names (only those that carry
# its label: the install script's units need the names and ports), puts the install script's unit files back, enables and starts them as they
# were, and records phase=fallback-fired (or handed-back) with the time. Logs to syslog
# (tag replicated-takeover) and stderr.

die() {
	printf 'replicated takeover fallback: %s\n' "$*" >&2
	logger -t replicated-takeover -- "$*" 2>/dev/null || true
	exit 1
}

note() {
	printf 'replicated takeover fallback: %s\n' "$*" >&2
	logger -t replicated-takeover -- "$*" 2>/dev/null || true
}

fallback_mode=${1:-}
case $fallback_mode in
--fire | --watch | --hand-back) ;;
*) die "usage: fallback.sh --fire|--watch|--hand-back" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root"

if [ "$fallback_mode" = --watch ]; then
	while :; do
		deadline=$(state_value deadline)
		[ "$(state_value phase)" = armed ] && [ -n "$deadline" ] || exit 0
		now=$(date +%s)
		[ "$now" -lt "$deadline" ] || break
		sleep $((deadline - now))
	done
	fallback_mode=--fire
fi

acquire_takeover_lock
phase=$(state_value phase)
role=$(state_value role)
case $role in
primary | operator) ;;
*) die "no valid role in $TAKEOVER_STATE" ;;
esac
# shellcheck disable=SC2046 # container names are words by construction
set -- $(program_service_names "$role")

if [ "$fallback_mode" = --fire ]; then
	[ "$phase" = armed ] || exit 0
	deadline=$(state_value deadline)
	# A re-armed takeover moved the deadline: the timer that fired early is stale.
	if [ -n "$deadline" ] && [ "$(date +%s)" -lt "$deadline" ]; then
		exit 0
	fi
	waited=0
	while [ "$waited" -lt "$FALLBACK_GRACE_SECONDS" ]; do
		if all_healthy "$@"; then
			disarm_fallback
			set_state phase=confirmed "healthy_at=$(now_ms)"
			note "this program's containers are healthy: fallback disarmed, nothing restored"
			exit 0
		fi
		sleep 2
		waited=$((waited + 2))
	done
	note "this program's containers are not all healthy ($(unhealthy_report "$@")) $(state_value fallback_seconds)s after the takeover: restoring Replicated's install-script units"
	final_phase=fallback-fired
else
	[ -f "$TAKEOVER_MANIFEST" ] || die "nothing to hand back: $TAKEOVER_MANIFEST does not exist (this host was not taken over from Replicated's install script)"
	note "handing this host back to Replicated's install script"
	final_phase=handed-back
fi

# shellcheck disable=SC2086 # a fixed list of names
remove_program_containers $INSTALLER_CONTAINERS
restore_installer_units
disarm_fallback
set_state "phase=$final_phase" "fallback_at=$(now_ms)"
note "Replicated's install-script units are restored ($final_phase). To take the host over again: pulumi up --refresh --replace '<urn of the host's takeover step>' (docs/operations.md)"
