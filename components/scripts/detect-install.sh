#!/bin/sh
# replicated-script: detect-install
#
# Reports what Replicated's own install script left on this host, changes nothing, and stops the
# run (before anything else of this host or the stack runs) when that install disagrees with the
# stack: an install that runs as root (before 2.5.0) under runAs replicated or the reverse, a
# service uid other than a pinned serviceUser.uid, a service account of another name, a daemon on
# a host configured as an operator (or none on the primary), or containers holding Replicated's
# names that neither this program nor the install script made.
#
# Usage: sh -s -- <runAs: replicated|root> <user name> <pinned uid or ""> <role: primary|operator>
#
# "install" in the summary is one of:
#   none        nothing of the install script here (a fresh host, or one this program made)
#   script      the install script's units are in place: the takeover step takes the host over
#   taken-over  a takeover moved them away already (nothing to check)
#   foreign     containers hold Replicated's names but no unit of the install script exists
# "mode" is "root" (units run as uid 0, installs before 2.5.0) or "service" (a service uid).
#
# Prints one JSON line last (the daemon token's value never, only whether a file holds one):
#   {"init":"systemd","install":"script","mode":"service","serviceUid":1001,"version":"2.53.2",
#    "units":[{"name":"replicated","form":"systemd","path":"/etc/systemd/system/replicated.service",
#    "enabled":true,"running":true,"uid":1001}],"envFiles":[{"path":"/etc/default/replicated",
#    "daemonToken":true}],"user":{"name":"replicated","uid":1001,"gid":999},"containers":[{"name":
#    "replicated","image":"quay.io/replicated/replicated:current","user":"1001:999","running":true,
#    "program":false}],"images":["quay.io/replicated/replicated:current"],"dataOwners":{
#    "/var/lib/replicated":"1001:999"},"takeoverPhase":null,"takeOver":true,"changed":0}
set -eu
umask 077

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="detect-install"
# replicated-include: messages

# --- arguments (validated again here: the script must be safe when run by hand) ---

[ "$#" -eq 4 ] || die "usage: detect-install.sh <replicated|root> <user name> <uid or empty> <primary|operator> (got $# arguments)"
run_as=$1
user_name=$2
pinned_uid=$3
role=$4

case $run_as in
replicated | root) ;;
*) die "runAs must be \"replicated\" or \"root\", got \"$run_as\"" ;;
esac
case $user_name in
'' | [!a-z_]* | *[!a-z0-9_-]*) die "invalid user name \"$user_name\": it must match ^[a-z_][a-z0-9_-]{0,30}\$" ;;
esac
[ "${#user_name}" -le 31 ] || die "invalid user name \"$user_name\": at most 31 characters"
if [ -n "$pinned_uid" ]; then
	case $pinned_uid in
	*[!0-9]* | 0*) die "invalid uid \"$pinned_uid\": it must be an integer from 1 to 2147483646" ;;
	esac
	if [ "${#pinned_uid}" -gt 10 ] || [ "$pinned_uid" -gt 2147483646 ]; then
		die "invalid uid \"$pinned_uid\": it must be an integer from 1 to 2147483646"
	fi
fi
case $role in
primary | operator) ;;
*) die "role must be \"primary\" or \"operator\", got \"$role\"" ;;
esac

# replicated-include: installer-units

# --- what is here ---

# append LIST ITEM: LIST with ITEM added, comma-separated.
append() {
	if [ -z "$1" ]; then printf '%s' "$2"; else printf '%s,%s' "$1" "$2"; fi
}

init=$(detect_init_system)
docker_ok=0
if command -v docker >/dev/null 2>&1 && installer_docker info >/dev/null 2>&1; then
	docker_ok=1
fi

units=""
unit_count=0
unit_uids=""
daemon_unit=0
for name in $INSTALLER_SERVICES; do
	for form in $(installer_unit_forms "$name"); do
		path=$(unit_path "$form" "$name")
		enabled=0
		running=0
		if unit_enabled "$form" "$name"; then enabled=1; fi
		if [ "$docker_ok" = 1 ] || [ "$form" = systemd ]; then
			if unit_running "$form" "$name"; then running=1; fi
		fi
		uid=$(unit_file_uid "$path")
		unit_uids="$unit_uids ${uid:-?}"
		units=$(append "$units" "{\"name\":\"$name\",\"form\":\"$form\",\"path\":$(json_text "$path"),\"enabled\":$(json_bool $enabled),\"running\":$(json_bool $running),\"uid\":${uid:-null}}")
		unit_count=$((unit_count + 1))
		if [ "$name" = replicated ]; then daemon_unit=1; fi
	done
done

containers=""
foreign_names=""
foreign_uids=""
if [ "$docker_ok" = 1 ]; then
	for name in $INSTALLER_CONTAINERS; do
		fields=$(container_field "$name" "{{.Config.Image}}|{{.Config.User}}|{{.State.Running}}|{{index .Config.Labels \"$PROGRAM_STACK_LABEL\"}}")
		[ -n "$fields" ] || continue
		image=${fields%%|*}
		rest=${fields#*|}
		user=${rest%%|*}
		rest=${rest#*|}
		running=${rest%%|*}
		label=${rest#*|}
		program=0
		if [ -n "$label" ]; then
			program=1
		else
			foreign_names="$foreign_names $name"
			if [ "$running" = true ]; then
				foreign_uids="$foreign_uids ${user%%:*}"
			fi
		fi
		is_running=0
		if [ "$running" = true ]; then is_running=1; fi
		containers=$(append "$containers" "{\"name\":\"$name\",\"image\":$(json_text "$image"),\"user\":$(json_text "$user"),\"running\":$(json_bool $is_running),\"program\":$(json_bool $program)}")
	done
fi

images=""
version=""
if [ "$docker_ok" = 1 ]; then
	for ref in $(installer_docker image ls --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep ':current$' || true); do
		repository=${ref%:current}
		case ${repository##*/} in
		replicated | replicated-ui | replicated-operator) ;;
		*) continue ;;
		esac
		images=$(append "$images" "$(json_text "$ref")")
		# The version the install runs: another tag of the image ":current" points to.
		if [ -z "$version" ] && { [ "${repository##*/}" = replicated ] || [ "${repository##*/}" = replicated-operator ]; }; then
			for tag in $(installer_docker image inspect --format '{{join .RepoTags " "}}' -- "$ref" 2>/dev/null || true); do
				tag=${tag##*:}
				case ${tag##*-} in
				[0-9]*.[0-9]*.[0-9]*)
					case ${tag##*-} in
					*[!0-9.]*) ;;
					*) version=${tag##*-} ;;
					esac
					;;
				esac
			done
		fi
	done
fi

env_files=""
for conf in replicated replicated-operator; do
	file=$(env_file "$conf")
	[ -n "$file" ] || continue
	has_token=0
	if [ -n "$(env_file_token "$file")" ]; then has_token=1; fi
	env_files=$(append "$env_files" "{\"path\":$(json_text "$file"),\"daemonToken\":$(json_bool $has_token)}")
done
if [ -f "$REPLICATED_CONF" ]; then
	has_token=0
	if [ -n "$(replicated_conf_token)" ]; then has_token=1; fi
	env_files=$(append "$env_files" "{\"path\":\"$REPLICATED_CONF\",\"daemonToken\":$(json_bool $has_token)}")
fi

user_json=null
entry=$(getent passwd replicated || true)
if [ -n "$entry" ]; then
	user_json="{\"name\":\"replicated\",\"uid\":$(printf '%s' "$entry" | cut -d: -f3),\"gid\":$(printf '%s' "$entry" | cut -d: -f4)}"
fi

data_owners=""
for dir in /var/lib/replicated /var/run/replicated /var/lib/replicated-operator /var/run/replicated-operator; do
	if [ -e "$dir" ] || [ -L "$dir" ]; then
		owner="\"$(stat -c %u:%g -- "$dir")\""
	else
		owner=null
	fi
	data_owners=$(append "$data_owners" "\"$dir\":$owner")
done

phase=$(state_value phase)

# --- what it means ---

install=none
if [ "$unit_count" -gt 0 ]; then
	install=script
elif [ -f "$TAKEOVER_MANIFEST" ] && [ -n "$phase" ]; then
	install=taken-over
elif [ -n "$foreign_names" ]; then
	install=foreign
fi

mode=null
service_uid=null
if [ "$install" = script ]; then
	all_uids=$(printf '%s %s' "$unit_uids" "$foreign_uids" | tr -s ' ' '\n' | grep . | sort -u)
	distinct=$(printf '%s\n' "$all_uids" | grep -c .)
	first=$(printf '%s\n' "$all_uids" | head -n 1)
	if [ "$distinct" = 1 ] && [ "$first" != "?" ]; then
		service_uid=$first
		if [ "$first" = 0 ]; then mode='"root"'; else mode='"service"'; fi
	else
		mode='"mixed"'
	fi
fi

take_over=0
if [ "$install" = script ]; then take_over=1; fi

printf '{"init":"%s","install":"%s","mode":%s,"serviceUid":%s,"version":%s,"units":[%s],"envFiles":[%s],"user":%s,"containers":[%s],"images":[%s],"dataOwners":{%s},"takeoverPhase":%s,"takeOver":%s,"changed":0}\n' \
	"$init" "$install" "$mode" "$service_uid" "$(if [ -n "$version" ]; then json_text "$version"; else printf null; fi)" \
	"$units" "$env_files" "$user_json" "$containers" "$images" "$data_owners" \
	"$(if [ -n "$phase" ]; then json_text "$phase"; else printf null; fi)" "$(json_bool $take_over)"

# --- disagreements: nothing has changed on any host yet ---

if [ "$install" = foreign ]; then
	die "containers${foreign_names} hold Replicated's names but were not created by this program, and no unit of Replicated's install script (systemd, upstart or sysvinit) was found, so nothing here says who runs them. Nothing was changed. Fix: find out what started them; if they are not needed, remove them (docker rm -f${foreign_names}), then re-run"
fi
[ "$install" = script ] || exit 0

if [ "$mode" = '"mixed"' ]; then
	die "the units of Replicated's install script run as different uids (${unit_uids# }${foreign_uids:+; running containers:$foreign_uids}), so this install is half-way between root mode and a service account. Nothing was changed. Fix: re-run Replicated's install script on this host so every unit runs as one uid, then re-run"
fi
if [ "$role" = operator ] && [ "$daemon_unit" = 1 ]; then
	die "this host runs Replicated's daemon (unit replicated of the install script), but the stack gives it role operator; taking it over would stop the daemon its operators connect to. Nothing was changed. Fix: give this host role primary (pulumi config set --path 'replicated:hosts[<index>].role' primary), or leave it out of this stack"
fi
if [ "$role" = primary ] && [ "$daemon_unit" = 0 ]; then
	die "this host runs only Replicated's operator (unit replicated-operator of the install script, no daemon), but the stack gives it role primary. Nothing was changed. Fix: give it role operator (pulumi config set --path 'replicated:hosts[<index>].role' operator) with the address of its primary, or leave it out of this stack"
fi
if [ "$run_as" = replicated ] && [ "$service_uid" = 0 ]; then
	die "Replicated's install script runs this host as root (an install from before 2.5.0: its units run as uid 0), but replicated:runAs is replicated. A root install is taken over as it is, then opted in. Nothing was changed. Fix: pulumi config set replicated:runAs root, run pulumi up, then opt in with pulumi config set replicated:runAs replicated"
fi
if [ "$run_as" = root ] && [ "$service_uid" != 0 ]; then
	die "Replicated's install script runs this host as uid $service_uid (an install of 2.5.0 or later with a service account), but replicated:runAs is root, which would run its containers as root again. Nothing was changed. Fix: pulumi config set replicated:runAs replicated"
fi
if [ "$run_as" = replicated ]; then
	owner=$(getent passwd "$service_uid" | cut -d: -f1 || true)
	[ -n "$owner" ] ||
		die "the units of Replicated's install script run as uid $service_uid, which has no account on this host. Nothing was changed. Fix: restore the account the install script made (useradd -u $service_uid -g <docker gid> replicated), then re-run"
	if [ -n "$pinned_uid" ] && [ "$pinned_uid" != "$service_uid" ]; then
		die "Replicated's install script runs this host as uid $service_uid (user \"$owner\"), but serviceUser.uid is $pinned_uid. The install's uid is reused, never changed (its files carry the number). Nothing was changed. Fix: remove the pin (pulumi config rm --path 'replicated:serviceUser.uid'); the script picked uids host by host, so a fleet of script installs leaves serviceUser.uid unset"
	fi
	if [ "$owner" != "$user_name" ]; then
		die "Replicated's install script runs this host as user \"$owner\" (uid $service_uid), but serviceUser.name is \"$user_name\"; another account would have to re-own the install's data. Nothing was changed. Fix: pulumi config set --path 'replicated:serviceUser.name' $owner"
	fi
fi
mode_name=${mode#\"}
note "found Replicated's install script here ($unit_count unit(s), init $init, mode ${mode_name%\"}): the takeover step takes the host over"
