#!/bin/sh
# replicated-library: provision-lock
#
# Inlined by loadScript (components/shell.ts) where a host script says
# "# replicated-include: provision-lock"; each script travels alone on stdin, so it cannot source
# a file. Uses the script's own die.
#
# One provisioning run at a time per host (two `pulumi up`, or an operator running by hand), by
# flock(1) on a root-owned lock file. flock is required: util-linux provides it on every Debian
# and RHEL-family host, BusyBox on the others. The kernel drops the lock when its holder exits,
# however it exits, so a killed run never leaves a stale lock behind. (A directory lock with a
# pid inside, the former fallback, cannot be taken over atomically: two runs that both find the
# same stale lock could both remove it and both go on.) release_lock drops the lock early.
readonly LOCK_FILE=/run/replicated-provision.lock
readonly LOCK_WAIT_SECONDS=120

acquire_lock() {
	command -v flock >/dev/null 2>&1 ||
		die "flock is not installed on this host, and one provisioning run at a time needs it. Fix: install util-linux (apt-get install util-linux, or dnf install util-linux), then re-run"
	if [ -L "$LOCK_FILE" ] || { [ -e "$LOCK_FILE" ] && [ ! -f "$LOCK_FILE" ]; }; then
		die "$LOCK_FILE is not a regular file. Fix: remove it (no run holds a lock on anything but a regular file), then re-run"
	fi
	exec 9>>"$LOCK_FILE"
	flock -w "$LOCK_WAIT_SECONDS" 9 ||
		die "another provisioning run still holds $LOCK_FILE after ${LOCK_WAIT_SECONDS}s. Fix: wait for it to finish, then re-run"
}

release_lock() {
	exec 9>&-
}
