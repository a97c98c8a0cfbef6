#!/bin/bash
# Builds the disposable test-host image (Debian trixie, own sshd + own dockerd,
# systemd installed) from Debian packages only: debootstrap + `docker import`, no
# registry needed. Trixie ships Docker 26, which knows every daemon.json setting
# the engine tier varies (log-opts, default-network-opts). The image boots either
# under tini (entrypoint.sh, the default) or with systemd as PID 1 (testhost.ts
# startHosts({ boot: "systemd" })), where ssh.service and docker.service run.
#
# Usage: build.sh               build if needed, print the image tag on stdout
#        build.sh --print-tag   only print the tag this tree would build
#
# The tag is replicated-testhost:<12 hex of sha256(build.sh, entrypoint.sh,
# dockerctl.sh, packages.txt)>; when it exists nothing is done. The pristine
# debootstrap root file system is kept as a tarball in the cache dir (keyed by
# suite, mirror, architecture and package list), so a rebuild after `docker rmi`
# or after an edit of the customisation below skips debootstrap.
#
# Environment:
#   REPLICATED_TESTHOST_CACHE  cache dir (default /var/cache/replicated-testhost)
#   DEBIAN_MIRROR              mirror URL (default: the one apt uses on this machine)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
readonly here
readonly suite=trixie
readonly image_repo=replicated-testhost
cache_dir=${REPLICATED_TESTHOST_CACHE:-/var/cache/replicated-testhost}

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

image_tag() {
	local hash
	hash=$(cat "$here/build.sh" "$here/entrypoint.sh" "$here/dockerctl.sh" "$here/packages.txt" |
		sha256sum | cut -c1-12)
	printf '%s:%s\n' "$image_repo" "$hash"
}

# Comma-separated package list for debootstrap --include (comments and blanks dropped).
package_list() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/packages.txt" | grep -v '^$' | sort -u | paste -sd, -
}

# The Debian mirror apt already uses here (for whatever suite this machine runs),
# so the build needs no other network access. deb822 (*.sources) first, then
# one-line sources.list entries; security mirrors are skipped.
apt_mirror() {
	local files=() uri=""
	shopt -s nullglob
	files=(/etc/apt/sources.list.d/*.sources)
	if ((${#files[@]} > 0)); then
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
			{
				types = ""; uris = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^Types:/) types = " " substr($i, 7) " "
					if ($i ~ /^URIs:/) uris = substr($i, 6)
				}
				if (types ~ / deb / && uris !~ /security/) {
					if (split(uris, u, " ") > 0) { print u[1]; exit }
				}
			}' "${files[@]}")
	fi
	if [[ -z "$uri" ]]; then
		files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list)
		if ((${#files[@]} > 0)); then
			uri=$(awk '$1 == "deb" {
					i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
					if ($i !~ /security/) { print $i; exit }
				}' "${files[@]}" 2>/dev/null || true)
		fi
	fi
	printf '%s\n' "$uri"
}

cleanup_dirs=()
cleanup() {
	local dir
	for dir in "${cleanup_dirs[@]}"; do
		# A failed debootstrap can leave proc/sys mounted inside the target:
		# unmount them and never let rm cross into another file system.
		for mnt in proc sys dev/pts; do
			if mountpoint -q "$dir/rootfs/$mnt" 2>/dev/null; then umount -l "$dir/rootfs/$mnt" || true; fi
		done
		rm -rf --one-file-system "$dir"
	done
}
trap cleanup EXIT

tag=$(image_tag)
if [[ "${1:-}" == "--print-tag" ]]; then
	printf '%s\n' "$tag"
	exit 0
fi
[[ $# -eq 0 ]] || die "unknown argument: $1 (usage: build.sh [--print-tag])"

if docker image inspect "$tag" >/dev/null 2>&1; then
	log "cached: $tag"
	printf '%s\n' "$tag"
	exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
mkdir -p "$cache_dir/debs"

# Two test runs may build at once: serialise on the cache dir, then re-check.
exec 9>"$cache_dir/lock"
flock 9
if docker image inspect "$tag" >/dev/null 2>&1; then
	log "cached (built by a concurrent run): $tag"
	printf '%s\n' "$tag"
	exit 0
fi

packages=$(package_list)
mirror=${DEBIAN_MIRROR:-$(apt_mirror)}
[[ -n "$mirror" ]] || die "no Debian mirror for $suite found in /etc/apt; set DEBIAN_MIRROR"
arch=$(dpkg --print-architecture)
rootfs_key=$(printf '%s\n' minbase "$suite" "$mirror" "$arch" "$packages" | sha256sum | cut -c1-16)
rootfs_tar="$cache_dir/rootfs-$suite-$arch-$rootfs_key.tar"

if [[ ! -s "$rootfs_tar" ]]; then
	log "debootstrap $suite from $mirror (cold, a few minutes)"
	work=$(mktemp -d "$cache_dir/debootstrap.XXXXXX")
	cleanup_dirs+=("$work")
	# --cache-dir keeps the .debs, so a changed package list downloads only the difference.
	debootstrap --variant=minbase --arch="$arch" --include="$packages" \
		--cache-dir="$cache_dir/debs" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{ tail -n 40 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
	rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
	tar --numeric-owner --xattrs -C "$work/rootfs" -cf "$rootfs_tar.tmp" .
	mv "$rootfs_tar.tmp" "$rootfs_tar"
else
	log "using cached root file system $rootfs_tar"
fi

stage=$(mktemp -d "$cache_dir/stage.XXXXXX")
cleanup_dirs+=("$stage")
root="$stage/rootfs"
mkdir "$root"
tar --numeric-owner --xattrs -xpf "$rootfs_tar" -C "$root"

log "customising (users, sudo, sshd, entrypoint)"
in_root() { chroot "$root" "$@"; }

# Fixed uids so tests can reason about ownership; `deploy` has no password but is
# not locked ('*'), so public-key login works whatever sshd's UsePAM says.
# prompter sits above UID_MAX (60000), outside useradd's regular range: a plain
# `useradd -g <docker gid> replicated`, as Replicated's 2.5+ install script runs it,
# then gets uid 1001, the uid such installs have on a host with one regular user.
in_root useradd --create-home --uid 1000 --user-group --shell /bin/bash deploy
in_root useradd --create-home --uid 61001 --user-group --shell /bin/bash prompter
in_root usermod --password '*' deploy
# prompter gets a random password nobody knows: `sudo -n` must then fail with
# "a password is required" instead of hanging on a prompt.
printf 'prompter:%s\n' "$(head -c 24 /dev/urandom | base64)" | in_root chpasswd

printf '%s\n' 'deploy ALL=(ALL) NOPASSWD:ALL' >"$root/etc/sudoers.d/deploy"
printf '%s\n' 'prompter ALL=(ALL) ALL' >"$root/etc/sudoers.d/prompter"
chmod 0440 "$root/etc/sudoers.d/deploy" "$root/etc/sudoers.d/prompter"
in_root visudo -c -q || die "sudoers check failed"

# Drop-ins come first in Debian's sshd_config, and the first value wins.
cat >"$root/etc/ssh/sshd_config.d/testhost.conf" <<'EOF'
# Disposable test host: keys only, root by key, central authorized_keys that the
# harness installs before the first boot (root-owned, so StrictModes is happy).
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/authorized_keys/%u
UseDNS no
PrintMotd no
# Benchmarks open many sessions at once.
MaxStartups 100:30:200
MaxSessions 64
EOF
install -d -m 0755 "$root/etc/ssh/authorized_keys"
# systemd-standalone-tmpfiles does not create it; a systemd host has it.
install -d -m 0755 "$root/etc/tmpfiles.d"
# Keys made by openssh-server's postinst would be shared by every container.
rm -f "$root"/etc/ssh/ssh_host_*
# pam_loginuid fails in containers without audit support; a real host keeps it required.
sed -i 's/^session[[:space:]]\+required[[:space:]]\+pam_loginuid.so/session optional pam_loginuid.so/' \
	"$root/etc/pam.d/sshd"
: >"$root/etc/machine-id"
rm -f "$root/etc/hostname"

# The engine's settings, read by dockerd in both boot modes. Inner networks get
# their own 10.21x pools so they never overlap the outer engine's 172.x networks
# that connect the test hosts. Tests may edit this file and restart the engine.
install -d -m 0755 "$root/etc/docker"
cat >"$root/etc/docker/daemon.json" <<'EOF'
{
  "bip": "10.213.0.1/24",
  "default-address-pools": [{ "base": "10.214.0.0/16", "size": 24 }]
}
EOF

# systemd boot: docker.service runs dockerctl (cgroup parent below the test host's
# own cgroup), sshd gets its host keys from a oneshot before ssh.service, and the
# units a container cannot run are masked. Under tini none of this is used.
install -d -m 0755 "$root/etc/systemd/system/docker.service.d"
cat >"$root/etc/systemd/system/docker.service.d/testhost.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/local/sbin/dockerctl foreground
EOF
cat >"$root/etc/systemd/system/testhost-keygen.service" <<'EOF'
[Unit]
Description=Generate missing SSH host keys (test host)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
EOF
in_root systemctl enable testhost-keygen.service ssh.service docker.service docker.socket >/dev/null 2>&1 ||
	die "systemctl enable failed in the image"
for unit in systemd-udevd.service systemd-udev-trigger.service systemd-udevd-control.socket \
	systemd-udevd-kernel.socket getty@tty1.service console-getty.service systemd-firstboot.service \
	systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
	systemd-logind.service systemd-modules-load.service; do
	ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
in_root systemctl set-default multi-user.target >/dev/null 2>&1 || true

install -m 0755 "$here/entrypoint.sh" "$root/usr/local/sbin/testhost-entrypoint"
install -m 0755 "$here/dockerctl.sh" "$root/usr/local/sbin/dockerctl"

log "docker import as $tag"
tar --numeric-owner --xattrs -C "$root" -c . |
	docker import \
		--change 'ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/sbin/testhost-entrypoint"]' \
		--change 'VOLUME ["/var/lib/docker"]' \
		--change 'ENV LANG=C.UTF-8' \
		--message "replicated test host ($suite, $(printf '%s' "$packages" | tr ',' ' '))" \
		- "$tag" >/dev/null

printf '%s\n' "$tag"
