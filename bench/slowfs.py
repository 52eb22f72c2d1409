#!/usr/bin/python3
"""A FUSE passthrough that adds a fixed latency to every lookup and open: a slow shared file
system (NFS, Lustre metadata under load) on one machine, for bench/cache.mjs.

usage: slowfs.py SOURCE MOUNTPOINT LATENCY_MS
Runs in the foreground until unmounted (fusermount3 -u MOUNTPOINT); the caller waits for the mount
to appear in /proc/mounts.
"""
import errno
import os
import sys
import time

from fusepy import FUSE, FuseOSError, Operations


class Slow(Operations):
    def __init__(self, source, latency):
        self.source = source
        self.latency = latency

    def _path(self, path):
        return os.path.join(self.source, path.lstrip('/'))

    def _wait(self):
        if self.latency > 0:
            time.sleep(self.latency)

    def getattr(self, path, fh=None):
        # A lookup: the kernel asks for attributes of every name it resolves (and every miss).
        self._wait()
        try:
            st = os.lstat(self._path(path))
        except OSError as e:
            raise FuseOSError(e.errno)
        keys = ('st_atime', 'st_ctime', 'st_gid', 'st_mode', 'st_mtime', 'st_nlink', 'st_size', 'st_uid', 'st_ino')
        out = {k: getattr(st, k) for k in keys}
        out['st_atime'], out['st_mtime'], out['st_ctime'] = st.st_atime_ns / 1e9, st.st_mtime_ns / 1e9, st.st_ctime_ns / 1e9
        return out

    def readdir(self, path, fh):
        # Real inode numbers in listings, as NFS and Lustre give them (use_ino below).
        base = self._path(path)
        out = ['.', '..']
        with os.scandir(base) as it:
            for d in it:
                out.append((d.name, {'st_ino': d.inode(), 'st_mode': d.stat(follow_symlinks=False).st_mode}, 0))
        return out

    def readlink(self, path):
        return os.readlink(self._path(path))

    def access(self, path, mode):
        if not os.access(self._path(path), mode):
            raise FuseOSError(errno.EACCES)

    def open(self, path, flags):
        self._wait()
        return os.open(self._path(path), flags)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        os.close(fh)

    def statfs(self, path):
        st = os.statvfs(self._path(path))
        return {k: getattr(st, k) for k in ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail', 'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')}


if __name__ == '__main__':
    source, mountpoint, latency_ms = sys.argv[1], sys.argv[2], float(sys.argv[3])
    # Read-only, no kernel caching of attributes or misses: every lookup reaches the file system,
    # as on a shared file system whose clients revalidate (NFS with actimeo=0, lookupcache=none).
    FUSE(Slow(os.path.realpath(source), latency_ms / 1000.0), mountpoint, foreground=True, ro=True, nothreads=False,
         attr_timeout=0, entry_timeout=0, negative_timeout=0, allow_other=False, use_ino=True)
