#!/bin/sh
# Entrypoint of the disposable test host; runs under tini (PID 1, reaps orphans).
#
# It behaves like a boot: the harness mounts a fresh tmpfs on /run, so every
# start (and every `docker restart`, the test "reboot") recreates what a booting
# Debian creates there, applies tmpfiles.d, generates SSH host keys only when
# missing (they live on the container's disk and survive reboots), starts the
# host's own dockerd and keeps sshd in the foreground.
set -eu

log() { printf 'testhost-entrypoint: %s\n' "$*" >&2; }

mkdir -p /run/sshd /run/lock
chmod 0755 /run/sshd
chmod 1777 /run/lock

# This is how tests prove that a tmpfiles.d entry recreates /run/<dir> after a reboot.
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	systemd-tmpfiles --create --boot || log "systemd-tmpfiles exited $? (continuing)"
fi
# systemd's tmpfiles create /run/nologin "while booting"; on a systemd host
# systemd-user-sessions.service removes it once boot is done. Same here.
rm -f /run/nologin

# dockerd first: its start-up overlaps the (slow, RSA) host key generation.
/usr/local/sbin/dockerctl start --no-wait

ssh-keygen -A >/dev/null

/usr/sbin/sshd -D -e &
sshd_pid=$!
log "booted: sshd pid $sshd_pid, dockerd log /var/log/dockerd.log"

# docker stop/restart sends SIGTERM (tini forwards it here): stop dockerd
# cleanly so its containers and state survive the "reboot" like on a real host.
# shellcheck disable=SC2317 # invoked by the trap below
shutdown() {
	log "shutting down"
	kill -TERM "$sshd_pid" 2>/dev/null || true
	/usr/local/sbin/dockerctl stop >/dev/null || true
	exit 0
}
trap shutdown TERM INT

wait "$sshd_pid" || true
log "sshd exited; stopping"
/usr/local/sbin/dockerctl stop >/dev/null || true
exit 1
