#!/bin/sh
# Entrypoint of a stand-in image for the engine tier (busybox only; the images of replicated and
# replicated-operator also carry the docker CLI). It proves from inside what the container got:
#
# - identity of this process (PID 1): uid, gid and supplementary groups from /proc/self/status,
#   effective capabilities, no_new_privs;
# - whether its root file system is read-only, and which directories it can write (each
#   candidate is probed with touch, or mkdir when absent; /standin/scratch is world-writable),
#   leaving standin-<service>.probe in every writable mount so the host can check the owner;
# - whether a Docker socket is mounted and, if so, whether the Docker API answers through it
#   (the docker CLI: busybox has no client for unix sockets);
# - for an operator: whether the daemon at DAEMON_ENDPOINT accepts its DAEMON_TOKEN (and rejects
#   a wrong one), asked over HTTP with busybox nc.
#
# It serves busybox httpd on every port in STANDIN_PORTS (the daemon's CGI checks tokens) and
# writes the findings as key=value lines to /tmp/standin-report (complete once it exists).
#
# Environment (baked into the image): STANDIN_SERVICE, STANDIN_PORTS (comma-separated TCP ports).
set -u

service=${STANDIN_SERVICE:-unknown}
report=/tmp/standin-report
partial=/tmp/standin-report.partial
: >"$partial"

note() {
	printf '%s=%s\n' "$1" "$2" >>"$partial"
}

status_field() {
	awk -v key="$1:" '$1 == key { $1 = ""; sub(/^[ \t]+/, ""); print; exit }' /proc/self/status
}

trap 'exit 0' TERM INT

note service "$service"
note uid "$(status_field Uid)"
note gid "$(status_field Gid)"
note groups "$(status_field Groups)"
note capeff "$(status_field CapEff)"
note nonewprivs "$(status_field NoNewPrivs)"

# The root mount's options, and a world-writable directory baked into the image: only a
# read-only root file system keeps a non-root process from writing there.
note rootfs "$(awk '$5 == "/" { split($6, options, ","); print options[1]; exit }' /proc/self/mountinfo)"

writable=""
denied=""
for dir in / /etc /usr /bin /standin/scratch /tmp /data /var/lib/replicated /var/run/replicated \
	/var/lib/replicated-operator /var/run/replicated-operator /host/etc /host/proc /host/var/run; do
	if [ -d "$dir" ]; then
		probe="$dir/.standin-probe-$$"
		if touch "$probe" 2>/dev/null; then
			rm -f "$probe"
			writable="$writable $dir"
		else
			denied="$denied $dir"
		fi
	elif mkdir -p "$dir" 2>/dev/null; then
		writable="$writable $dir(created)"
	else
		denied="$denied $dir"
	fi
done
note writable "${writable# }"
note denied "${denied# }"

for dir in $writable; do
	case "$dir" in
	/tmp | /standin/scratch | *"(created)") ;;
	*) printf '%s\n' "$service" >"$dir/standin-$service.probe" ;;
	esac
done

if [ -d /host/etc ]; then
	note os_release "$(head -n 1 /host/etc/os-release 2>/dev/null || echo unreadable)"
fi

sockets=""
for socket in /host/var/run/docker.sock /var/run/docker.sock /run/docker.sock; do
	if [ -S "$socket" ]; then sockets="$sockets $socket"; fi
done
note sockets "${sockets# }"
note socket_mounts "$(grep -c 'docker.sock' /proc/self/mountinfo)"
if [ -S /host/var/run/docker.sock ]; then
	if [ -x /usr/bin/docker ]; then
		if version=$(HOME=/tmp DOCKER_CONFIG=/tmp/docker-config docker -H unix:///host/var/run/docker.sock \
			version --format '{{.Server.Version}}' 2>/tmp/docker-error); then
			note docker_api "ok $version"
		else
			note docker_api "denied $(head -c 300 /tmp/docker-error | tr '\n' ' ')"
		fi
	else
		note docker_api "no-client"
	fi
else
	note docker_api "absent"
fi

ports=$(printf '%s' "${STANDIN_PORTS:-}" | tr ',' ' ')
for port in $ports; do
	httpd -f -p "0.0.0.0:$port" -h /standin/www &
done
note listening "$ports"

# Ask the daemon over HTTP; prints accepted, rejected or nothing.
ask_daemon() {
	endpoint=$1
	token=$2
	printf 'GET /cgi-bin/daemon?token=%s HTTP/1.0\r\n\r\n' "$token" |
		nc -w 5 "${endpoint%:*}" "${endpoint##*:}" 2>/dev/null | tr -d '\r' | grep -E '^(accepted|rejected)$'
}

if [ -n "${DAEMON_ENDPOINT:-}" ]; then
	answer=""
	tries=0
	while [ "$tries" -lt 90 ]; do
		answer=$(ask_daemon "$DAEMON_ENDPOINT" "${DAEMON_TOKEN:-}")
		[ -n "$answer" ] && break
		tries=$((tries + 1))
		sleep 1
	done
	note daemon "${answer:-unreachable}"
	note daemon_wrong_token "$(ask_daemon "$DAEMON_ENDPOINT" "not-the-token")"
fi

mv "$partial" "$report"
cat "$report"

while :; do
	sleep 3600 &
	wait $!
done
