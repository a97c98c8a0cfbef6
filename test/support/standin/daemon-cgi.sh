#!/bin/sh
# CGI of the stand-in daemon (busybox httpd): answers "accepted" when the query's token equals
# this container's DAEMON_TOKEN, else "rejected". The engine tier's operators call it.
set -u
token=${QUERY_STRING#token=}
printf 'Content-Type: text/plain\r\n\r\n'
if [ -n "${DAEMON_TOKEN:-}" ] && [ "$token" = "$DAEMON_TOKEN" ]; then
	echo accepted
else
	echo rejected
fi
