#!/bin/sh
# Builds the attacker of test/host/repair-attacks.test.ts: one static binary (it runs inside
# busybox stand-in containers as well as on the test host), warnings as errors.
# Usage: build.sh <output path>
set -eu
[ "$#" -eq 1 ] || {
	echo "usage: build.sh <output path>" >&2
	exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
command -v gcc >/dev/null 2>&1 || {
	echo "gcc is not installed: apt-get install gcc libc6-dev" >&2
	exit 1
}
gcc -static -O2 -Wall -Wextra -Werror -o "$1" "$here/attacker.c"
