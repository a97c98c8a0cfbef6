#!/bin/sh
# replicated-script: read-daemon-token
#
# Reads the daemon token Replicated's install script left on this host, so that the program's
# daemon and operators keep the token the install's operators already use. Changes nothing.
# This is the only script that prints a secret: its command's output is a Pulumi secret and is
# never logged; every other summary stays plain.
#
# Usage: sh -s --   (no arguments)
#
# Looked up in the order the install script itself uses (replicated-2.0.sh get_daemon_token):
# REPLICATED_OPTS of <confdir>/replicated, then "DaemonToken" in /etc/replicated.conf; then the
# DAEMON_TOKEN line of <confdir>/replicated-operator (the local operator's copy on a primary).
# confdir is /etc/default, else /etc/sysconfig. The files are read as text, never sourced.
# An install without operators may hold no token: then "found" is false and the stack keeps its
# generated token.
#
# Prints one JSON line last:
#   {"found":true,"source":"/etc/default/replicated","token":"<token>","changed":0}
#   {"found":false,"source":null,"token":null,"changed":0}
set -eu
umask 077

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="read-daemon-token"
# replicated-include: messages

[ "$#" -eq 0 ] || die "usage: read-daemon-token.sh (no arguments; got $#)"

# replicated-include: installer-units

token=""
source=""
daemon_env=$(env_file replicated)
operator_env=$(env_file replicated-operator)
if [ -n "$daemon_env" ]; then
	token=$(env_file_token "$daemon_env")
	source=$daemon_env
fi
if [ -z "$token" ]; then
	token=$(replicated_conf_token)
	source=$REPLICATED_CONF
fi
if [ -z "$token" ] && [ -n "$operator_env" ]; then
	token=$(env_file_token "$operator_env")
	source=$operator_env
fi

if [ -z "$token" ]; then
	printf '{"found":false,"source":null,"token":null,"changed":0}\n'
	exit 0
fi

# The value reaches the containers' environment: only characters that need no quoting anywhere.
# The message names the file, never the value.
case $token in
*[!A-Za-z0-9._~+/=:-]*) die "the daemon token in $source holds characters other than letters, digits and ._~+/=:- (the value is not shown). Fix: set replicated:takeover.rotateDaemonToken true to generate a new one (every operator node then needs it), or correct the file" ;;
esac
[ "${#token}" -le 512 ] || die "the daemon token in $source is longer than 512 characters (the value is not shown). Fix: correct the file, or set replicated:takeover.rotateDaemonToken true"

printf '{"found":true,"source":"%s","token":"%s","changed":0}\n' "$source" "$token"
