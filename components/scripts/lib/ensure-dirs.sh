#!/bin/sh
# replicated-library: ensure-dirs
#
# Inlined by loadScript where a host script says "# replicated-include: ensure-dirs". Uses the
# script's own die.
#
# ensure_dirs WHO UID GID MODE PATH...: every PATH (absolute, parents listed before children) is a
# real directory owned UID:GID with MODE. Prints on stdout how many directories it changed; notes
# on stderr prefixed "replicated WHO:".
#
# The directories below the trees' roots belong to the service account, whose containers can
# rename, swap and symlink inside them at any moment. So nothing here resolves such a path twice:
# a tree root's parent (a system directory) is trusted only when its real path is root-owned and
# not writable by group or others, component by component; below it every directory is opened
# with O_DIRECTORY|O_NOFOLLOW relative to its verified parent (fchdir), checked with fstat, and
# changed through that handle (fchown, fchmod). A name that is a symlink, a file or anything else
# fails the run. A directory owned by a uid other than root, UID or an earlier Replicated service
# account (the kinds account.sh adopts) is refused, and every path is checked before the first
# change, so a refusal changes nothing.
# Needs perl-base (Debian and RHEL families ship it).

ensure_dirs() {
	# shellcheck disable=SC2016 # perl's own $ variables
	perl -e '
use strict;
use warnings;
use Cwd qw(realpath);
use Fcntl qw(O_RDONLY O_DIRECTORY O_NOFOLLOW);

my ($who, $uid, $gid, $mode_text, @paths) = @ARGV;
my $mode = oct($mode_text);
my $changed = 0;
umask(0);

sub fail { print STDERR "replicated $who: @_\n"; exit 1 }
sub note { print STDERR "replicated $who: @_\n" }

# What sits at NAME in the current directory, for messages.
sub describe {
    my ($name) = @_;
    return "missing" unless lstat($name);
    if (-l _) { my $target = readlink($name); return "a symbolic link to " . (defined $target ? $target : "?") }
    return -f _ ? "a regular file" : -S _ ? "a socket" : -p _ ? "a fifo" : -b _ || -c _ ? "a device node" : -d _ ? "a directory" : "something else";
}

sub owner_name { my $name = getpwuid($_[0]); return defined $name ? "user $name" : "no user" }

# A value of /etc/login.defs, or the default given.
sub login_defs {
    my ($key, $default) = @_;
    open(my $defs, "<", "/etc/login.defs") or return $default;
    while (my $line = <$defs>) { return $1 if $line =~ /^\s*\Q$key\E\s+(\d+)\s*$/ }
    return $default;
}

# Whether UID is an earlier Replicated service account (the same two kinds account.sh adopts):
# its data may move to the current one (a changed uid or account); data of anyone else may not.
sub is_service_account {
    my ($owner) = @_;
    my (undef, undef, undef, $primary_gid, undef, undef, $gecos, $home, $shell) = getpwuid($owner);
    return 0 unless defined $primary_gid && $primary_gid == $gid;
    return 1 if $gecos eq "Replicated service account (managed by Pulumi)";
    return 1 if $home eq "/var/lib/replicated" && $shell =~ m{^(/usr)?/s?bin/(nologin|false)$};
    return $owner >= login_defs("UID_MIN", 1000) && $owner <= login_defs("UID_MAX", 60000) && $shell =~ m{^(/usr)?/bin/(ba)?sh$};
}

# A system directory: its real path, each component root-owned and not group- or world-writable.
sub open_trusted {
    my ($dir) = @_;
    my $real = realpath($dir);
    fail("$dir does not exist or cannot be resolved; nothing was changed") unless defined $real;
    my $prefix = "";
    for my $part ("", grep { length } split m{/}, $real) {
        $prefix = $part eq "" ? "/" : ($prefix eq "/" ? "/$part" : "$prefix/$part");
        my @st = lstat($prefix) or fail("cannot stat $prefix: $!");
        if ($st[4] != 0 || ($st[2] & 022) != 0) {
            fail(sprintf("%s (on the way to %s) is owned by uid %d with mode %04o: only a root-owned directory that group and others cannot write is trusted above the service directories. Nothing was changed. Fix: chown root %s && chmod go-w %s, then re-run",
                $prefix, $dir, $st[4], $st[2] & 07777, $prefix, $prefix));
        }
    }
    sysopen(my $handle, $real, O_RDONLY | O_DIRECTORY) or fail("cannot open $real: $!");
    return $handle;
}

# One pass over every path. $apply 0: check only, create and change nothing. 1: make it so.
sub pass {
    my ($apply) = @_;
    my %handle;
    for my $path (@paths) {
        my ($parent, $name) = $path =~ m{^(.*)/([^/]+)$} or fail("invalid path $path");
        $parent = "/" if $parent eq "";
        my $parent_handle = $handle{$parent};
        if (!defined $parent_handle) {
            next if !$apply && exists $handle{$parent};
            $parent_handle = open_trusted($parent);
        }
        chdir($parent_handle) or fail("cannot enter $parent: $!");
        my @seen = lstat($name);
        if (@seen && (-l _ || !-d _)) {
            fail("$path exists but is " . describe($name) . ", not a directory. Nothing was changed there. Fix: move it away (mv -- $path $path.orig), then re-run");
        }
        my $was = @seen ? sprintf("%d:%d %04o", $seen[4], $seen[5], $seen[2] & 07777) : "absent";
        if (!@seen) {
            if (!$apply) { $handle{$path} = undef; next }
            mkdir($name, $mode) or fail("cannot create $path: $!");
        }
        sysopen(my $dir, $name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            or fail("$path is " . describe($name) . " now, not the directory just checked; nothing was changed there. Re-run once nothing else changes it");
        my @st = stat($dir);
        if ($st[4] != 0 && $st[4] != $uid && !is_service_account($st[4])) {
            fail("$path belongs to uid $st[4] (" . owner_name($st[4]) . "), which is neither root, the service account (uid $uid) nor an earlier Replicated service account. Nothing was changed. Fix: if its data is meant for the service account, re-own the tree by hand (chown -R -h $uid:$gid -- $path); otherwise move it away (mv -- $path $path.orig), then re-run");
        }
        if ($apply) {
            my $did = !@seen;
            if ($st[4] != $uid || $st[5] != $gid) { chown($uid, $gid, $dir) or fail("cannot change the owner of $path: $!"); $did = 1 }
            if (($st[2] & 07777) != $mode) { chmod($mode, $dir) or fail("cannot change the mode of $path: $!"); $did = 1 }
            if ($did) { note(sprintf("set %s to %d:%d mode %04o (was: %s)", $path, $uid, $gid, $mode, $was)); $changed++ }
        }
        $handle{$path} = $dir;
    }
}

pass(0);
pass(1);
print "$changed\n";
' "$@"
}
