#!/bin/sh
# replicated-script: load-images
#
# Usage: load-images.sh <images dir> <image reference>...
#
# Guarantees: every image reference given is present in this host's Docker engine. A missing
# one is loaded with `docker load` from <images dir>/<name>.tar, where <name> is the reference's
# last path component without its tag (registry.example.com/replicated/replicated-ui:stable-2.53.2
# -> replicated-ui.tar). Present images are left alone, so a second run loads nothing. Never
# pulls, never removes an image. Refuses a tarball or directory that every user can write.
#
# Prints one JSON line: {"loaded":[<refs>],"present":[<refs>],"changed":<number loaded>}
set -eu

fail() {
	printf 'load-images: %s\n' "$*" >&2
	exit 1
}

[ "$#" -ge 2 ] || fail "usage: load-images.sh <images dir> <image reference>..."
images_dir=$1
shift

loaded=""
present=""
changed=0

ensure_docker() {
	command -v docker >/dev/null 2>&1 || fail "the docker CLI is not installed on this host. Fix: install Docker first"
	docker info >/dev/null 2>&1 || fail "the Docker engine does not answer (docker info failed). Fix: start Docker (systemctl start docker)"
}

ensure_valid_args() {
	case "$images_dir" in
	/*) ;;
	*) fail "images dir must be an absolute path, got: $images_dir" ;;
	esac
	for ref in "$@"; do
		case "$ref" in
		"" | -* | *[!A-Za-z0-9._/:-]*) fail "not a valid image reference: $ref" ;;
		esac
	done
}

# Tarball base name: last path component, tag removed.
tarball_of() {
	base=${1##*/}
	printf '%s/%s.tar\n' "$images_dir" "${base%%:*}"
}

image_present() {
	docker image inspect --format '{{.Id}}' -- "$1" >/dev/null 2>&1
}

# A tarball anyone can replace could smuggle in a root-equivalent image.
ensure_not_world_writable() {
	if [ -n "$(find "$1" -prune -perm -0002 2>/dev/null)" ]; then
		fail "$1 is writable by every user; refusing to load images from it. Fix: chmod o-w $1"
	fi
}

append() {
	if [ -z "$1" ]; then printf '"%s"' "$2"; else printf '%s,"%s"' "$1" "$2"; fi
}

ensure_image_loaded() {
	ref=$1
	if image_present "$ref"; then
		present=$(append "$present" "$ref")
		return 0
	fi
	tarball=$(tarball_of "$ref")
	[ -f "$tarball" ] || fail "image $ref is not on this host and its tarball $tarball does not exist. Fix: on a connected machine run docker save $ref -o $(basename "$tarball") and copy the file to $images_dir"
	ensure_not_world_writable "$images_dir"
	ensure_not_world_writable "$tarball"
	output=$(docker load --input "$tarball" 2>&1) || fail "docker load --input $tarball failed: $output"
	printf '%s\n' "$output" >&2
	image_present "$ref" || fail "$tarball was loaded but does not contain $ref (docker load reported: $(printf '%s' "$output" | tr '\n' ' ')). Fix: replace it with the output of docker save $ref"
	loaded=$(append "$loaded" "$ref")
	changed=$((changed + 1))
}

ensure_valid_args "$@"
ensure_docker
for ref in "$@"; do
	ensure_image_loaded "$ref"
done

printf '{"loaded":[%s],"present":[%s],"changed":%d}\n' "$loaded" "$present" "$changed"
