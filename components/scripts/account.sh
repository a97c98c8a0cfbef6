#!/bin/sh
# replicated-script: account
#
# Ensures the Replicated service account, or in legacy root mode only reports the ids.
#
# Usage: sh -s -- <mode> <user name> <uid or empty> <adopt: user name or empty> <allow uid 65534: true|false>
#   mode "replicated": a system user <user name> exists (nologin shell, locked password, home
#     /var/lib/replicated, not created here, GECOS "Replicated service account (managed by
#     Pulumi)"), its primary group is the
#     docker group and it is a member of the docker group. A pinned <uid> must match an existing
#     user's uid: a uid is never changed.
#   mode "root" (installs before 2.5.0): creates nothing, reports uid 0 and the docker gid.
#
# Adding an account to the docker group makes every process of that account root-equivalent, so
# an existing account of that name is adopted only when it is one of two kinds:
#   - an account this program created: that GECOS, or the shape it had before the
#     marker existed (home /var/lib/replicated, a nologin shell, primary group the docker gid);
#   - the account Replicated's install script (2.5.0+) created with a plain `useradd -g <docker gid>`:
#     primary group the docker gid, a regular uid (UID_MIN..UID_MAX of /etc/login.defs), a login
#     shell that useradd gives by default (its `useradd -D` SHELL, /bin/sh or /bin/bash).
# Anything else is refused unless <adopt> names it (serviceUser.adoptExisting). uid 0 is always
# refused, uid 65534 unless <allow uid 65534> is true.
#
# The docker gid is the group owner of the docker socket, else the gid of the "docker" group.
# It is never 0: a host where it would be fails with the reason.
#
# Prints one JSON line last:
#   {"user":"replicated","uid":1017,"gid":999,"dockerGid":999,"changed":0}
set -eu
umask 077

readonly DOCKER_SOCKET=/var/run/docker.sock
readonly SERVICE_HOME=/var/lib/replicated
# GECOS of the accounts this program creates: how a later run recognises its own account.
readonly ACCOUNT_MARKER="Replicated service account (managed by Pulumi)"
readonly NOBODY_UID=65534

changed=0

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="account"
# replicated-include: messages

# --- arguments (validated again here: the script must be safe when run by hand) ---

[ "$#" -eq 5 ] || die "usage: account.sh <replicated|root> <user name> <uid or empty> <adopt name or empty> <true|false> (got $# arguments)"
mode=$1
user_name=$2
pinned_uid=$3
adopt_name=$4
allow_nobody=$5

case $mode in
replicated | root) ;;
*) die "mode must be \"replicated\" or \"root\", got \"$mode\"" ;;
esac

valid_name() {
	case $1 in
	'' | [!a-z_]* | *[!a-z0-9_-]*) return 1 ;;
	esac
	[ "${#1}" -le 31 ]
}

# replicated-include: ids

case $allow_nobody in
true | false) ;;
*) die "the fifth argument must be true or false, got \"$allow_nobody\"" ;;
esac

if [ "$mode" = replicated ]; then
	valid_name "$user_name" || die "invalid user name \"$user_name\": it must match ^[a-z_][a-z0-9_-]{0,30}\$"
	if [ -n "$pinned_uid" ]; then
		valid_id "$pinned_uid" 1 || die "invalid uid \"$pinned_uid\": it must be an integer from 1 to 2147483646"
	fi
	if [ -n "$adopt_name" ] && [ "$adopt_name" != "$user_name" ]; then
		die "the account to adopt (\"$adopt_name\") is not the service account (\"$user_name\"); adoption is only ever of the configured name"
	fi
fi

# --- docker gid ---

# gid of the group owning the docker socket, or of the "docker" group; fails when neither gives
# a non-root group. The socket wins over the group: it is what the containers actually open.
docker_gid() {
	socket_gid=""
	if [ -S "$DOCKER_SOCKET" ]; then
		socket_gid=$(stat -L -c %g -- "$DOCKER_SOCKET")
	fi
	group_gid=$(getent group docker | cut -d: -f3) || group_gid=""

	if [ -n "$socket_gid" ] && [ "$socket_gid" != 0 ]; then
		if [ -n "$group_gid" ] && [ "$group_gid" != "$socket_gid" ]; then
			note "the docker group has gid $group_gid but $DOCKER_SOCKET belongs to gid $socket_gid; using the socket's gid $socket_gid"
		fi
		getent group "$socket_gid" >/dev/null ||
			die "$DOCKER_SOCKET belongs to gid $socket_gid, which has no entry in the group database. Fix: create it (groupadd -g $socket_gid docker) or give the socket the docker group (set the group in dockerd's config and restart Docker), then re-run"
		printf '%s\n' "$socket_gid"
		return 0
	fi
	if [ "$socket_gid" = 0 ]; then
		if [ -n "$group_gid" ] && [ "$group_gid" != 0 ]; then
			die "$DOCKER_SOCKET belongs to group root (gid 0), not to the docker group (gid $group_gid): the group was probably created after Docker started. Fix: restart Docker (systemctl restart docker) so the socket gets the docker group, then re-run"
		fi
		die "no docker group: $DOCKER_SOCKET belongs to group root (gid 0) and there is no \"docker\" group. Refusing to run the service with gid 0. Fix: groupadd docker && systemctl restart docker, then re-run"
	fi
	if [ -n "$group_gid" ] && [ "$group_gid" != 0 ]; then
		printf '%s\n' "$group_gid"
		return 0
	fi
	die "no docker group: $DOCKER_SOCKET does not exist and there is no \"docker\" group (with a non-zero gid). Fix: install and start Docker (it creates the docker group), then re-run"
}

# --- lock ---

# replicated-include: provision-lock

# --- account ---

# First existing nologin shell; /bin/false where a distribution ships none.
nologin_shell() {
	for shell in /usr/sbin/nologin /sbin/nologin; do
		if [ -x "$shell" ]; then
			printf '%s\n' "$shell"
			return 0
		fi
	done
	printf '/bin/false\n'
}

# A value of /etc/login.defs, or the default given.
login_defs() {
	value=$(awk -v key="$1" '$1 == key { print $2; exit }' /etc/login.defs 2>/dev/null || true)
	case $value in
	'' | *[!0-9]*) printf '%s\n' "$2" ;;
	*) printf '%s\n' "$value" ;;
	esac
}

is_nologin_shell() {
	case $1 in
	/usr/sbin/nologin | /sbin/nologin | /bin/false | /usr/bin/false) return 0 ;;
	esac
	return 1
}

# The shells a plain `useradd` gives: its configured default, else Debian's and RHEL's.
is_default_login_shell() {
	default_shell=$(useradd -D 2>/dev/null | sed -n 's/^SHELL=//p')
	[ -n "$default_shell" ] && [ "$1" = "$default_shell" ] && return 0
	case $1 in
	/bin/sh | /bin/bash | /usr/bin/bash) return 0 ;;
	esac
	return 1
}

# Which kind of account the existing entry is (fields read by ensure_user): "own", "installer"
# or "other".
account_kind() {
	if [ "$gecos" = "$ACCOUNT_MARKER" ]; then
		echo own
	elif [ "$existing_gid" = "$dgid" ] && [ "$home" = "$SERVICE_HOME" ] && is_nologin_shell "$shell"; then
		echo own
	elif [ "$existing_gid" = "$dgid" ] && [ "$existing_uid" -ge "$(login_defs UID_MIN 1000)" ] &&
		[ "$existing_uid" -le "$(login_defs UID_MAX 60000)" ] && is_default_login_shell "$shell"; then
		echo installer
	else
		echo other
	fi
}

ensure_user() {
	entry=$(getent passwd "$user_name") || entry=""
	if [ -n "$entry" ]; then
		existing_uid=$(printf '%s\n' "$entry" | cut -d: -f3)
		existing_gid=$(printf '%s\n' "$entry" | cut -d: -f4)
		gecos=$(printf '%s\n' "$entry" | cut -d: -f5)
		home=$(printf '%s\n' "$entry" | cut -d: -f6)
		shell=$(printf '%s\n' "$entry" | cut -d: -f7)
		if [ "$existing_uid" = 0 ]; then
			die "user \"$user_name\" has uid 0 (root). Nothing was changed. Fix: choose another serviceUser.name for the service account"
		fi
		if [ "$existing_uid" = "$NOBODY_UID" ] && [ "$allow_nobody" != true ]; then
			die "user \"$user_name\" has uid $NOBODY_UID (\"nobody\"), which unrelated daemons share. Nothing was changed. Fix: choose another serviceUser.name, or set --path 'replicated:serviceUser.allowNobodyUid' true if this is intended"
		fi
		if [ -n "$pinned_uid" ] && [ "$existing_uid" != "$pinned_uid" ]; then
			die "user \"$user_name\" already exists with uid $existing_uid, but serviceUser.uid is $pinned_uid. A uid is never changed here (files on disk keep the old number). Fix: set serviceUser.uid to $existing_uid (pulumi config set --path 'replicated:serviceUser.uid' $existing_uid), or renumber or remove the user by hand (usermod -u / userdel) and re-own its files, then re-run"
		fi
		kind=$(account_kind)
		if [ "$kind" = other ] && [ "$adopt_name" != "$user_name" ]; then
			die "user \"$user_name\" already exists (uid $existing_uid, primary gid $existing_gid, home $home, shell $shell) and is neither an account this program created nor the one Replicated's install script creates. Adding it to the docker group (gid $dgid) would make every process of that account root-equivalent, so nothing was changed. Fix: choose another serviceUser.name (a new account is then created), or, if this account is meant to run Replicated, adopt it deliberately: pulumi config set --path 'replicated:serviceUser.adoptExisting' $user_name"
		fi
		if [ "$kind" = installer ]; then
			note "adopting \"$user_name\" (uid $existing_uid) made by Replicated's install script, unchanged"
		fi
		return 0
	fi

	if [ -n "$pinned_uid" ]; then
		owner=$(getent passwd "$pinned_uid" | cut -d: -f1) || owner=""
		if [ -n "$owner" ]; then
			die "uid $pinned_uid (serviceUser.uid) already belongs to user \"$owner\", so \"$user_name\" cannot get it. Fix: choose a free uid for serviceUser.uid, or set serviceUser.name to \"$owner\" if that user is meant to be the service account"
		fi
		useradd --system --no-create-home --home-dir "$SERVICE_HOME" --shell "$(nologin_shell)" \
			--comment "$ACCOUNT_MARKER" --gid "$dgid" --uid "$pinned_uid" -- "$user_name" ||
			die "useradd failed for \"$user_name\" (uid $pinned_uid, gid $dgid); see the message above"
	else
		useradd --system --no-create-home --home-dir "$SERVICE_HOME" --shell "$(nologin_shell)" \
			--comment "$ACCOUNT_MARKER" --gid "$dgid" -- "$user_name" ||
			die "useradd failed for \"$user_name\" (gid $dgid); see the message above"
	fi
	note "created system user \"$user_name\""
	changed=$((changed + 1))
}

# Supplementary membership too, as the original installer did: it survives a later change of
# the primary group and shows in `getent group docker`.
ensure_docker_membership() {
	members=$(getent group "$dgid" | cut -d: -f4)
	case ",$members," in
	*",$user_name,"*) return 0 ;;
	esac
	usermod --append --groups "$dgid" -- "$user_name" ||
		die "usermod failed to add \"$user_name\" to the group with gid $dgid; see the message above"
	note "added \"$user_name\" to the group with gid $dgid"
	changed=$((changed + 1))
}

# --- main ---

if [ "$mode" = root ]; then
	dgid=$(docker_gid)
	printf '{"user":"root","uid":0,"gid":0,"dockerGid":%s,"changed":0}\n' "$dgid"
	exit 0
fi

trap release_lock EXIT
trap 'exit 130' INT TERM HUP
acquire_lock
dgid=$(docker_gid)
ensure_user
ensure_docker_membership

uid=$(id -u -- "$user_name")
gid=$(id -g -- "$user_name")
printf '{"user":"%s","uid":%s,"gid":%s,"dockerGid":%s,"changed":%s}\n' "$user_name" "$uid" "$gid" "$dgid" "$changed"
