#!/bin/sh
# Builds stand-in images ON a test host, saves each as an air-gap tarball, and removes the
# images again, so the program under test must load them the air-gap way.
#
# Usage: build-standins.sh <source dir> <images dir> <spec>...
#   <source dir> holds entrypoint.sh and daemon-cgi.sh (copied there by standin-images.ts)
#   <spec> is <reference>|<tarball file name>|<service>|<tcp ports, comma separated>|<docker client: yes|no>|<entrypoint: yes|no>
#
# An image is a docker import of: /bin/busybox from this host with every applet linked, the
# stand-in entrypoint and CGI, and (client: yes) this host's docker CLI with the libraries ldd
# names. No USER is set: the container's user comes only from the container spec.
#
# Prints one JSON line: {"images":N,"bytes":<total tarball bytes>}
set -eu

src=$1
images_dir=$2
shift 2

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_rootfs() {
	root=$1
	with_client=$2
	mkdir -p "$root/bin" "$root/usr/bin" "$root/etc" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" \
		"$root/standin/www/cgi-bin"
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
	done
	install -m 0755 "$src/entrypoint.sh" "$root/standin/entrypoint.sh"
	install -m 0755 "$src/daemon-cgi.sh" "$root/standin/www/cgi-bin/daemon"
	printf 'ok\n' >"$root/standin/www/index.html"
	printf 'root:x:0:0:root:/:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	mkdir -p "$root/standin/scratch"
	chmod 1777 "$root/tmp" "$root/standin/scratch"
	if [ "$with_client" = yes ]; then
		cp /usr/bin/docker "$root/usr/bin/docker"
		for lib in $(ldd /usr/bin/docker | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	fi
	tar --numeric-owner -C "$root" -cf "$root.tar" .
}

make_rootfs "$work/plain" no
make_rootfs "$work/client" yes

mkdir -p "$images_dir"
chmod 0755 "$images_dir"
count=0
bytes=0
for spec in "$@"; do
	IFS='|' read -r ref tarball service ports client entry <<SPEC
$spec
SPEC
	base="$work/plain.tar"
	[ "$client" = yes ] && base="$work/client.tar"
	if [ "$entry" = yes ]; then
		docker import \
			--change "ENV STANDIN_SERVICE=$service" \
			--change "ENV STANDIN_PORTS=$ports" \
			--change 'ENTRYPOINT ["/bin/sh", "/standin/entrypoint.sh"]' \
			"$base" "$ref" >/dev/null
	else
		docker import --change 'CMD ["/bin/sh"]' "$base" "$ref" >/dev/null
	fi
	docker save -o "$images_dir/$tarball" "$ref"
	chmod 0644 "$images_dir/$tarball"
	docker rmi "$ref" >/dev/null
	count=$((count + 1))
	bytes=$((bytes + $(stat -c %s "$images_dir/$tarball")))
done
printf '{"images":%d,"bytes":%d}\n' "$count" "$bytes"
