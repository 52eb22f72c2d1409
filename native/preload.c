/*
 * The LD_PRELOAD side: file accesses beyond the loader, as the prototype's fs-record saw them
 * (lookups, opens, closes with their fd). Each interposer calls the next definition (libc's,
 * found with dlsym(RTLD_NEXT)) and then logs the call with its result; errno is left as libc set it
 * (the log uses raw system calls only). A call made while this thread is already inside the
 * module (a signal handler, the module's own work) passes through unrecorded.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "log.h"
#include "sys.h"

#define EXPORT __attribute__((visibility("default")))
#define NEXT ((void *)-1l)

/* libc's, when the module is preloaded into a program that has it (weak: the audit copy has none). */
extern void *libc_dlsym(void *handle, const char *name) __asm__("dlsym") __attribute__((weak));
extern void *libc_dlvsym(void *handle, const char *name, const char *version) __asm__("dlvsym") __attribute__((weak));
extern int *libc_errno_location(void) __asm__("__errno_location") __attribute__((weak));
extern int libc_fileno(void *stream) __asm__("fileno") __attribute__((weak));

#if defined(__x86_64__)
#define OLD_STAT_VERSION "GLIBC_2.2.5"
#else
#define OLD_STAT_VERSION "GLIBC_2.17"
#endif

static void *next(const char *name, const char *version) {
  void *p = 0;
  if (version && &libc_dlvsym) p = libc_dlvsym(NEXT, name, version);
  if (!p && &libc_dlsym) p = libc_dlsym(NEXT, name);
  return p;
}

/* The next definition of `name`, looked up once (a race only repeats the same lookup). */
#define REAL(name, ret, args, version)                                         \
  static ret(*real_##name) args;                                              \
  if (!real_##name) real_##name = (ret(*) args)next(#name, version);

static int last_errno(void) { return &libc_errno_location ? *libc_errno_location() : 0; }

static void log_open(const char *fn, int dirfd, const char *path, int flags, int fd) {
  int err = fd < 0 ? last_errno() : 0;
  struct ev e;
  if (!log_enter()) return;
  if (ev_begin(&e, ROLE_FILES, "open")) {
    ev_str(&e, "fn", fn);
    ev_str(&e, "path", path);
    if (dirfd != AT_FDCWD) ev_int(&e, "dirfd", dirfd);
    ev_int(&e, "flags", flags);
    ev_int(&e, "fd", fd);
    if (fd < 0) ev_int(&e, "errno", err);
    ev_commit(&e, ROLE_FILES);
  }
  log_leave();
}

static void log_lookup(const char *fn, int dirfd, const char *path, int result) {
  int err = result < 0 ? last_errno() : 0;
  struct ev e;
  if (!log_enter()) return;
  if (ev_begin(&e, ROLE_FILES, "lookup")) {
    ev_str(&e, "fn", fn);
    ev_str(&e, "path", path);
    if (dirfd != AT_FDCWD) ev_int(&e, "dirfd", dirfd);
    ev_int(&e, "result", result);
    if (result < 0) ev_int(&e, "errno", err);
    ev_commit(&e, ROLE_FILES);
  }
  log_leave();
}

static int mode_arg(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

#define OPEN_HOOK(name)                                               \
  EXPORT int name(const char *path, int flags, ...) {                 \
    mode_t mode = 0;                                                  \
    if (mode_arg(flags)) {                                            \
      va_list ap;                                                     \
      va_start(ap, flags);                                            \
      mode = va_arg(ap, mode_t);                                      \
      va_end(ap);                                                     \
    }                                                                 \
    REAL(name, int, (const char *, int, ...), 0)                      \
    if (!real_##name) return -1;                                      \
    int fd = real_##name(path, flags, mode);                          \
    log_open(#name, AT_FDCWD, path, flags, fd);                       \
    return fd;                                                        \
  }
OPEN_HOOK(open)
OPEN_HOOK(open64)

#define OPENAT_HOOK(name)                                             \
  EXPORT int name(int dirfd, const char *path, int flags, ...) {      \
    mode_t mode = 0;                                                  \
    if (mode_arg(flags)) {                                            \
      va_list ap;                                                     \
      va_start(ap, flags);                                            \
      mode = va_arg(ap, mode_t);                                      \
      va_end(ap);                                                     \
    }                                                                 \
    REAL(name, int, (int, const char *, int, ...), 0)                 \
    if (!real_##name) return -1;                                      \
    int fd = real_##name(dirfd, path, flags, mode);                   \
    log_open(#name, dirfd, path, flags, fd);                          \
    return fd;                                                        \
  }
OPENAT_HOOK(openat)
OPENAT_HOOK(openat64)

/* _FORTIFY_SOURCE's checked variants (no mode argument: they abort on O_CREAT without one). */
#define OPEN_CHK_HOOK(name)                                           \
  EXPORT int name(const char *path, int flags) {                      \
    REAL(name, int, (const char *, int), 0)                           \
    if (!real_##name) return -1;                                      \
    int fd = real_##name(path, flags);                                \
    log_open(#name, AT_FDCWD, path, flags, fd);                       \
    return fd;                                                        \
  }
OPEN_CHK_HOOK(__open_2)
OPEN_CHK_HOOK(__open64_2)

#define OPENAT_CHK_HOOK(name)                                         \
  EXPORT int name(int dirfd, const char *path, int flags) {           \
    REAL(name, int, (int, const char *, int), 0)                      \
    if (!real_##name) return -1;                                      \
    int fd = real_##name(dirfd, path, flags);                         \
    log_open(#name, dirfd, path, flags, fd);                          \
    return fd;                                                        \
  }
OPENAT_CHK_HOOK(__openat_2)
OPENAT_CHK_HOOK(__openat64_2)

#define FOPEN_HOOK(name)                                                         \
  EXPORT void *name(const char *path, const char *mode) {                        \
    REAL(name, void *, (const char *, const char *), 0)                          \
    if (!real_##name) return 0;                                                  \
    void *f = real_##name(path, mode);                                           \
    int fd = f ? (&libc_fileno ? libc_fileno(f) : 0) : -1;                       \
    int flags = mode && mode[0] == 'r' ? (mode[1] == '+' ? O_RDWR : O_RDONLY) : O_WRONLY | O_CREAT; \
    log_open(#name, AT_FDCWD, path, flags, fd);                                  \
    return f;                                                                    \
  }
FOPEN_HOOK(fopen)
FOPEN_HOOK(fopen64)

#define STAT_HOOK(name, st)                                           \
  EXPORT int name(const char *path, struct st *buf) {                 \
    REAL(name, int, (const char *, struct st *), 0)                   \
    if (!real_##name) return -1;                                      \
    int r = real_##name(path, buf);                                   \
    log_lookup(#name, AT_FDCWD, path, r);                             \
    return r;                                                         \
  }
STAT_HOOK(stat, stat)
STAT_HOOK(stat64, stat64)
STAT_HOOK(lstat, stat)
STAT_HOOK(lstat64, stat64)

#define FSTATAT_HOOK(name, st)                                              \
  EXPORT int name(int dirfd, const char *path, struct st *buf, int flags) { \
    REAL(name, int, (int, const char *, struct st *, int), 0)               \
    if (!real_##name) return -1;                                            \
    int r = real_##name(dirfd, path, buf, flags);                           \
    /* fstatat(fd, "", AT_EMPTY_PATH) is an fstat: no lookup of a name. */ \
    if (path && path[0]) log_lookup(#name, dirfd, path, r);                 \
    return r;                                                               \
  }
FSTATAT_HOOK(fstatat, stat)
FSTATAT_HOOK(fstatat64, stat64)

/* The stat ABI of binaries built before glibc 2.33 (compat symbols today). */
#define XSTAT_HOOK(name, st)                                          \
  EXPORT int name(int ver, const char *path, struct st *buf) {        \
    REAL(name, int, (int, const char *, struct st *), OLD_STAT_VERSION) \
    if (!real_##name) return -1;                                      \
    int r = real_##name(ver, path, buf);                              \
    log_lookup(#name, AT_FDCWD, path, r);                             \
    return r;                                                         \
  }
XSTAT_HOOK(__xstat, stat)
XSTAT_HOOK(__xstat64, stat64)
XSTAT_HOOK(__lxstat, stat)
XSTAT_HOOK(__lxstat64, stat64)

#define FXSTATAT_HOOK(name, st)                                                      \
  EXPORT int name(int ver, int dirfd, const char *path, struct st *buf, int flags) { \
    REAL(name, int, (int, int, const char *, struct st *, int), OLD_STAT_VERSION)    \
    if (!real_##name) return -1;                                                     \
    int r = real_##name(ver, dirfd, path, buf, flags);                               \
    if (path && path[0]) log_lookup(#name, dirfd, path, r);                          \
    return r;                                                                        \
  }
FXSTATAT_HOOK(__fxstatat, stat)
FXSTATAT_HOOK(__fxstatat64, stat64)

EXPORT int statx(int dirfd, const char *restrict path, int flags, unsigned int mask, struct statx *restrict buf) {
  REAL(statx, int, (int, const char *, int, unsigned int, struct statx *), 0)
  if (!real_statx) return -1;
  int r = real_statx(dirfd, path, flags, mask, buf);
  if (path && path[0]) log_lookup("statx", dirfd, path, r);
  return r;
}

EXPORT int access(const char *path, int mode) {
  REAL(access, int, (const char *, int), 0)
  if (!real_access) return -1;
  int r = real_access(path, mode);
  log_lookup("access", AT_FDCWD, path, r);
  return r;
}

EXPORT int faccessat(int dirfd, const char *path, int mode, int flags) {
  REAL(faccessat, int, (int, const char *, int, int), 0)
  if (!real_faccessat) return -1;
  int r = real_faccessat(dirfd, path, mode, flags);
  log_lookup("faccessat", dirfd, path, r);
  return r;
}

EXPORT int close(int fd) {
  REAL(close, int, (int), 0)
  if (!real_close) return (int)sys1(SYS_close, fd);
  int r = real_close(fd);
  int err = r < 0 ? last_errno() : 0;
  struct ev e;
  if (log_enter()) {
    if (ev_begin(&e, ROLE_FILES, "close")) {
      ev_int(&e, "fd", fd);
      ev_int(&e, "result", r);
      if (r < 0) ev_int(&e, "errno", err);
      ev_commit(&e, ROLE_FILES);
    }
    log_leave();
  }
  return r;
}
