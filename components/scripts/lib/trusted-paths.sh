#!/bin/sh
# replicated-library: trusted-paths
#
# Inlined by loadScript (components/shell.ts) where a root script says
# "# replicated-include: trusted-paths".
#
# A root script may only create, re-own, mount or read from a path when nobody but root can
# swap a directory on the way to it. So every directory above the path must be "trusted": a
# real directory (not a symlink), owned by root, and writable by no group and no other user.
# Then no other process can rename, replace or symlink an entry in it between a check and the
# change that follows, and plain path-based commands (mkdir, chmod, chown -h, docker's bind
# mount) act on what was checked. Missing levels are created one at a time (mkdir never
# follows a symlink in its last component) and each is checked again before the next step.
#
# One allowance: /var/log itself may be group-writable for a group other than the docker
# socket's (Ubuntu ships it root:syslog 0775 for rsyslog). Such a group can race the audit
# directory below it; the service user, in the docker group, cannot.
#
# Functions return 1 and keep the reason, with its fix, for trusted_path_problem to print; the
# caller decides how to fail.
#
# A directory found trusted stays trusted for the rest of the run: only root can change its owner
# or mode, and, its parent being trusted too, only root can rename or replace it. So each one is
# checked (one stat) once per run, however often a script asks.
trusted_path_problem=
trusted_known=" "
trusted_ensured=" "

# The reason the last check failed, with its fix.
trusted_problem() {
	printf '%s' "$trusted_path_problem"
}

# trusted_dir PATH: PATH is a trusted directory.
trusted_dir() {
	case $trusted_known in *" $1 "*) return 0 ;; esac
	if [ -L "$1" ]; then
		trusted_path_problem="$1 is a symlink; a root operation never follows one. Fix: replace it with a real directory owned by root (mode 0755)"
		return 1
	fi
	if [ ! -e "$1" ]; then
		trusted_path_problem="$1 does not exist"
		return 1
	fi
	if [ ! -d "$1" ]; then
		trusted_path_problem="$1 exists and is not a directory. Fix: move it away"
		return 1
	fi
	trusted_stat=$(stat -c '%u %g %a' -- "$1") || {
		trusted_path_problem="cannot stat $1"
		return 1
	}
	trusted_uid=${trusted_stat%% *}
	trusted_stat=${trusted_stat#* }
	trusted_gid=${trusted_stat%% *}
	trusted_mode=${trusted_stat#* }
	if [ "$trusted_uid" != 0 ]; then
		trusted_path_problem="$1 is owned by uid $trusted_uid, not root, so that user could swap what lies below it. Fix: chown root:root $1 (or choose a path whose directories only root can change)"
		return 1
	fi
	if [ $((0$trusted_mode & 02)) -ne 0 ]; then
		trusted_path_problem="$1 is writable by every user (mode $trusted_mode), so any user could swap what lies below it. Fix: chmod o-w $1 (or choose another path)"
		return 1
	fi
	if [ $((0$trusted_mode & 020)) -ne 0 ]; then
		if [ "$1" != /var/log ] || [ "$trusted_gid" = "$(stat -c %g -- /var/run/docker.sock 2>/dev/null || echo 0)" ]; then
			trusted_path_problem="$1 is writable by group $trusted_gid (mode $trusted_mode), so a process of that group could swap what lies below it. Fix: chmod g-w $1 (or choose another path)"
			return 1
		fi
	fi
	trusted_known="$trusted_known$1 "
	return 0
}

# trusted_parents PATH: "/" and every existing directory above PATH are trusted (checks only;
# stops at the first missing level, below which nothing can exist).
trusted_parents() {
	trusted_dir / || return 1
	trusted_rest=${1#/}
	trusted_current=
	while :; do
		case $trusted_rest in
		*/*)
			trusted_current=$trusted_current/${trusted_rest%%/*}
			trusted_rest=${trusted_rest#*/}
			;;
		*) return 0 ;;
		esac
		if [ ! -e "$trusted_current" ] && [ ! -L "$trusted_current" ]; then return 0; fi
		trusted_dir "$trusted_current" || return 1
	done
}

# ensure_trusted_parents PATH: like trusted_parents, and creates each missing level above PATH
# root:root 0755, checking its parent again right before and the new level right after.
ensure_trusted_parents() {
	trusted_dir / || return 1
	ensure_rest=${1#/}
	ensure_current=
	while :; do
		case $ensure_rest in
		*/*)
			ensure_parent=${ensure_current:-/}
			ensure_current=$ensure_current/${ensure_rest%%/*}
			ensure_rest=${ensure_rest#*/}
			;;
		*) return 0 ;;
		esac
		if [ ! -e "$ensure_current" ] && [ ! -L "$ensure_current" ]; then
			trusted_dir "$ensure_parent" || return 1
			mkdir -m 0755 -- "$ensure_current" || {
				trusted_path_problem="could not create $ensure_current"
				return 1
			}
		fi
		trusted_dir "$ensure_current" || return 1
	done
}

# ensure_dir_level PATH MODE: PATH is a real directory below trusted parents; created with MODE
# (root-owned) when missing. An existing PATH is only checked: not a symlink, a directory.
ensure_dir_level() {
	ensure_trusted_parents "$1" || return 1
	if [ ! -e "$1" ] && [ ! -L "$1" ]; then
		ensure_parent=${1%/*}
		trusted_dir "${ensure_parent:-/}" || return 1
		mkdir -m "$2" -- "$1" || {
			trusted_path_problem="could not create $1"
			return 1
		}
	fi
	if [ -L "$1" ]; then
		trusted_path_problem="$1 is a symlink; a root operation never follows one. Fix: replace it with a real directory"
		return 1
	fi
	if [ ! -d "$1" ]; then
		trusted_path_problem="$1 exists and is not a directory. Fix: move it away"
		return 1
	fi
	return 0
}

# ensure_root_dir PATH MODE: PATH is a trusted directory root:root MODE (created, or its owner,
# group and mode corrected only where they differ; safe because its parent is trusted).
ensure_root_dir() {
	case $trusted_ensured in *" $1 "*) return 0 ;; esac
	ensure_dir_level "$1" "$2" || return 1
	ensure_have=$(stat -c '%u:%g %a' -- "$1")
	if [ "${ensure_have% *}" != 0:0 ]; then chown -h root:root -- "$1"; fi
	if [ "$((0${ensure_have#* }))" -ne "$((0$2))" ]; then chmod -- "$2" "$1"; fi
	trusted_known="$trusted_known$1 "
	trusted_ensured="$trusted_ensured$1 "
}
