#!/bin/sh
# replicated-script: load-images
#
# Usage: load-images.sh IMAGES_DIR REF PIN [REF PIN]...
#   PIN: the image id the reference must have (sha256:<64 hex>, as
#        `docker image inspect --format '{{.Id}}'` prints it), or - when it is not pinned.
#
# Guarantees: every image reference given is present in this host's Docker engine, and every
# pinned one is exactly its pinned image. A missing one (or a pinned one that is another image)
# is loaded with `docker load` from IMAGES_DIR/<name>.tar, where <name> is the reference's last
# path component without its tag (registry.example.com/replicated/replicated-ui:stable-2.53.2
# -> replicated-ui.tar). Before loading:
#   - IMAGES_DIR and every directory above it are real directories owned by root and writable
#     by no group and no other user, and the tarball is a regular root-owned file writable only
#     by root: nobody else can swap what is loaded, which runs with the Docker socket or as root;
#   - the tarball's manifest (manifest.json, and index.json when present) names no tag but REF:
#     `docker load` applies every tag it carries, so an archive could otherwise replace another
#     image, the root helper's above all.
# After each load the reference is checked against its pin, and once more at the end, all of
# them (the expected id comes from the configuration, never from an archive). Present images
# are left alone, so a second run loads nothing. Never pulls, never removes an image.
#
# Prints one JSON line: {"loaded":[<refs>],"present":[<refs>],"pinned":[<refs>],"changed":<number loaded>}
set -eu

# shellcheck disable=SC2034 # read by the inlined messages library
script_name="load-images"
# replicated-include: messages

# replicated-include: trusted-paths

if [ "$#" -lt 3 ] || [ $((($# - 1) % 2)) -ne 0 ]; then
	die "usage: load-images.sh IMAGES_DIR REF PIN [REF PIN]..."
fi
images_dir=$1
shift

loaded=""
present=""
pinned=""
changed=0
work_dir=

cleanup() {
	if [ -n "$work_dir" ]; then rm -rf -- "$work_dir"; fi
}
trap cleanup EXIT

ensure_docker() {
	command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed on this host. Fix: install Docker first"
	docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed). Fix: start Docker (systemctl start docker)"
}

is_reference() {
	case $1 in
	"" | -* | *[!A-Za-z0-9._/:-]*) return 1 ;;
	esac
	return 0
}

is_pin() {
	case $1 in
	-) return 0 ;;
	sha256:*) ;;
	*) return 1 ;;
	esac
	case ${1#sha256:} in
	*[!0-9a-f]*) return 1 ;;
	esac
	[ "${#1}" -eq 71 ]
}

ensure_valid_args() {
	case $images_dir in
	/ | "" | [!/]* | *[!A-Za-z0-9._/-]* | *//* | */ | */./* | */. | */../* | */..)
		die "images dir must be a clean absolute path (replicated:airgap.imagesDir), got: $images_dir"
		;;
	esac
	while [ "$#" -ge 2 ]; do
		is_reference "$1" || die "not a valid image reference (digest references cannot be loaded; pin the image id instead): $1"
		is_pin "$2" || die "not a valid pin for $1 (replicated:images.pins): must be sha256:<64 hex>, got $2"
		shift 2
	done
}

# Tarball base name: last path component, tag removed.
tarball_of() {
	base=${1##*/}
	printf '%s/%s.tar\n' "$images_dir" "${base%%:*}"
}

# The image id of a reference, or nothing when it is not on this host.
image_id_of() {
	docker image inspect --format '{{.Id}}' -- "$1" 2>/dev/null || true
}

# The canonical form docker gives a reference (distribution/reference ParseNormalizedNamed):
# docker.io and library/ filled in, index.docker.io folded into docker.io, tag "latest" by default.
normalize_reference() {
	norm=$1
	case $norm in
	*/*) norm_first=${norm%%/*} ;;
	*) norm_first= ;;
	esac
	case $norm_first in
	*.* | *:* | localhost) norm_domain=$norm_first norm_rest=${norm#*/} ;;
	*) norm_domain=docker.io norm_rest=$norm ;;
	esac
	if [ "$norm_domain" = index.docker.io ]; then norm_domain=docker.io; fi
	if [ "$norm_domain" = docker.io ]; then
		case $norm_rest in */*) ;; *) norm_rest=library/$norm_rest ;; esac
	fi
	case ${norm_rest##*/} in *:*) ;; *) norm_rest=$norm_rest:latest ;; esac
	printf '%s/%s\n' "$norm_domain" "$norm_rest"
}

# A file where nobody but root can change it.
ensure_trusted_file() {
	if [ -L "$1" ] || [ ! -f "$1" ]; then
		die "$1 is a symlink or not a regular file; refusing to load images from it. Fix: put the docker save output itself there"
	fi
	file_stat=$(stat -c '%u %a' -- "$1")
	file_mode=${file_stat#* }
	if [ "${file_stat%% *}" != 0 ] || [ $((0$file_mode & 022)) -ne 0 ]; then
		die "$1 is owned by uid ${file_stat%% *} with mode $file_mode: a user other than root could replace it; refusing to load images from it. Fix: chown root:root $1 && chmod 0644 $1"
	fi
}

# The images directory and every directory above it: trusted (see trusted-paths).
ensure_trusted_images_dir() {
	trusted_parents "$images_dir" || die "refusing to load images from $images_dir (replicated:airgap.imagesDir): $(trusted_problem)"
	trusted_dir "$images_dir" || die "refusing to load images from $images_dir (replicated:airgap.imagesDir): $(trusted_problem)"
}

# What the archive's manifests say, one "KIND VALUE" line each: "tag" for the RepoTags of
# manifest.json (what `docker load` applies), "config" for its image configs (blobs named by
# their digest, which is the image id), "name" and "refname" for the image names in index.json's
# annotations (what an engine with the containerd image store applies). Fails on an archive that
# is not a docker save archive, or whose manifests use JSON escapes (which could hide a name).
archive_manifest() {
	work_dir=$(mktemp -d "${TMPDIR:-/tmp}/replicated-images.XXXXXXXX")
	# docker load cleans member paths (a/../manifest.json is manifest.json to it), so a name that
	# only its cleaning makes a manifest could hide one from this check: such names are refused,
	# and so is a manifest that appears twice.
	tar -t -f "$1" >"$work_dir/members" 2>/dev/null || die "$1 cannot be read as a tar archive. Fix: replace it with the output of docker save"
	if grep -q -e '\.\.' -e '^/' -e '//' -e '/\./' -e '^\./\.' -e '^\.$' -- "$work_dir/members"; then
		die "$1 has members with unusual paths ($(grep -e '\.\.' -e '^/' -e '//' -e '/\./' -e '^\./\.' -e '^\.$' -- "$work_dir/members" | head -n 3 | tr -cd 'A-Za-z0-9._/\n-' | tr '\n' ' ' | sed 's/ $//')), which docker save never writes; refusing to load it"
	fi
	for name in manifest.json index.json; do
		if [ "$(grep -c -e "^$name\$" -e "^\./$name\$" -- "$work_dir/members")" -gt 1 ]; then
			die "$1 holds $name more than once; refusing to load it"
		fi
	done
	wanted=$(grep -e '^\(\./\)\{0,1\}manifest\.json$' -e '^\(\./\)\{0,1\}index\.json$' -- "$work_dir/members" || true)
	case $wanted in
	*manifest.json*) ;;
	*) die "$1 has no manifest.json: it is not the output of docker save. Fix: on a connected machine run docker save $ref -o ${1##*/}" ;;
	esac
	set -f
	# shellcheck disable=SC2086 # at most four fixed names, globbing off
	tar -x -C "$work_dir" -f "$1" $wanted 2>/dev/null || true
	set +f
	manifest=$work_dir/manifest.json
	index=$work_dir/index.json
	if [ -L "$manifest" ] || [ ! -f "$manifest" ]; then
		die "$1: its manifest.json is not a regular file; refusing to load it"
	fi
	for file in "$manifest" "$index"; do
		[ -e "$file" ] || [ -L "$file" ] || continue
		if [ -L "$file" ] || [ ! -f "$file" ]; then die "$1: ${file##*/} is not a regular file"; fi
		if grep -q '[\]' -- "$file"; then
			die "$1: ${file##*/} contains JSON escapes, which docker save never writes; refusing to load it"
		fi
	done
	# Keys are matched in any case: Go's JSON decoder, which docker uses, does so too.
	tr -d '\r\n' <"$manifest" | grep -io '"repotags"[[:space:]]*:[[:space:]]*\[[^]]*\]' |
		sed 's/^"[^"]*"[[:space:]]*:[[:space:]]*\[//; s/\]$//' | tr ',' '\n' |
		sed -n 's/^[[:space:]]*"\([^"]*\)"[[:space:]]*$/tag \1/p' || true
	tr -d '\r\n' <"$manifest" | grep -io '"config"[[:space:]]*:[[:space:]]*"[^"]*"' |
		sed -n 's/^"[^"]*"[[:space:]]*:[[:space:]]*"\([^"]*\)"$/config \1/p' || true
	if [ -f "$index" ]; then
		tr -d '\r\n' <"$index" | grep -io '"\(io\.containerd\.image\.name\|org\.opencontainers\.image\.ref\.name\)"[[:space:]]*:[[:space:]]*"[^"]*"' |
			sed 's/^"\([^"]*\)"[[:space:]]*:[[:space:]]*"\([^"]*\)"$/\1 \2/; s/^io\.containerd\.image\.name /name /I; s/^org\.opencontainers\.image\.ref\.name /refname /I' || true
	fi
	rm -rf -- "$work_dir"
	work_dir=
}

# Refuse, before anything is loaded, an archive that names anything but REF, or whose image
# config is not the pinned id (the pin is checked again on what the engine reports afterwards).
ensure_archive_fits() {
	tarball=$1
	ref=$2
	pin=$3
	want=$(normalize_reference "$ref")
	want_tag=${want##*:}
	entries=$(archive_manifest "$tarball")
	others=
	configs=
	old_ifs=$IFS
	IFS='
'
	for entry in $entries; do
		IFS=$old_ifs
		kind=${entry%% *}
		name=${entry#* }
		if [ "$kind" = config ]; then
			config_id=${name##*/}
			configs="$configs sha256:${config_id%.json}"
			continue
		fi
		is_reference "$name" || die "$tarball names an image $(printf '%s' "$name" | tr -cd 'A-Za-z0-9._/:@-') that is not a plain reference; refusing to load it"
		case $kind in
		refname)
			# A bare tag names the tag only; anything else is a full reference.
			case $name in
			*/* | *:*) ;;
			*)
				[ "$name" = "$want_tag" ] || others="$others ref.name=$name"
				continue
				;;
			esac
			;;
		esac
		[ "$(normalize_reference "$name")" = "$want" ] || others="$others $name"
	done
	IFS=$old_ifs
	if [ -n "$others" ]; then
		set -f
		# shellcheck disable=SC2086 # validated reference words, globbing off
		others=$(printf '%s\n' $others | sort -u | tr '\n' ' ')
		set +f
		die "$tarball carries tags other than $ref: ${others% }. docker load would apply them all, and one could replace another image. Refusing to load it. Fix: save only that image, docker save $ref -o ${tarball##*/}"
	fi
	if [ "$pin" != - ] && [ -n "$configs" ]; then
		case " $configs " in
		*" $pin "*) ;;
		*) die "$tarball holds the image${configs}, not the pinned $pin (replicated:images.pins) for $ref; nothing was loaded. Fix: replace the tarball with the docker save output of the pinned image, or correct the pin" ;;
		esac
	fi
}

append() {
	if [ -z "$1" ]; then printf '"%s"' "$2"; else printf '%s,"%s"' "$1" "$2"; fi
}

ensure_image_loaded() {
	ref=$1
	pin=$2
	have=$(image_id_of "$ref")
	if [ -n "$have" ] && { [ "$pin" = - ] || [ "$have" = "$pin" ]; }; then
		present=$(append "$present" "$ref")
		return 0
	fi
	tarball=$(tarball_of "$ref")
	ensure_trusted_images_dir
	if [ ! -e "$tarball" ] && [ ! -L "$tarball" ]; then
		if [ -n "$have" ]; then
			die "image $ref on this host is $have, but its pin (replicated:images.pins) is $pin, and its tarball $tarball does not exist. Fix: copy the docker save output of the pinned image to $tarball, or correct the pin"
		fi
		die "image $ref is not on this host and its tarball $tarball does not exist. Fix: on a connected machine run docker save $ref -o $(basename "$tarball") and copy the file to $images_dir"
	fi
	ensure_trusted_file "$tarball"
	ensure_archive_fits "$tarball" "$ref" "$pin"
	output=$(docker load --input "$tarball" 2>&1) || die "docker load --input $tarball failed: $output"
	printf '%s\n' "$output" >&2
	have=$(image_id_of "$ref")
	[ -n "$have" ] || die "$tarball was loaded but does not contain $ref (docker load reported: $(printf '%s' "$output" | tr '\n' ' ')). Fix: replace it with the output of docker save $ref"
	if [ "$pin" != - ] && [ "$have" != "$pin" ]; then
		die "$tarball gave $ref the image $have, but its pin (replicated:images.pins) is $pin. Fix: replace the tarball with the docker save output of the pinned image, or correct the pin"
	fi
	loaded=$(append "$loaded" "$ref")
	changed=$((changed + 1))
}

# Every pinned reference once more, after all loads: what each one names now is what counts.
verify_pins() {
	while [ "$#" -ge 2 ]; do
		if [ "$2" != - ]; then
			have=$(image_id_of "$1")
			[ "$have" = "$2" ] || die "image $1 is ${have:-missing} after loading, but its pin (replicated:images.pins) is $2. Fix: check the tarballs in $images_dir"
			pinned=$(append "$pinned" "$1")
		fi
		shift 2
	done
}

ensure_valid_args "$@"
ensure_docker
# Validated words without whitespace or glob characters: safe to keep in one string.
pairs="$*"
while [ "$#" -ge 2 ]; do
	ensure_image_loaded "$1" "$2"
	shift 2
done
set -f
# shellcheck disable=SC2086 # split on purpose (see pairs)
verify_pins $pairs
set +f

printf '{"loaded":[%s],"present":[%s],"pinned":[%s],"changed":%d}\n' "$loaded" "$present" "$pinned" "$changed"
