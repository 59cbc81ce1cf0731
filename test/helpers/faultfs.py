#!/usr/bin/python3
# A real filesystem that fails on cue, for tests of write errors: a FUSE pass-through of BACKING mounted at
# MOUNT (python3-fusepy, Debian's package; .ci/run installs it)
#   --fail GLOB[:ERRNO]  whose write() returns ERRNO (default EIO) for every file whose path below the mount
#                        matches GLOB (fnmatch, `*` crosses `/`), and/or
#   --name-max N         which refuses names longer than N bytes with ENAMETOOLONG, as eCryptfs (143) does.
# The kernel hands that errno to the writer, exactly as a failing disk would: no hook in the program under test.
#
#   faultfs.py BACKING MOUNT [--fail GLOB[:ERRNO]] [--name-max N]
#
# Runs in the foreground until unmounted (`umount MOUNT`), prints "mounted" on stdout once it serves.
import errno
import fnmatch
import os
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations


class FaultFS(Operations):
    def __init__(self, root, glob, code, name_max):
        self.root = root
        self.glob = glob
        self.code = code
        self.name_max = name_max

    def _full(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def _new(self, path):
        """The backing path of a name being created; too long a name is refused."""
        if self.name_max and len(os.path.basename(path).encode("utf-8", "surrogateescape")) > self.name_max:
            raise FuseOSError(errno.ENAMETOOLONG)
        return self._full(path)

    # metadata
    def access(self, path, mode):
        if not os.access(self._full(path), mode):
            raise FuseOSError(errno.EACCES)

    def chmod(self, path, mode):
        return os.chmod(self._full(path), mode)

    def chown(self, path, uid, gid):
        return os.chown(self._full(path), uid, gid)

    def getattr(self, path, fh=None):
        st = os.lstat(self._full(path))
        keys = ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid", "st_ino")
        return {key: getattr(st, key) for key in keys}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._full(path))

    def readlink(self, path):
        return os.readlink(self._full(path))

    def mknod(self, path, mode, dev):
        return os.mknod(self._new(path), mode, dev)

    def rmdir(self, path):
        return os.rmdir(self._full(path))

    def mkdir(self, path, mode):
        return os.mkdir(self._new(path), mode)

    def statfs(self, path):
        st = os.statvfs(self._full(path))
        keys = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag",
                "f_frsize", "f_namemax")
        return {key: getattr(st, key) for key in keys}

    def unlink(self, path):
        return os.unlink(self._full(path))

    def symlink(self, name, target):
        return os.symlink(target, self._new(name))

    def rename(self, old, new):
        return os.rename(self._full(old), self._new(new))

    def link(self, target, name):
        return os.link(self._full(name), self._new(target))

    def utimens(self, path, times=None):
        return os.utime(self._full(path), times)

    # files
    def open(self, path, flags):
        return os.open(self._full(path), flags)

    def create(self, path, mode, fi=None):
        return os.open(self._new(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)

    def read(self, path, length, offset, fh):
        os.lseek(fh, offset, os.SEEK_SET)
        return os.read(fh, length)

    def write(self, path, buf, offset, fh):
        if self.glob and fnmatch.fnmatch(path.lstrip("/"), self.glob):
            raise FuseOSError(self.code)
        os.lseek(fh, offset, os.SEEK_SET)
        return os.write(fh, buf)

    def truncate(self, path, length, fh=None):
        with open(self._full(path), "r+") as f:
            f.truncate(length)

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        return os.close(fh)

    def fsync(self, path, fdatasync, fh):
        return os.fsync(fh)


def main():
    backing, mount = sys.argv[1:3]
    glob, code, name_max = None, errno.EIO, 0
    args = sys.argv[3:]
    while args:
        flag, value = args[0], args[1]
        args = args[2:]
        if flag == "--fail":
            glob, _, name = value.partition(":")
            code = getattr(errno, name or "EIO")
        elif flag == "--name-max":
            name_max = int(value)
        else:
            sys.exit(f"faultfs: unknown option {flag}")

    def announce():
        # Serving once the mount shows up in /proc/mounts.
        import time

        target = os.path.realpath(mount)
        for _ in range(200):
            with open("/proc/mounts") as mounts:
                if any(line.split()[1] == target for line in mounts):
                    print("mounted", flush=True)
                    return
            time.sleep(0.05)

    threading.Thread(target=announce, daemon=True).start()
    FUSE(FaultFS(os.path.realpath(backing), glob, code, name_max), mount, foreground=True, nothreads=True)


if __name__ == "__main__":
    main()
