#!/bin/sh
# dockerctl start [--no-wait] | stop | restart | status | foreground
#
# Runs the test host's own dockerd. On a host booted without systemd (tini) it
# does what a service manager would: detached from the caller (so it survives the
# SSH session that started it), logging to /var/log/dockerd.log, pid in
# /run/docker.pid (written by dockerd itself). The entrypoint starts it at boot;
# tests use it to take Docker down or to restart it (e.g. after creating the
# docker group). On a host booted with systemd, docker.service runs
# `dockerctl foreground` (socket-activated by docker.socket) and start/stop/
# restart go through systemctl. Engine settings (address pools, log options)
# live in /etc/docker/daemon.json, so both modes and the tests that edit it
# see the same engine.
set -eu

readonly pidfile=/run/docker.pid
readonly logfile=/var/log/dockerd.log

log() { printf '%s dockerctl: %s\n' "$(date -Is)" "$*" >>"$logfile"; }

# A zombie still answers `kill -0`, so look at the process state too.
alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

running_pid() {
	pid=$(cat "$pidfile" 2>/dev/null) || return 1
	[ -n "$pid" ] && alive "$pid" && printf '%s\n' "$pid"
}

# With --cgroupns=host the container sees its own cgroup path (/docker/<id>).
# Nesting the inner engine's containers below it keeps the outer limits and lets
# the outer engine clean them up with the host; elsewhere use the default.
cgroup_parent() {
	path=$(awk -F: '$2 == "memory" { print $3; exit }' /proc/1/cgroup 2>/dev/null || true)
	case "$path" in
	"" | /) ;;
	*) printf '%s/engine\n' "$path" ;;
	esac
}

wait_ready() {
	tries=0
	until docker info >/dev/null 2>&1; do
		tries=$((tries + 1))
		if [ "$tries" -gt 120 ]; then
			echo "dockerctl: dockerd did not answer within 30 s; tail of $logfile:" >&2
			tail -n 30 "$logfile" >&2
			return 1
		fi
		sleep 0.25
	done
}

start() {
	if pid=$(running_pid); then
		echo "dockerd already running (pid $pid)"
		return 0
	fi
	set -- --host=unix:///var/run/docker.sock
	parent=$(cgroup_parent)
	if [ -n "$parent" ]; then set -- "$@" --cgroup-parent="$parent"; fi
	log "starting dockerd $*"
	# Subshell + setsid: dockerd is re-parented to PID 1 (tini), which reaps it.
	(setsid dockerd "$@" </dev/null >>"$logfile" 2>&1 &)
	if [ "$wait" = yes ]; then wait_ready; fi
}

stop() {
	if ! pid=$(running_pid); then
		echo "dockerd not running"
		return 0
	fi
	log "stopping dockerd (pid $pid)"
	kill -TERM "$pid"
	tries=0
	while alive "$pid"; do
		tries=$((tries + 1))
		if [ "$tries" -gt 80 ]; then
			log "dockerd did not stop within 20 s, killing it"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.25
	done
}

systemd_booted() {
	[ -d /run/systemd/system ]
}

# docker.service's ExecStart on a systemd-booted host: the socket comes from
# docker.socket (fd://), the cgroup parent is computed as above.
foreground() {
	set -- --host=fd://
	parent=$(cgroup_parent)
	if [ -n "$parent" ]; then set -- "$@" --cgroup-parent="$parent"; fi
	exec dockerd "$@"
}

wait=yes
command=${1:-}
if systemd_booted && [ "$command" != foreground ] && [ "$command" != status ]; then
	case "$command" in
	start | stop | restart)
		systemctl "$command" docker.service
		if [ "$command" != stop ] && [ "${2:-}" != "--no-wait" ]; then wait_ready; fi
		exit 0
		;;
	esac
fi
if [ "${2:-}" = "--no-wait" ]; then wait=no; fi
case "$command" in
start) start ;;
stop) stop ;;
restart)
	stop
	start
	;;
foreground) foreground ;;
status)
	if systemd_booted; then
		systemctl is-active --quiet docker.service && echo "dockerd running (docker.service)" && exit 0
		echo "dockerd not running"
		exit 3
	fi
	if pid=$(running_pid); then
		echo "dockerd running (pid $pid)"
	else
		echo "dockerd not running"
		exit 3
	fi
	;;
*)
	echo "usage: dockerctl start [--no-wait] | stop | restart | status | foreground" >&2
	exit 2
	;;
esac
