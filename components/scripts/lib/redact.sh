#!/bin/sh
# replicated-library: redact
#
# Inlined by loadScript (components/shell.ts) where a host script says
# "# replicated-include: redact".
#
# redact_stream SECRET_VALUES_FILE: copies stdin to stdout with every occurrence of every value
# listed in SECRET_VALUES_FILE (one value per line; empty lines ignored; the file may be empty)
# replaced by [REDACTED]. Values are matched literally, never as patterns, longest first, so a
# value that contains another is redacted whole. POSIX awk (GNU, mawk, BusyBox).
redact_stream() {
	awk -v secrets_file="$1" '
		BEGIN {
			count = 0
			while ((getline value < secrets_file) > 0) {
				if (value != "") {
					secrets[++count] = value
				}
			}
			close(secrets_file)
			# Longest first (insertion sort: the list is short).
			for (i = 2; i <= count; i++) {
				value = secrets[i]
				for (j = i - 1; j >= 1 && length(secrets[j]) < length(value); j--) {
					secrets[j + 1] = secrets[j]
				}
				secrets[j + 1] = value
			}
		}
		{
			line = $0
			for (i = 1; i <= count; i++) {
				out = ""
				while ((at = index(line, secrets[i])) > 0) {
					out = out substr(line, 1, at - 1) "[REDACTED]"
					line = substr(line, at + length(secrets[i]))
				}
				line = out line
			}
			print line
		}
	'
}
