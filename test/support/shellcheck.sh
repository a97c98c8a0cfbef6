#!/bin/sh
# Lint every shell script in the repository with shellcheck; each is checked in the dialect its
# shebang names. Prints how many scripts were checked.
set -eu
cd "$(dirname "$0")/../.."
if ! command -v shellcheck >/dev/null 2>&1; then
    echo "shellcheck is not installed: apt-get install shellcheck" >&2
    exit 1
fi
files=$(find components/scripts test/support scripts bench .ci -type f \( -name '*.sh' -o -name run \) 2>/dev/null | sort)
count=$(printf '%s\n' "$files" | grep -c . || true)
# shellcheck disable=SC2086 # word splitting of the file list is intended (paths have no spaces)
shellcheck -x $files
echo "shellcheck: $count scripts clean"
