#!/bin/sh
# shellcheck disable=SC2034 # constants used by the scripts that inline this library
# replicated-library: takeover-control
#
# Inlined by loadScript where a host script says "# replicated-include: takeover-control" (after
# installer-units, whose constants and helpers it uses), and into the fallback program. Uses the
# script's own die and note.
#
# The fallback: armed before the install script's units stop, it restores those units (as they
# were: enabled where they were enabled, started where they ran) unless every container of this
# program listed at arming is running and healthy by the deadline, plus a grace period in which
# it keeps checking. Disarmed once they are. With systemd as init it is a persistent timer
# (OnCalendar at the deadline, Persistent=true: a deadline that passed while the host was down
# fires at boot, and the grace covers the containers' start); elsewhere a detached process that
# sleeps until the deadline (it does not survive a reboot).

readonly FALLBACK_GRACE_SECONDS=30
readonly TAKEOVER_LOCK_WAIT_SECONDS=180

# One takeover step at a time per host: the takeover, its confirmation and the fallback.
acquire_takeover_lock() {
	if command -v flock >/dev/null 2>&1; then
		exec 8>>"$TAKEOVER_LOCK"
		flock -w "$TAKEOVER_LOCK_WAIT_SECONDS" 8 ||
			die "another takeover step still holds $TAKEOVER_LOCK after ${TAKEOVER_LOCK_WAIT_SECONDS}s. Fix: wait for it to finish, then re-run"
		return 0
	fi
	takeover_lock_dir=$TAKEOVER_LOCK.d
	waited=0
	while ! mkdir -m 0700 -- "$takeover_lock_dir" 2>/dev/null; do
		holder=$(cat -- "$takeover_lock_dir/pid" 2>/dev/null || true)
		if [ -n "$holder" ] && ! kill -0 "$holder" 2>/dev/null; then
			rm -rf -- "$takeover_lock_dir"
			continue
		fi
		[ "$waited" -lt "$TAKEOVER_LOCK_WAIT_SECONDS" ] ||
			die "another takeover step still holds $takeover_lock_dir after ${TAKEOVER_LOCK_WAIT_SECONDS}s. Fix: wait for it, or remove $takeover_lock_dir if no run is active, then re-run"
		sleep 1
		waited=$((waited + 1))
	done
	printf '%s\n' "$$" >"$takeover_lock_dir/pid"
	trap 'rm -rf -- "$takeover_lock_dir"' EXIT
}

release_takeover_lock() {
	if command -v flock >/dev/null 2>&1; then
		flock -u 8 2>/dev/null || true
		exec 8>&-
	elif [ -n "${takeover_lock_dir:-}" ]; then
		rm -rf -- "$takeover_lock_dir"
		trap - EXIT
	fi
}

# program_service_names ROLE: the containers whose health counts on a host of ROLE: the core
# services of the role, and the sidecars this program runs there (they exist only when enabled).
program_service_names() {
	if [ "$1" = operator ]; then
		echo replicated-operator
		return 0
	fi
	echo replicated replicated-ui replicated-operator
	for sidecar in replicated-statsd replicated-premkit; do
		if program_container "$sidecar"; then
			echo "$sidecar"
		fi
	done
}

# all_healthy NAME...: 0 when every named container is this program's, runs and is healthy.
all_healthy() {
	for name in "$@"; do
		container_healthy "$name" || return 1
	done
	return 0
}

# unhealthy_report NAME...: "<name>: <state>" for each container that is not healthy, for messages.
unhealthy_report() {
	report=""
	for name in "$@"; do
		container_healthy "$name" && continue
		state=$(container_field "$name" "{{.State.Status}}{{if .State.Health}}/{{.State.Health.Status}}{{end}}")
		report="$report${report:+, }$name: ${state:-absent}"
	done
	printf '%s\n' "$report"
}

systemd_running() {
	[ -d /run/systemd/system ]
}

# The fallback timer of systemd hosts, at DEADLINE (epoch seconds, UTC).
write_fallback_units() {
	deadline_text=$(date -u -d "@$1" '+%Y-%m-%d %H:%M:%S')
	unit_file=$SYSTEMD_UNIT_DIR/$FALLBACK_UNIT.service
	timer_file=$SYSTEMD_UNIT_DIR/$FALLBACK_UNIT.timer
	printf '%s\n' \
		'[Unit]' \
		"Description=Restore Replicated's install-script units unless the takeover's containers are healthy" \
		'' \
		'[Service]' \
		'Type=oneshot' \
		"ExecStart=/bin/sh $TAKEOVER_FALLBACK --fire" >"$unit_file.new"
	printf '%s\n' \
		'[Unit]' \
		"Description=Deadline of the Replicated takeover's fallback" \
		'' \
		'[Timer]' \
		"OnCalendar=$deadline_text UTC" \
		'Persistent=true' \
		'AccuracySec=1s' \
		'' \
		'[Install]' \
		'WantedBy=timers.target' >"$timer_file.new"
	chmod 0644 -- "$unit_file.new" "$timer_file.new"
	mv -f -- "$unit_file.new" "$unit_file"
	mv -f -- "$timer_file.new" "$timer_file"
}

# arm_fallback SECONDS: (re)arm the fallback to fire SECONDS from now.
arm_fallback() {
	deadline=$(($(date +%s) + $1))
	disarm_fallback
	set_state phase=armed "deadline=$deadline" "fallback_seconds=$1"
	if systemd_running; then
		write_fallback_units "$deadline"
		systemctl daemon-reload
		systemctl enable --now -- "$FALLBACK_UNIT.timer" >/dev/null 2>&1 ||
			die "cannot start the fallback timer $FALLBACK_UNIT.timer (systemctl enable --now failed). Nothing of the install script was stopped. Fix: check systemctl status $FALLBACK_UNIT.timer, then re-run"
	else
		# Its own session, no inherited lock descriptors: it outlives this SSH session.
		setsid /bin/sh "$TAKEOVER_FALLBACK" --watch </dev/null >/dev/null 2>&1 8>&- 9>&- &
		set_state "sleeper_pid=$!"
	fi
	note "fallback armed: unless this program's containers are healthy by $(date -u -d "@$deadline" '+%H:%M:%S') UTC (+${FALLBACK_GRACE_SECONDS}s grace), the install script's units are restored"
}

# disarm_fallback: no timer and no sleeper left (the state keeps its phase).
disarm_fallback() {
	if [ -f "$SYSTEMD_UNIT_DIR/$FALLBACK_UNIT.timer" ] || [ -f "$SYSTEMD_UNIT_DIR/$FALLBACK_UNIT.service" ]; then
		if systemd_running; then
			systemctl disable --now -- "$FALLBACK_UNIT.timer" >/dev/null 2>&1 || true
		fi
		rm -f -- "$SYSTEMD_UNIT_DIR/$FALLBACK_UNIT.timer" "$SYSTEMD_UNIT_DIR/$FALLBACK_UNIT.service"
		if systemd_running; then
			systemctl daemon-reload
		fi
	fi
	sleeper=$(state_value sleeper_pid)
	if [ -n "$sleeper" ] && [ "$sleeper" != "$$" ] && grep -qs "$TAKEOVER_FALLBACK" "/proc/$sleeper/cmdline"; then
		kill -- "$sleeper" 2>/dev/null || true
	fi
	if [ -n "$sleeper" ]; then
		set_state sleeper_pid=
	fi
}

# saved_unit_path FORM FILE: where the takeover keeps FILE (a path of the install script's).
saved_unit_path() {
	printf '%s/%s/%s\n' "$TAKEOVER_UNITS" "$1" "${2##*/}"
}

# The files of one unit: the upstart form has a "-stop" job next to the main one.
unit_files() {
	unit_path "$1" "$2"
	if [ "$1" = upstart ]; then
		printf '%s/%s-stop.conf\n' "$UPSTART_DIR" "$2"
	fi
}

# remove_program_containers NAME...: remove this program's containers of these names (never a
# container this program did not create).
remove_program_containers() {
	for name in "$@"; do
		if program_container "$name"; then
			installer_docker rm -f -- "$name" >/dev/null || note "could not remove container $name"
		fi
	done
}

# restore_installer_units: put every unit the manifest lists back where the install script wrote
# it, enable the ones that were enabled and start the ones that ran, daemon first.
restore_installer_units() {
	[ -f "$TAKEOVER_MANIFEST" ] || die "no manifest $TAKEOVER_MANIFEST: nothing recorded to restore"
	while read -r name form enabled running; do
		for file in $(unit_files "$form" "$name"); do
			saved=$(saved_unit_path "$form" "$file")
			[ -f "$saved" ] || continue
			if [ -L "$file" ]; then
				# The mask (a link to /dev/null) goes; anything else at that path stays and wins.
				if [ "$(readlink -- "$file")" = /dev/null ]; then
					rm -f -- "$file"
				else
					note "$file is a link to $(readlink -- "$file"), left as it is; the saved copy stays in $saved"
					continue
				fi
			elif [ -e "$file" ]; then
				note "$file exists again, left as it is; the saved copy stays in $saved"
				continue
			fi
			mv -- "$saved" "$file"
		done
		if [ "$enabled" = 1 ]; then
			case $form in
			sysvinit)
				if command -v update-rc.d >/dev/null 2>&1; then
					update-rc.d "$name" defaults >/dev/null 2>&1 || note "update-rc.d $name defaults failed"
				elif command -v chkconfig >/dev/null 2>&1; then
					chkconfig --add "$name" >/dev/null 2>&1 || note "chkconfig --add $name failed"
				fi
				;;
			esac
		fi
	done <"$TAKEOVER_MANIFEST"
	if systemd_running; then
		systemctl daemon-reload
	fi
	for service in $INSTALLER_SERVICES; do
		while read -r name form enabled running; do
			[ "$name" = "$service" ] || continue
			case $form in
			systemd)
				if systemd_running; then
					if [ "$enabled" = 1 ]; then systemctl enable -- "$name.service" >/dev/null 2>&1 || note "systemctl enable $name failed"; fi
					if [ "$running" = 1 ]; then systemctl start --no-block -- "$name.service" || note "systemctl start $name failed"; fi
				fi
				;;
			upstart)
				if [ "$running" = 1 ] && command -v initctl >/dev/null 2>&1; then
					initctl start "$name" >/dev/null 2>&1 || note "initctl start $name failed"
				fi
				;;
			sysvinit)
				if [ "$running" = 1 ]; then
					"$SYSVINIT_DIR/$name" start >/dev/null 2>&1 || note "$SYSVINIT_DIR/$name start failed"
				fi
				;;
			esac
		done <"$TAKEOVER_MANIFEST"
	done
}
