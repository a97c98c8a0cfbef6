#!/bin/sh
# shellcheck disable=SC2034 # constants used by the scripts that inline this library
# replicated-library: installer-units
#
# Inlined by loadScript (components/shell.ts) where a host script says
# "# replicated-include: installer-units"; also inlined into the fallback program that
# takeover.sh writes to the host. Uses the script's own die and note.
#
# What Replicated's install script (replicatedhq/replicated-installer, templates/systemd,
# templates/upstart, templates/sysvinit, replicated-2.0.sh, replicated-operator.sh) leaves on a
# host, and how to read it without changing anything:
#
# - one init unit per service, named replicated, replicated-ui and replicated-operator, in one of
#   three forms: systemd (/etc/systemd/system/<name>.service, enabled with WantedBy=docker.service),
#   upstart (/etc/init/<name>.conf plus /etc/init/<name>-stop.conf) or sysvinit
#   (/etc/init.d/<name>, registered with update-rc.d). Every form runs
#   <registry>/<name>:current with "-u <uid>:<docker gid>" baked in as numbers;
# - env files <confdir>/replicated and <confdir>/replicated-operator, confdir /etc/default or
#   /etc/sysconfig; the daemon token sits in REPLICATED_OPTS ("-e DAEMON_TOKEN=...") of the first,
#   in the DAEMON_TOKEN line of the second, or in /etc/replicated.conf ("DaemonToken");
# - containers holding the fixed names below, without this program's labels.
#
# Where the takeover keeps what it moved away (root-only, outside the service trees), and the
# names of the units and containers involved, are fixed here; nothing comes from configuration.

readonly INSTALLER_SERVICES="replicated replicated-ui replicated-operator"
readonly INSTALLER_CONTAINERS="replicated replicated-ui replicated-operator replicated-statsd replicated-premkit"
# This program labels every container it creates with the stack (container-spec.ts LABEL_STACK).
readonly PROGRAM_STACK_LABEL=replicated.stack
readonly TAKEOVER_PARENT=/var/lib/replicated-deploy
readonly TAKEOVER_DIR=/var/lib/replicated-deploy/takeover
readonly TAKEOVER_STATE=/var/lib/replicated-deploy/takeover/state
readonly TAKEOVER_MANIFEST=/var/lib/replicated-deploy/takeover/units.list
readonly TAKEOVER_UNITS=/var/lib/replicated-deploy/takeover/units
readonly TAKEOVER_FALLBACK=/var/lib/replicated-deploy/takeover/fallback.sh
readonly TAKEOVER_LOCK=/run/replicated-takeover.lock
readonly FALLBACK_UNIT=replicated-takeover-fallback
readonly SYSTEMD_UNIT_DIR=/etc/systemd/system
readonly UPSTART_DIR=/etc/init
readonly SYSVINIT_DIR=/etc/init.d
readonly ENV_FILE_DIRS="/etc/default /etc/sysconfig"
readonly REPLICATED_CONF=/etc/replicated.conf

# Commands that talk to dockerd get a bound, so a hung engine cannot hang a run.
installer_docker() {
	if command -v timeout >/dev/null 2>&1; then
		timeout 120 docker "$@"
	else
		docker "$@"
	fi
}

# systemd when it runs as the init (sd_booted's test), upstart when initctl says so, sysvinit
# when /etc/init.d exists, else unknown.
detect_init_system() {
	if [ -d /run/systemd/system ]; then
		echo systemd
	elif command -v initctl >/dev/null 2>&1 && initctl version 2>/dev/null | grep -q upstart; then
		echo upstart
	elif [ -d "$SYSVINIT_DIR" ]; then
		echo sysvinit
	else
		echo unknown
	fi
}

# unit_path FORM NAME: where the install script writes that unit.
unit_path() {
	case $1 in
	systemd) printf '%s/%s.service\n' "$SYSTEMD_UNIT_DIR" "$2" ;;
	upstart) printf '%s/%s.conf\n' "$UPSTART_DIR" "$2" ;;
	sysvinit) printf '%s/%s\n' "$SYSVINIT_DIR" "$2" ;;
	*) return 1 ;;
	esac
}

# is_installer_unit_file FILE NAME: FILE is a regular file (not a link) that runs NAME's image
# with the ":current" tag, as every form of the install script's units does.
is_installer_unit_file() {
	[ -f "$1" ] && [ ! -L "$1" ] && grep -q -- "/$2:current" "$1" 2>/dev/null
}

# installer_unit_forms NAME: the forms in which NAME's unit file is in place (one per line).
installer_unit_forms() {
	for form in systemd upstart sysvinit; do
		if is_installer_unit_file "$(unit_path "$form" "$1")" "$1"; then
			echo "$form"
		fi
	done
}

# unit_file_uid FILE: the uid of the first "-u <uid>:<gid>" in FILE (empty when none).
unit_file_uid() {
	sed -n 's/.*[[:space:]]-u[[:space:]]\{1,\}\([0-9]\{1,10\}\):[0-9]\{1,10\}.*/\1/p' -- "$1" 2>/dev/null | head -n 1
}

# unit_enabled FORM NAME: 0 when the unit starts at boot.
unit_enabled() {
	case $1 in
	systemd)
		if [ -d /run/systemd/system ]; then
			[ "$(systemctl is-enabled -- "$2.service" 2>/dev/null || true)" = enabled ]
		else
			# Without a running systemd: an enablement symlink in some .wants directory.
			find "$SYSTEMD_UNIT_DIR" -mindepth 2 -maxdepth 2 -name "$2.service" -path '*.wants/*' 2>/dev/null | grep -q .
		fi
		;;
	upstart)
		# A job starts by its "start on" stanza unless an override file says "manual".
		! grep -qs '^[[:space:]]*manual' -- "$UPSTART_DIR/$2.override"
		;;
	sysvinit)
		find /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d -name "S[0-9][0-9]$2" 2>/dev/null | grep -q .
		;;
	*) return 1 ;;
	esac
}

# container_field NAME TEMPLATE: docker inspect of container NAME, or nothing when absent.
container_field() {
	installer_docker inspect --type container --format "$2" -- "$1" 2>/dev/null || true
}

# container_running NAME: 0 when container NAME exists and runs.
container_running() {
	[ "$(container_field "$1" '{{.State.Running}}')" = true ]
}

# unit_running FORM NAME: 0 when the unit's service runs. upstart and sysvinit keep no reliable
# status of their own here (the sysvinit script starts a detached container), so the container
# of the same name counts for them.
unit_running() {
	case $1 in
	systemd)
		if [ -d /run/systemd/system ]; then
			[ "$(systemctl is-active -- "$2.service" 2>/dev/null || true)" = active ]
		else
			container_running "$2"
		fi
		;;
	upstart)
		if command -v initctl >/dev/null 2>&1 && initctl version 2>/dev/null | grep -q upstart; then
			initctl status "$2" 2>/dev/null | grep -q 'start/running'
		else
			container_running "$2"
		fi
		;;
	sysvinit) container_running "$2" ;;
	*) return 1 ;;
	esac
}

# program_container NAME: 0 when container NAME exists and carries this program's stack label.
program_container() {
	[ -n "$(container_field "$1" "{{index .Config.Labels \"$PROGRAM_STACK_LABEL\"}}")" ]
}

# foreign_container NAME: 0 when container NAME exists without this program's stack label.
foreign_container() {
	[ -n "$(container_field "$1" '{{.Id}}')" ] && ! program_container "$1"
}

# container_healthy NAME: 0 when container NAME is this program's, runs and is healthy.
container_healthy() {
	case $(container_field "$1" "{{.State.Running}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{index .Config.Labels \"$PROGRAM_STACK_LABEL\"}}") in
	'true|healthy|'?*) return 0 ;;
	esac
	return 1
}

# env_file CONFNAME: the install script's env file of that name (/etc/default first), or nothing.
env_file() {
	for dir in $ENV_FILE_DIRS; do
		if [ -f "$dir/$1" ] && [ ! -L "$dir/$1" ]; then
			printf '%s/%s\n' "$dir" "$1"
			return 0
		fi
	done
	return 0
}

# env_file_token FILE: the daemon token FILE holds, or nothing. Read as text, never sourced: the
# first uncommented DAEMON_TOKEN=<value> (inside REPLICATED_OPTS of the daemon's file, or the line
# of its own in the operator's), the value ending at a blank or a quote, as the install script's
# readReplicatedOpts reads it after sourcing the file.
env_file_token() {
	[ -f "$1" ] || return 0
	grep -v '^[[:space:]]*#' -- "$1" 2>/dev/null |
		sed -n "s/.*DAEMON_TOKEN=\\([^[:space:]\"']\\{1,\\}\\).*/\\1/p" | head -n 1
}

# replicated_conf_token: the "DaemonToken" of /etc/replicated.conf, or nothing (the install
# script's readReplicatedConf).
replicated_conf_token() {
	[ -f "$REPLICATED_CONF" ] || return 0
	grep -o '"DaemonToken"[[:space:]]*:[[:space:]]*"[^"]*"' -- "$REPLICATED_CONF" 2>/dev/null | head -n 1 |
		sed 's/^"DaemonToken"[[:space:]]*:[[:space:]]*"\([^"]*\)"$/\1/'
}

# state_value KEY: KEY's value in the takeover state file, or nothing.
state_value() {
	[ -f "$TAKEOVER_STATE" ] || return 0
	sed -n "s/^$1=//p" -- "$TAKEOVER_STATE" | head -n 1
}

# set_state KEY=VALUE...: rewrite the state file with these keys changed (atomic rename).
set_state() {
	new_state=$(mktemp -- "$TAKEOVER_DIR/.state.XXXXXX") || die "cannot write in $TAKEOVER_DIR"
	if [ -f "$TAKEOVER_STATE" ]; then
		cp -- "$TAKEOVER_STATE" "$new_state"
	fi
	for pair in "$@"; do
		key=${pair%%=*}
		grep -v "^$key=" -- "$new_state" >"$new_state.next" || true
		printf '%s\n' "$pair" >>"$new_state.next"
		mv -f -- "$new_state.next" "$new_state"
	done
	chmod 0600 -- "$new_state"
	mv -f -- "$new_state" "$TAKEOVER_STATE"
}

# The takeover directory must be root's alone and a real directory: the fallback program that
# runs from it later runs as root.
check_takeover_dir() {
	for dir in "$TAKEOVER_PARENT" "$TAKEOVER_DIR" "$TAKEOVER_UNITS"; do
		[ -e "$dir" ] || [ -L "$dir" ] || continue
		if [ -L "$dir" ] || [ ! -d "$dir" ]; then
			die "$dir is not a directory (a link or a file). Nothing was changed. Fix: move it away, then re-run"
		fi
		dir_owner=$(stat -c %u -- "$dir")
		dir_mode=$(stat -c %a -- "$dir")
		if [ "$dir_owner" != 0 ] || [ $((0$dir_mode & 022)) -ne 0 ]; then
			die "$dir belongs to uid $dir_owner with mode $dir_mode; it must belong to root and be writable by root only. Nothing was changed. Fix: chown root:root $dir && chmod go-w $dir, check its content, then re-run"
		fi
	done
}

# Monotonic enough for gaps of seconds: wall-clock milliseconds (GNU date), else seconds * 1000.
now_ms() {
	ms=$(date +%s%3N 2>/dev/null)
	case $ms in
	*N* | '' | *[!0-9]*) echo "$(($(date +%s) * 1000))" ;;
	*) echo "$ms" ;;
	esac
}

# json_text VALUE: VALUE as a JSON string when it uses only characters that need no escaping in
# this project's values (names, paths, image references, ids); otherwise "(unprintable)".
json_text() {
	case $1 in
	*[!A-Za-z0-9._:/@+=,-]*) printf '"(unprintable)"' ;;
	*) printf '"%s"' "$1" ;;
	esac
}

# json_bool 0|1
json_bool() {
	if [ "$1" = 1 ]; then printf true; else printf false; fi
}
