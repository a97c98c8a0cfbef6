#!/bin/sh
# replicated-library: ids
#
# uid and gid arguments, checked the same way by every host script that takes one.

# valid_id VALUE [MIN]: VALUE is a decimal id from MIN (default 0) to 2147483646, written without
# sign or leading zeros, so that "010" or "+5" never reach chown or useradd as something else.
# The ceiling is the config's: tools that keep ids in signed 32-bit integers break above it.
valid_id() {
	case $1 in
	'' | *[!0-9]* | 0?*) return 1 ;;
	esac
	[ "${#1}" -le 10 ] && [ "$1" -ge "${2:-0}" ] && [ "$1" -le 2147483646 ]
}
