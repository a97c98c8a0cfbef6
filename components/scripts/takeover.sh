#!/bin/sh
# replicated-script: takeover
#
# Takes a host over from Replicated's own install script, right before this program creates its
# containers there (the images are present by then). In this order:
#   1. records the install script's units and how they were (enabled, running) in a manifest,
#      once per takeover, so the fallback and a hand-back can restore exactly that;
#   2. arms the fallback (see lib/takeover-control.sh), before anything stops;
#   3. stops each unit, disables it, moves its file into a root-only directory and, on systemd,
#      masks it, so that neither a reboot, a daemon-reload, another unit nor a hand-typed start
#      brings it back: systemd refuses to mask while the file lies in /etc/systemd/system, hence
#      the move (the file is kept byte for byte for the hand-back);
#   4. removes the install script's containers of Replicated's fixed names (only containers
#      without this program's label; the daemon's own sidecars included).
# Data directories are not touched. Idempotent: a host with nothing of the install script left
# in place reports "changed": 0 and changes nothing, and a takeover killed at any point is
# finished by the next run (which re-arms the fallback and keeps the first manifest).
#
# Usage: sh -s -- <role: primary|operator> <fallback seconds>
#   The role decides which of this program's containers must be healthy to disarm the fallback
#   (takeover-confirm.sh): the role's core services, plus the sidecars this program runs there.
#
# Prints one JSON line last:
#   {"install":"script","init":"systemd","units":3,"stopped":3,"containersRemoved":5,
#    "fallbackArmed":true,"fallbackSeconds":300,"changed":9}
#   {"install":"none","init":"systemd","units":0,"stopped":0,"containersRemoved":0,
#    "fallbackArmed":false,"fallbackSeconds":300,"changed":0}
set -eu
umask 077

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="takeover"
# replicated-include: messages

# --- arguments (validated again here: the script must be safe when run by hand) ---

[ "$#" -eq 2 ] || die "usage: takeover.sh <primary|operator> <fallback seconds> (got $# arguments)"
role=$1
fallback_seconds=$2
case $role in
primary | operator) ;;
*) die "role must be \"primary\" or \"operator\", got \"$role\"" ;;
esac
case $fallback_seconds in
'' | *[!0-9]* | 0*) die "fallback seconds must be an integer from 30 to 3600, got \"$fallback_seconds\"" ;;
esac
if [ "${#fallback_seconds}" -gt 4 ] || [ "$fallback_seconds" -lt 30 ] || [ "$fallback_seconds" -gt 3600 ]; then
	die "fallback seconds must be an integer from 30 to 3600, got \"$fallback_seconds\""
fi
# replicated-include: installer-units
# replicated-include: takeover-control

changed=0

write_fallback_program() {
	new_program=$(mktemp -- "$TAKEOVER_DIR/.fallback.XXXXXX") || die "cannot write in $TAKEOVER_DIR"
	cat >"$new_program" <<'REPLICATED_FALLBACK_PROGRAM'
#!/bin/sh
# Written by the takeover step of the Replicated Pulumi program; see takeover-fallback.sh.
set -eu
umask 077
# replicated-include: installer-units
# replicated-include: takeover-control
# replicated-include: takeover-fallback
REPLICATED_FALLBACK_PROGRAM
	chmod 0700 -- "$new_program"
	if [ -f "$TAKEOVER_FALLBACK" ] && cmp -s -- "$new_program" "$TAKEOVER_FALLBACK"; then
		rm -f -- "$new_program"
	else
		mv -f -- "$new_program" "$TAKEOVER_FALLBACK"
	fi
}

ensure_takeover_dir() {
	check_takeover_dir
	if [ ! -d "$TAKEOVER_PARENT" ]; then
		mkdir -m 0755 -- "$TAKEOVER_PARENT"
	fi
	for dir in "$TAKEOVER_DIR" "$TAKEOVER_UNITS" "$TAKEOVER_UNITS/systemd" "$TAKEOVER_UNITS/upstart" "$TAKEOVER_UNITS/sysvinit"; do
		if [ -L "$dir" ] || { [ -e "$dir" ] && [ ! -d "$dir" ]; }; then
			die "$dir is not a directory. Nothing was changed. Fix: move it away, then re-run"
		fi
		if [ ! -d "$dir" ]; then
			mkdir -m 0700 -- "$dir"
		fi
	done
	check_takeover_dir
}

# move_aside FILE FORM: FILE goes into the takeover directory. A copy already there with the
# same content (an interrupted run) makes FILE redundant; a different one is kept under a
# time-stamped name, so no version of the install script's unit is ever lost.
move_aside() {
	saved=$(saved_unit_path "$2" "$1")
	if [ -f "$saved" ]; then
		if cmp -s -- "$1" "$saved"; then
			rm -f -- "$1"
			return 0
		fi
		mv -- "$saved" "$saved.$(date +%s)"
	fi
	mv -- "$1" "$saved"
}

stop_unit() {
	case $1 in
	systemd)
		if systemd_running; then
			systemctl stop -- "$2.service" || die "systemctl stop $2 failed; the fallback is armed and restores the units at its deadline. Fix: see systemctl status $2, then re-run"
		fi
		;;
	upstart)
		if command -v initctl >/dev/null 2>&1 && initctl version 2>/dev/null | grep -q upstart; then
			initctl stop "$2" >/dev/null 2>&1 || note "initctl stop $2 failed (it may not have been running)"
		fi
		;;
	sysvinit)
		if container_running "$2"; then
			"$SYSVINIT_DIR/$2" stop >/dev/null 2>&1 || note "$SYSVINIT_DIR/$2 stop failed; its container is removed below"
		fi
		;;
	esac
}

disable_unit() {
	case $1 in
	systemd)
		if systemd_running; then
			systemctl disable -- "$2.service" >/dev/null 2>&1 || die "systemctl disable $2 failed. Fix: see the message above, then re-run"
		else
			find "$SYSTEMD_UNIT_DIR" -mindepth 2 -maxdepth 2 -path '*.wants/*' -name "$2.service" -type l -exec rm -f -- {} +
		fi
		;;
	sysvinit)
		if command -v update-rc.d >/dev/null 2>&1; then
			update-rc.d -f "$2" remove >/dev/null 2>&1 || die "update-rc.d -f $2 remove failed. Fix: see the message above, then re-run"
		elif command -v chkconfig >/dev/null 2>&1; then
			chkconfig --del "$2" >/dev/null 2>&1 || die "chkconfig --del $2 failed. Fix: see the message above, then re-run"
		fi
		;;
	esac
}

mask_unit() {
	[ "$1" = systemd ] || return 0
	path=$(unit_path systemd "$2")
	[ -L "$path" ] && return 0
	if systemd_running; then
		systemctl mask -- "$2.service" >/dev/null 2>&1 || die "systemctl mask $2 failed. Fix: see systemctl status $2, then re-run"
	else
		ln -s /dev/null "$path"
	fi
}

# --- main ---

acquire_takeover_lock
init=$(detect_init_system)

in_place=""
for name in $INSTALLER_SERVICES; do
	for form in $(installer_unit_forms "$name"); do
		in_place="$in_place $name:$form"
	done
done
foreign=""
for name in $INSTALLER_CONTAINERS; do
	if foreign_container "$name"; then
		foreign="$foreign $name"
	fi
done

summary() {
	printf '{"install":"%s","init":"%s","units":%s,"stopped":%s,"containersRemoved":%s,"fallbackArmed":%s,"fallbackSeconds":%s,"changed":%s}\n' \
		"$1" "$init" "$2" "$3" "$4" "$5" "$fallback_seconds" "$changed"
}

if [ -z "$in_place" ] && [ -z "$foreign" ]; then
	phase=$(state_value phase)
	if [ "$phase" = armed ] && [ -f "$TAKEOVER_MANIFEST" ]; then
		# Taken over, not yet confirmed (a run killed after this step): the containers are about
		# to be created again, so the fallback gets its whole bound once more.
		check_takeover_dir
		write_fallback_program
		arm_fallback "$fallback_seconds"
		changed=1
		summary taken-over 0 0 0 true
	elif [ -n "$phase" ] && [ -f "$TAKEOVER_MANIFEST" ]; then
		summary taken-over 0 0 0 false
	else
		summary none 0 0 0 false
	fi
	exit 0
fi
if [ -z "$in_place" ] && [ ! -f "$TAKEOVER_MANIFEST" ]; then
	die "containers${foreign} hold Replicated's names but were not created by this program, and no unit of Replicated's install script was found. Nothing was changed. Fix: find out what started them; if they are not needed, remove them (docker rm -f${foreign}), then re-run"
fi

ensure_takeover_dir

# 1. The manifest: written when a takeover starts; an interrupted one keeps it and adds what is new.
phase=$(state_value phase)
if [ "$phase" != armed ] || [ ! -f "$TAKEOVER_MANIFEST" ]; then
	new_manifest=$(mktemp -- "$TAKEOVER_DIR/.units.XXXXXX")
	for entry in $in_place; do
		name=${entry%%:*}
		form=${entry#*:}
		enabled=0
		running=0
		if unit_enabled "$form" "$name"; then enabled=1; fi
		if unit_running "$form" "$name"; then running=1; fi
		printf '%s %s %s %s\n' "$name" "$form" "$enabled" "$running" >>"$new_manifest"
	done
	mv -f -- "$new_manifest" "$TAKEOVER_MANIFEST"
	set_state "role=$role" "started_at=$(now_ms)" stopped_at= healthy_at= fallback_at=
	changed=$((changed + 1))
else
	for entry in $in_place; do
		name=${entry%%:*}
		form=${entry#*:}
		if ! grep -q "^$name $form " -- "$TAKEOVER_MANIFEST"; then
			enabled=0
			running=0
			if unit_enabled "$form" "$name"; then enabled=1; fi
			if unit_running "$form" "$name"; then running=1; fi
			printf '%s %s %s %s\n' "$name" "$form" "$enabled" "$running" >>"$TAKEOVER_MANIFEST"
		fi
	done
	set_state "role=$role"
fi

# 2. The fallback, before anything stops.
write_fallback_program
arm_fallback "$fallback_seconds"
changed=$((changed + 1))

# 3. Stop, disable, move aside and mask: the console and the operator before the daemon.
units=0
stopped=0
if [ -z "$(state_value stopped_at)" ]; then
	set_state "stopped_at=$(now_ms)"
fi
for service in replicated-ui replicated-operator replicated; do
	for entry in $in_place; do
		name=${entry%%:*}
		form=${entry#*:}
		[ "$name" = "$service" ] || continue
		units=$((units + 1))
		if unit_running "$form" "$name"; then
			stopped=$((stopped + 1))
		fi
		stop_unit "$form" "$name"
		disable_unit "$form" "$name"
		for file in $(unit_files "$form" "$name"); do
			if [ -f "$file" ] && [ ! -L "$file" ]; then
				move_aside "$file" "$form"
			fi
		done
		mask_unit "$form" "$name"
		note "stopped and disabled $name ($form); its unit file is kept in $TAKEOVER_UNITS/$form"
		changed=$((changed + 1))
	done
done
# A run killed between moving a unit file and masking it left the unit unmasked.
while read -r name form _enabled _running; do
	if [ "$form" = systemd ] && [ -f "$(saved_unit_path systemd "$(unit_path systemd "$name")")" ] &&
		[ ! -e "$(unit_path systemd "$name")" ] && [ ! -L "$(unit_path systemd "$name")" ]; then
		mask_unit systemd "$name"
		changed=$((changed + 1))
	fi
done <"$TAKEOVER_MANIFEST"
if systemd_running; then
	systemctl daemon-reload
fi

# 4. The install script's containers (none of them carries this program's label).
removed=0
for name in $INSTALLER_CONTAINERS; do
	if foreign_container "$name"; then
		installer_docker rm -f -- "$name" >/dev/null ||
			die "docker rm -f $name failed; the fallback is armed and restores the units at its deadline. Fix: see the message above, then re-run"
		removed=$((removed + 1))
		changed=$((changed + 1))
		note "removed the install script's container $name"
	fi
done

summary script "$units" "$stopped" "$removed" true
