#!/bin/sh
# replicated-script: directories
#
# Ensures the directories Replicated writes, owned <uid>:<gid> with mode 0750, and a tmpfiles.d
# entry that recreates the runtime directories under /run (a tmpfs) at every boot.
#
# Usage: sh -s -- <uid> <gid> <role>
#   uid   owner (the service uid; 0 in legacy root mode)
#   gid   group (the docker gid; never 0)
#   role  "primary": daemon, UI, sidecars and a local operator run here
#         "operator": only the operator (and on-demand operations) run here
#
# Directories are created one level at a time (never mkdir -p, never recursive chown/chmod);
# each is checked first and changed only when its owner or mode differs, through a handle opened
# without following links (lib/ensure-dirs.sh: the service account can swap names inside its own
# directories). A path that exists as a file, a symbolic link or anything else but a directory
# fails the run, naming the path; so does a directory that belongs to a uid other than root or
# <uid>. Every path is checked before the first change, so a refusal changes nothing.
# /etc/tmpfiles.d/replicated.conf is rewritten only when its content differs.
#
# Prints one JSON line last:
#   {"changed":0,"uid":1017,"gid":999,"role":"primary","directories":10,"tmpfiles":"applied"}
set -eu
umask 077

readonly DIR_MODE=750
readonly TMPFILES_DIR=/etc/tmpfiles.d
readonly TMPFILES_CONF=$TMPFILES_DIR/replicated.conf
# Shared with account.sh: one provisioning run at a time per host.

changed=0
directories=0

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="directories"
# replicated-include: messages

# --- arguments (validated again here: the script must be safe when run by hand) ---

[ "$#" -eq 3 ] || die "usage: directories.sh <uid> <gid> <primary|operator> (got $# arguments)"
owner_uid=$1
owner_gid=$2
role=$3

# replicated-include: ids

valid_id "$owner_uid" || die "invalid uid \"$owner_uid\": it must be an integer from 0 to 2147483646"
valid_id "$owner_gid" 1 || die "invalid gid \"$owner_gid\": it must be an integer from 1 to 2147483646"
[ "$owner_gid" -ge 1 ] || die "refusing gid 0: the directories belong to the docker group, never to root's group"
case $role in
primary | operator) ;;
*) die "role must be \"primary\" or \"operator\", got \"$role\"" ;;
esac

# --- lock ---

# replicated-include: provision-lock

# --- directories ---

# replicated-include: ensure-dirs

# Describe what sits at a path that should be a regular file, for the error message.
describe() {
	if [ -L "$1" ]; then
		printf 'a symbolic link to %s' "$(readlink -- "$1" || printf '?')"
	else
		stat -c %F -- "$1"
	fi
}

# The tmpfiles.d path of a runtime directory: /run/..., which /var/run links to on every current
# distribution (systemd-tmpfiles warns about /var/run paths).
runtime_path() {
	if [ "$(stat -L -c %d:%i -- /var/run)" = "$(stat -L -c %d:%i -- /run)" ]; then
		printf '/run/%s\n' "$1"
	else
		printf '/var/run/%s\n' "$1"
	fi
}

tmpfiles_content() {
	printf '# Written by Replicated provisioning (directories.sh); edits are overwritten.\n'
	printf '# /run is a tmpfs: recreate the runtime directories at boot with their owner and mode.\n'
	if [ "$role" = primary ]; then
		printf 'd %s 0%s %s %s -\n' "$(runtime_path replicated)" "$DIR_MODE" "$owner_uid" "$owner_gid"
	fi
	printf 'd %s 0%s %s %s -\n' "$(runtime_path replicated-operator)" "$DIR_MODE" "$owner_uid" "$owner_gid"
}

# Rewrite the tmpfiles.d entry only when it differs (atomically: temp file + rename), then apply
# it now where systemd-tmpfiles exists.
ensure_tmpfiles() {
	wanted=$(tmpfiles_content)
	if [ ! -d "$TMPFILES_DIR" ]; then
		mkdir -m 0755 -- "$TMPFILES_DIR"
	fi
	if [ -L "$TMPFILES_CONF" ] || { [ -e "$TMPFILES_CONF" ] && [ ! -f "$TMPFILES_CONF" ]; }; then
		die "$TMPFILES_CONF exists but is $(describe "$TMPFILES_CONF"), not a regular file. Fix: move it away, then re-run"
	fi
	current=""
	if [ -f "$TMPFILES_CONF" ]; then
		current=$(cat -- "$TMPFILES_CONF")
	fi
	if [ "$current" != "$wanted" ]; then
		temp=$(mktemp "$TMPFILES_DIR/.replicated.conf.XXXXXX")
		printf '%s\n' "$wanted" >"$temp"
		chmod 0644 -- "$temp"
		mv -f -- "$temp" "$TMPFILES_CONF"
		note "wrote $TMPFILES_CONF"
		changed=$((changed + 1))
	elif [ "$(stat -c '%u:%g %a' -- "$TMPFILES_CONF")" != "0:0 644" ]; then
		chown -h -- 0:0 "$TMPFILES_CONF"
		chmod -- 0644 "$TMPFILES_CONF"
		changed=$((changed + 1))
	fi
	if command -v systemd-tmpfiles >/dev/null 2>&1; then
		systemd-tmpfiles --create -- "$TMPFILES_CONF" ||
			die "systemd-tmpfiles --create $TMPFILES_CONF failed; see the message above"
		tmpfiles=applied
	else
		# Other init systems: the file documents the intent; the next run recreates the directories.
		tmpfiles=written
	fi
}

# --- main ---

trap release_lock EXIT
trap 'exit 130' INT TERM HUP
acquire_lock

# Every host: the service account's home, where on-demand operations write (support bundles,
# scratch), and the operator's state and runtime directories (the primary runs a local operator).
# Only the primary runs the daemon, the UI and the sidecars. Parents before children.
set -- /var/lib/replicated /var/lib/replicated/support-bundles /var/lib/replicated/tmp
if [ "$role" = primary ]; then
	set -- "$@" /var/lib/replicated/db /var/lib/replicated/statsd /var/lib/replicated/premkit \
		/var/lib/replicated/snapshots /var/run/replicated
fi
set -- "$@" /var/lib/replicated-operator /var/run/replicated-operator
directories=$#
dirs_changed=$(ensure_dirs directories "$owner_uid" "$owner_gid" "0$DIR_MODE" "$@")
changed=$((changed + dirs_changed))
ensure_tmpfiles

printf '{"changed":%s,"uid":%s,"gid":%s,"role":"%s","directories":%s,"tmpfiles":"%s"}\n' \
	"$changed" "$owner_uid" "$owner_gid" "$role" "$directories" "$tmpfiles"
