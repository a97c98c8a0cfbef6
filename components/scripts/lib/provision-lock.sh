#!/bin/sh
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
