#!/usr/bin/env python3
# Generates the migration benchmark's tree, identical for every ROOT given the same FILES:
#   ROOT/dNNN/sNN/fNNNNNN  nested directories, 100 file names per leaf directory, 10 leaves per top;
#   among the file names, one in every 1,000 is a hard link to the name before it (both links
#   inside the tree) and one in every 10,000 is a hard link to a file in OUTSIDE (a root-only file
#   outside the tree: re-owning it through the link would be a privilege leak);
#   per top directory three symbolic links: to a file in OUTSIDE, to a directory in OUTSIDE (a
#   walk that follows links would leave the tree), and a relative one to a sibling file.
# Everything is created by root (owner 0:0, as a legacy root-mode install leaves its data).
# Usage: make-tree.py ROOT OUTSIDE FILES   (ROOT and OUTSIDE must not exist yet)
# Prints one JSON line: counts of what it created.
import json
import os
import sys

FILES_PER_LEAF = 100
LEAVES_PER_TOP = 10


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit("usage: make-tree.py ROOT OUTSIDE FILES")
    root, outside, files = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if files < 10000 or files % 10000 != 0:
        sys.exit("FILES must be a positive multiple of 10000")
    os.umask(0o022)
    os.makedirs(root)
    os.makedirs(os.path.join(outside, "dir"))
    with open(os.path.join(outside, "dir", "inside-linked-dir-file"), "w") as handle:
        handle.write("outside\n")
    counts = {"files": 0, "directories": 1, "symlinks": 0, "hardlinksInside": 0, "hardlinksToOutside": 0, "outsideFiles": 1}
    previous = ""
    for index in range(files):
        top, rest = divmod(index, FILES_PER_LEAF * LEAVES_PER_TOP)
        leaf = rest // FILES_PER_LEAF
        top_dir = os.path.join(root, f"d{top:03d}")
        leaf_dir = os.path.join(top_dir, f"s{leaf:02d}")
        if rest == 0:
            os.mkdir(top_dir)
            counts["directories"] += 1
            os.symlink(os.path.join(outside, "target-file"), os.path.join(top_dir, "link-to-outside-file"))
            os.symlink(os.path.join(outside, "dir"), os.path.join(top_dir, "link-to-outside-dir"))
            os.symlink(os.path.join(f"s{0:02d}", f"f{index:06d}"), os.path.join(top_dir, "link-to-sibling"))
            counts["symlinks"] += 3
        if rest % FILES_PER_LEAF == 0:
            os.mkdir(leaf_dir)
            counts["directories"] += 1
        path = os.path.join(leaf_dir, f"f{index:06d}")
        if index % 1000 == 250:
            os.link(previous, path)
            counts["hardlinksInside"] += 1
        elif index % 10000 == 5000:
            secret = os.path.join(outside, f"secret-{index:06d}")
            with open(secret, "w") as handle:
                handle.write("root only\n")
            os.chmod(secret, 0o600)
            os.link(secret, path)
            counts["hardlinksToOutside"] += 1
            counts["outsideFiles"] += 1
        else:
            with open(path, "w"):
                pass
        counts["files"] += 1
        previous = path
    with open(os.path.join(outside, "target-file"), "w") as handle:
        handle.write("root only\n")
    os.chmod(os.path.join(outside, "target-file"), 0o600)
    counts["outsideFiles"] += 1
    print(json.dumps(counts))


main()
