#!/bin/sh
# replicated-library: messages
#
# The messages of every host script, inlined where a script says `# replicated-include: messages`.
# Every line goes to stderr (stdout carries only the JSON summary) and starts with
# "replicated <script>:", so an operator reading Pulumi's output knows which step spoke.
# The including script sets script_name first.
# shellcheck disable=SC2154 # script_name is set by the including script

# note MESSAGE...: a progress or warning line; the script goes on.
note() {
	printf 'replicated %s: %s\n' "$script_name" "$*" >&2
}

# die MESSAGE...: why the script stops, then exit 1 (the command fails; Pulumi shows stderr).
die() {
	note "$@"
	exit 1
}
