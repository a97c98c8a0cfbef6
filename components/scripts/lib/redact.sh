#!/bin/sh
# replicated-library: redact
#
# Inlined by loadScript (components/shell.ts) where a script says "# replicated-include: redact".
# Portable on purpose: any POSIX sh (dash, bash, BusyBox ash) and any awk (GNU awk, mawk,
# BusyBox awk), one awk process, C locale, no regex intervals (old mawk lacks them).
#
# redact_stream SECRET_VALUES_FILE
#   Reads text on stdin and writes it redacted on stdout, line by line:
#   - by value: every line of SECRET_VALUES_FILE (one secret value per line; the file may be
#     empty, and "" means no file) wherever it appears, as is, JSON-escaped and URL-encoded.
#     Values shorter than 4 bytes are skipped: they would redact ordinary words;
#   - by name: the value of every setting whose name contains token, password, passwd,
#     passphrase, secret, private key, api key, access key, authorization or cookie (any case,
#     "_", "-" or "." between the words), as NAME=value, --name value, "name": "value" (JSON
#     escapes, and JSON inside a JSON string), 'name': 'value', YAML name: value, YAML flow maps
#     {name: value}, YAML block scalars (name: | and the lines below it), Go maps name:[value];
#     headers such as Authorization: (with or without a scheme), Cookie:, Set-Cookie:, X-Api-Key:;
#   - URL credentials: scheme://user:<redacted>@host;
#   - Bearer/Basic credentials and JSON web tokens anywhere;
#   - PEM private keys, also one written on one line with \n escapes, and the body of one whose
#     BEGIN line was cut off (base64 lines followed by the END line).
#   Returns 1 without output when SECRET_VALUES_FILE is named but cannot be read (never a
#   silent pass-through), 2 for a wrong call.
redact_stream() {
	if [ "$#" -ne 1 ]; then
		printf 'redact_stream: usage: redact_stream SECRET_VALUES_FILE\n' >&2
		return 2
	fi
	if [ -n "$1" ] && { [ ! -f "$1" ] || [ ! -r "$1" ]; }; then
		printf 'redact_stream: cannot read the secret values file %s\n' "$1" >&2
		return 1
	fi
	REDACT_VALUES_FILE=$1 LC_ALL=C awk -v sq="'" '
# --- setup ---------------------------------------------------------------------------------
BEGIN {
	MARK = "<redacted>"
	KEY_MARK = "<redacted private key>"
	W = "(token|passw(or)?d|passphrase|secret|private[_.-]?key|api[_.-]?key|access[_.-]?key|authorization|cookie)"
	N = "[a-z0-9_.-]*" W "[a-z0-9_.-]*"
	ESC_KEY = "\\\\\"" N "\\\\\"[ \t]*:[ \t]*"
	DQ_KEY = "\"" N "\"[ \t]*[:=][ \t]*"
	SQ_KEY = sq N sq "[ \t]*[:=][ \t]*"
	ASSIGN_KEY = N "[ \t]*=[ \t]*"
	FLAG_KEY = "--[a-z0-9-]*" W "[a-z0-9-]*[ \t]+"
	COLON_KEY = N "[ \t]*:[ \t]*"
	SCHEME_KEY = "(bearer|basic)[ \t]+"
	BLOCK_START = "^[ \t]*(- )*[\"" sq "]?" N "[\"" sq "]?[ \t]*:[ \t]*([|>][-+0-9]*)?[ \t]*(#.*)?$"
	SQ_STRING = "^" sq "[^" sq "]*" sq
	URL_CREDENTIALS = "[a-z][a-z0-9+.-]*://[^:/?#@ \t\"<>" sq "]*:[^/?# \t\"<>" sq "]*@"
	UNQUOTED_WORD = "^[^ \t\"" sq ",;&)}<>\\\\]+"
	UNQUOTED_JSON = "^[^], \t}\\\\]+"
	UNQUOTED_FLOW = "^[^],}]+"
	B64_OR_ESCAPE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\\ "
	MAX_PENDING = 4000
	MAX_KEY_LINES = 2000

	for (i = 1; i < 256; i++) ORD[sprintf("%c", i)] = i
	HEX = "0123456789ABCDEF"
	nv = 0
	file = ENVIRON["REDACT_VALUES_FILE"]
	if (file != "") {
		while ((rc = (getline value < file)) > 0) {
			sub(/\r$/, "", value)
			if (length(value) < 4) continue
			add_value(value)
			add_value(json_escape(value))
			add_value(url_encode(value, 0, 0))
			add_value(url_encode(value, 1, 0))
			add_value(url_encode(value, 0, 1))
		}
		if (rc < 0) {
			printf "redact_stream: cannot read the secret values file %s\n", file > "/dev/stderr"
			failed = 1
			exit 1
		}
		close(file)
	}
	# Longest first, so a value that contains another is redacted whole.
	for (i = 2; i <= nv; i++) {
		for (j = i; j > 1 && length(values[j]) > length(values[j - 1]); j--) {
			t = values[j]; values[j] = values[j - 1]; values[j - 1] = t
		}
	}
}

function add_value(v,    i) {
	for (i = 1; i <= nv; i++) if (values[i] == v) return
	values[++nv] = v
}

function json_escape(v,    out, i, c) {
	out = ""
	for (i = 1; i <= length(v); i++) {
		c = substr(v, i, 1)
		if (c == "\\" || c == "\"") out = out "\\" c
		else out = out c
	}
	return out
}

# Percent-encoded (upper or lower case hex); with plus, a space as "+" (HTML form encoding).
function url_encode(v, lower, plus,    out, i, c, n, h) {
	out = ""
	for (i = 1; i <= length(v); i++) {
		c = substr(v, i, 1)
		if (c ~ /[A-Za-z0-9._~-]/) { out = out c; continue }
		if (plus && c == " ") { out = out "+"; continue }
		n = ORD[c]
		h = "%" substr(HEX, int(n / 16) + 1, 1) substr(HEX, n % 16 + 1, 1)
		out = out (lower ? tolower(h) : h)
	}
	return out
}

# --- one line ------------------------------------------------------------------------------
# line: the text being redacted; lc: the same, lower case (same length, C locale), which every
# name rule matches against.

function put(at, len) {
	line = substr(line, 1, at - 1) MARK substr(line, at + len)
	lc = substr(lc, 1, at - 1) MARK substr(lc, at + len)
}

function redact_values(    i, v, n, out, rest, at) {
	for (i = 1; i <= nv; i++) {
		v = values[i]
		if (index(line, v) == 0) continue
		n = length(v); out = ""; rest = line
		while ((at = index(rest, v)) > 0) {
			out = out substr(rest, 1, at - 1) MARK
			rest = substr(rest, at + n)
		}
		line = out rest
	}
}

function trimmed_length(s,    n, c) {
	n = length(s)
	while (n > 0) {
		c = substr(s, n, 1)
		if (c != " " && c != "\t" && c != "\r") break
		n--
	}
	return n
}

function span(at, len) {
	if (len <= 0) return 0
	SPAN_AT = at; SPAN_LEN = len
	return 1
}

# After "NAME: " inside {...} or after a comma, a plain YAML value ends at , } or ].
function in_flow(keystart,    i, c) {
	for (i = keystart - 1; i >= 1; i--) {
		c = substr(lc, i, 1)
		if (c != " " && c != "\t") return c == "{" || c == ","
	}
	return 0
}

# An auth scheme word ("Bearer") is not the secret: take the word after it as well.
function with_scheme(at, len,    word, rest) {
	word = substr(lc, at, len)
	if (word !~ /^(bearer|basic|token|digest|negotiate)$/) return len
	rest = substr(line, at + len)
	if (match(rest, /^[ \t]+[^ \t"<>,;]+/)) return len + RLENGTH
	return len
}

# Where the value that starts at vstart lies (SPAN_AT, SPAN_LEN); 0 when there is nothing to
# redact (empty, already redacted, or not a value of this kind).
function value_span(kind, keystart, vstart,    rest, c, n) {
	rest = substr(line, vstart)
	if (rest == "") return 0
	if (index(rest, MARK) == 1 || index(rest, "\"" MARK) == 1 || index(rest, sq MARK) == 1 || index(rest, "\\\"" MARK) == 1) return 0
	c = substr(rest, 1, 1)
	if (kind == "scheme") {
		if (!match(rest, /^[A-Za-z0-9._~+\/=-]+/) || RLENGTH < 8) return 0
		if (substr(rest, 1, RLENGTH) !~ /[0-9+\/=._~-]/) return 0
		return span(vstart, RLENGTH)
	}
	if (kind == "colon" && (substr(rest, 1, 2) == "//" || c == "=" || c == ":")) return 0
	if (kind == "flag" && c == "-") return 0
	if (substr(rest, 1, 2) == "\\\"") {
		if (match(rest, /^\\"([^"\\]|\\\\[^"\\]|\\\\\\"|\\\\\\\\)*\\"/)) return span(vstart + 2, RLENGTH - 4)
		return span(vstart + 2, trimmed_length(rest) - 2)
	}
	if (c == "\"") {
		if (match(rest, /^"([^"\\]|\\.)*"/)) return span(vstart + 1, RLENGTH - 2)
		return span(vstart + 1, trimmed_length(rest) - 1)
	}
	if (c == sq) {
		if (match(rest, SQ_STRING)) return span(vstart + 1, RLENGTH - 2)
		return span(vstart + 1, trimmed_length(rest) - 1)
	}
	if (kind == "json") {
		if (c == "{" || c == "[") return 0
		if (!match(rest, UNQUOTED_JSON)) return 0
		return span(vstart, with_scheme(vstart, RLENGTH))
	}
	if (kind == "assign" || kind == "flag") {
		if (!match(rest, UNQUOTED_WORD)) return 0
		return span(vstart, with_scheme(vstart, RLENGTH))
	}
	# colon
	if (c == "[") {
		if (match(rest, /^\[[^]]*\]/)) return span(vstart + 1, RLENGTH - 2)
		return span(vstart + 1, trimmed_length(rest) - 1)
	}
	if (in_flow(keystart)) {
		if (!match(rest, UNQUOTED_FLOW)) return 0
		return span(vstart, trimmed_length(substr(rest, 1, RLENGTH)))
	}
	return span(vstart, trimmed_length(rest))
}

function redact_keyed(re, kind,    pos, s, keystart, vstart) {
	pos = 1
	while (pos <= length(lc)) {
		s = substr(lc, pos)
		if (!match(s, re)) return
		keystart = pos + RSTART - 1
		vstart = keystart + RLENGTH
		if (value_span(kind, keystart, vstart)) {
			put(SPAN_AT, SPAN_LEN)
			pos = SPAN_AT + length(MARK)
		} else {
			pos = vstart
		}
	}
}

# scheme://user:password@host: the password goes, the user and host stay.
function redact_url_credentials(    pos, s, at, m, scheme_end, colon, len) {
	pos = 1
	while (pos <= length(lc)) {
		s = substr(lc, pos)
		if (!match(s, URL_CREDENTIALS)) return
		at = pos + RSTART - 1
		m = substr(lc, at, RLENGTH)
		scheme_end = index(m, "://") + 2
		colon = index(substr(m, scheme_end + 1), ":") + scheme_end
		len = RLENGTH - colon - 1
		if (len > 0) {
			put(at + colon, len)
			pos = at + colon + length(MARK) + 1
		} else {
			pos = at + RLENGTH
		}
	}
}

function redact_jwts(    pos, s) {
	pos = 1
	while (pos <= length(lc)) {
		s = substr(lc, pos)
		if (!match(s, /eyj[a-z0-9_-]+\.eyj[a-z0-9_-]+\.[a-z0-9_-]+/)) return
		put(pos + RSTART - 1, RLENGTH)
		pos = pos + RSTART - 1 + length(MARK)
	}
}

function redacted(text) {
	line = text
	if (nv > 0) redact_values()
	lc = tolower(line)
	if (lc !~ /token|passw|passphrase|secret|key|authoriz|cookie|:\/\/|bearer|basic|eyj/) return line
	redact_keyed(ESC_KEY, "json")
	redact_keyed(DQ_KEY, "json")
	redact_keyed(SQ_KEY, "json")
	redact_keyed(SCHEME_KEY, "scheme")
	redact_keyed(ASSIGN_KEY, "assign")
	redact_keyed(FLAG_KEY, "flag")
	redact_keyed(COLON_KEY, "colon")
	redact_url_credentials()
	redact_jwts()
	return line
}

# --- PEM keys, block scalars and the stream ---------------------------------------------------

function is_key_body(text,    t) {
	t = text
	sub(/\r$/, "", t)
	gsub(/^[ \t]+|[ \t]+$/, "", t)
	return t == "" || t ~ /^[A-Za-z0-9+\/=]+$/ || tolower(t) ~ /^(proc-type|dek-info):/
}

function flush_pending(    i) {
	for (i = 1; i <= npending; i++) print redacted(pending[i])
	npending = 0
}

# The run of base64 and \n-escape characters at the end of s, removed.
function without_key_tail(s,    n) {
	n = length(s)
	while (n > 0 && index(B64_OR_ESCAPE, substr(s, n, 1)) > 0) n--
	return substr(s, 1, n)
}

function without_key_head(s,    i) {
	i = 1
	while (i <= length(s) && index(B64_OR_ESCAPE, substr(s, i, 1)) > 0) i++
	return substr(s, i)
}

{
	raw = $0
	lraw = tolower(raw)
	if (in_key) {
		if (match(lraw, /-----end [a-z0-9 ]*private key[a-z ]*-----/)) {
			in_key = 0
			rest = substr(raw, RSTART + RLENGTH)
			if (rest != "") print redacted(rest)
			next
		}
		if (++key_lines <= MAX_KEY_LINES) next
		in_key = 0
	}
	if (in_block) {
		if (raw ~ /^[ \t\r]*$/) { print raw; next }
		match(raw, /^[ \t]*/)
		if (RLENGTH > block_indent) { print substr(raw, 1, RLENGTH) MARK; next }
		in_block = 0
	}
	if (match(lraw, /-----begin [a-z0-9 ]*private key[a-z ]*-----/)) {
		flush_pending()
		before = substr(raw, 1, RSTART - 1)
		after = substr(raw, RSTART + RLENGTH)
		if (match(tolower(after), /-----end [a-z0-9 ]*private key[a-z ]*-----/)) {
			print redacted(before KEY_MARK substr(after, RSTART + RLENGTH))
			next
		}
		after = without_key_head(after)
		print redacted(before KEY_MARK after)
		# A key cut short inside a longer line ends there; a BEGIN line on its own starts a block.
		if (after == "") { in_key = 1; key_lines = 0 }
		next
	}
	if (match(lraw, /-----end [a-z0-9 ]*private key[a-z ]*-----/)) {
		# The lines held back were the body of a key whose BEGIN line is missing.
		npending = 0
		print redacted(without_key_tail(substr(raw, 1, RSTART - 1)) KEY_MARK substr(raw, RSTART + RLENGTH))
		next
	}
	if (is_key_body(raw)) {
		pending[++npending] = raw
		if (npending >= MAX_PENDING) flush_pending()
		next
	}
	flush_pending()
	bare = lraw
	sub(/\r$/, "", bare)
	if (bare ~ BLOCK_START) {
		print redacted(raw)
		match(bare, /^[ \t]*(- )*/)
		block_indent = RLENGTH
		in_block = 1
		next
	}
	print redacted(raw)
}

END {
	if (failed) exit 1
	flush_pending()
}
'
}
