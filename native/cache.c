/*
 * Never changes what gets loaded: a name not in the table, an entry its directory no longer holds
 * (removed, or replaced by another file: package managers and ldconfig replace by rename), or an
 * LD_LIBRARY_PATH other than the one the table was
 * built for all leave the name untouched, and the loader searches as it always does.
 *
 * Table (text, written by `compat run` from the cache artifact; see src/trace/location-cache.ts):
 *   #compat-location-cache 1
 *   #ld_library_path <the LD_LIBRARY_PATH it was built for, possibly empty>
 *   <name>\t<path>\t<dev>\t<ino>\t<size>\t<mtime ns>\t<inode of the directory entry itself>
 */
#define _GNU_SOURCE
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "sys.h"

/* A bigger table is refused (the cache is then off): bounds what a bad file costs. */
#define MAX_TABLE_BYTES (64ul * 1024 * 1024)
#define MAX_ENTRIES (1u << 20)

struct entry {
  const char *name;
  const char *path;
  /* The directory entry's own inode (lstat: a link's, not its target's) when the table was built. */
  uint64_t entry_ino;
  uint32_t dir;
  /* 0: not yet seen; 1: the directory still holds this entry; -1: gone or replaced. */
  int verdict;
};

/* The table's directories, each listed once at its first lookup. */
#define MAX_DIRS 4096
struct dir {
  const char *path; /* the entry's path up to its last '/', as its own string */
  uint32_t len;
  int listed;
  uint32_t entries; /* table entries in it */
};
static struct dir *dirs;
static uint32_t ndirs;

static char **initial_env;
static int state; /* 0: not yet read, 1: on, -1: off */
static struct entry *slots; /* open addressing, power-of-two size */
static uint32_t mask;

static char *put_u(char *p, unsigned long v) {
  char tmp[24];
  int i = 24;
  do tmp[--i] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (i < 24) *p++ = tmp[i++];
  return p;
}

void cache_set_env(char **envp) { initial_env = envp; }

static const char *env(const char *key) {
  size_t n = cstrlen(key);
  for (char **e = initial_env; e && *e; e++)
    if (cstartswith(*e, key) && (*e)[n] == '=') return *e + n + 1;
  return 0;
}

static int streq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

static uint32_t hash(const char *s) {
  uint32_t h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

static void *map_anon(size_t len) {
  long p = sys6(SYS_mmap, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return (unsigned long)p >= (unsigned long)-4096 ? 0 : (void *)p;
}

/* The whole file, NUL-terminated, in fresh pages; 0 if it cannot be read or is too big. */
static char *read_file(const char *path) {
  int fd = (int)sys4(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct stat st;
  char *buf = 0;
  if (sys2(SYS_fstat, fd, &st) == 0 && S_ISREG(st.st_mode) && (unsigned long)st.st_size < MAX_TABLE_BYTES) {
    size_t len = (size_t)st.st_size, done = 0;
    buf = map_anon(len + 1);
    while (buf && done < len) {
      long n = sys3(SYS_read, fd, buf + done, len - done);
      if (n <= 0) break;
      done += (size_t)n;
    }
    if (buf && done != len) buf = 0; /* shrank while read: off (the pages stay mapped: rare) */
  }
  sys1(SYS_close, fd);
  return buf;
}

static int parse_u64(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (!*s) return 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) return 0;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return 1;
}

/* Cuts `line` at its tabs into at most `max` fields; the count found. */
static int fields(char *line, char **f, int max) {
  int n = 0;
  f[n++] = line;
  for (char *p = line; *p; p++)
    if (*p == '\t') {
      if (n == max) return max + 1;
      *p = 0;
      f[n++] = p + 1;
    }
  return n;
}

static int insert(const struct entry *e) {
  for (uint32_t i = hash(e->name) & mask;; i = (i + 1) & mask) {
    if (!slots[i].name) {
      slots[i] = *e;
      return 1;
    }
    if (streq(slots[i].name, e->name)) return 0; /* a name twice: the table is not trusted */
  }
}

static uint32_t count_lines(const char *s) {
  uint32_t n = 1;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/*
 * Counts go to a small file of this process image's own under COMPAT_CACHE_STATS, through a shared
 * mapping: they survive exec and _exit (a shell's child that execs never runs a destructor), and
 * cost no write. Layout (little-endian): "CCSTATS1", answered, stale, unknown (u64 each), then the
 * reason the table is off, NUL-terminated.
 */
#define STATS_BYTES 288
struct stats {
  char magic[8];
  uint64_t answered, stale, unknown;
  char off[STATS_BYTES - 32];
};

static struct stats *stats_page(void) {
  const char *dir = env("COMPAT_CACHE_STATS");
  if (!dir || !*dir) return 0;
  char path[4096], *p = path;
  size_t n = cstrlen(dir);
  if (n > sizeof path - 64) return 0;
  for (size_t i = 0; i < n; i++) *p++ = dir[i];
  *p++ = '/';
  p = put_u(p, (unsigned long)sys0(SYS_getpid));
  *p++ = '.';
  /* One file per process image: an exec keeps the pid, so the next free number is taken. */
  for (unsigned long k = 0; k < 4096; k++) {
    char *q = put_u(p, k);
    *q = 0;
    int fd = (int)sys4(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -EEXIST) continue;
    if (fd < 0) return 0;
    void *m = 0;
    if (sys2(SYS_ftruncate, fd, STATS_BYTES) == 0) {
      long r = sys6(SYS_mmap, 0, STATS_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if ((unsigned long)r < (unsigned long)-4096) m = (void *)r;
    }
    sys1(SYS_close, fd);
    return m;
  }
  return 0;
}

static struct stats *counts;

/* Files `e` under its directory's index (the path's last '/' must leave a non-empty name). */
static int dir_of(struct entry *e) {
  const char *slash = 0;
  for (const char *p = e->path; *p; p++)
    if (*p == '/') slash = p;
  if (!slash || !slash[1] || !streq(slash + 1, e->name)) return 0;
  uint32_t len = (uint32_t)(slash - e->path);
  for (uint32_t i = 0; i < ndirs; i++)
    if (dirs[i].len == len) {
      uint32_t k = 0;
      while (k < len && dirs[i].path[k] == e->path[k]) k++;
      if (k == len) {
        e->dir = i;
        dirs[i].entries++;
        return 1;
      }
    }
  if (ndirs == MAX_DIRS) return 0;
  char *copy = map_anon(len + 2);
  if (!copy) return 0;
  for (uint32_t k = 0; k < len; k++) copy[k] = e->path[k];
  if (len == 0) copy[len++] = '/';
  copy[len] = 0;
  dirs[ndirs] = (struct dir){copy, (uint32_t)(slash - e->path), 0, 1};
  e->dir = ndirs++;
  return 1;
}

static struct entry *find(const char *name) {
  for (uint32_t i = hash(name) & mask; slots[i].name; i = (i + 1) & mask)
    if (streq(slots[i].name, name)) return &slots[i];
  return 0;
}

struct dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/*
 * Lists directory `d` once: each table entry it still holds, under the same inode, is current.
 * One listing per directory instead of a stat per library: on a shared file system that is one
 * round trip for all the libraries of a directory. A file system whose listing does not give
 * real inode numbers (some FUSE ones) is asked once per entry instead (lstat next to the listing).
 */
static void list_dir(uint32_t d) {
  dirs[d].listed = 1;
  int fd = (int)sys4(SYS_openat, AT_FDCWD, dirs[d].path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) return;
  static char buf[32768] __attribute__((aligned(8)));
  for (;;) {
    long n = sys3(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      struct dirent64 *de = (struct dirent64 *)(buf + off);
      off += de->d_reclen;
      struct entry *e = find(de->d_name);
      if (!e || e->dir != d || e->verdict) continue;
      uint64_t ino = de->d_ino;
      if (ino != e->entry_ino) {
        struct stat st;
        ino = sys4(SYS_newfstatat, fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (uint64_t)st.st_ino : 0;
      }
      e->verdict = ino == e->entry_ino ? 1 : -1;
    }
  }
  sys1(SYS_close, fd);
}

/* Up to this many entries in a directory are looked at one by one; more, and it is listed once. */
#define LIST_FROM 4

/* The directory still holds the entry the table recorded (not removed, not replaced by another file). */
static int current(struct entry *e) {
  if (!e->verdict && dirs[e->dir].entries < LIST_FROM) {
    /* A big system directory holding one or two of the table's files: one lstat beats listing it. */
    struct stat st;
    e->verdict = sys4(SYS_newfstatat, AT_FDCWD, e->path, &st, AT_SYMLINK_NOFOLLOW) == 0 && (uint64_t)st.st_ino == e->entry_ino ? 1 : -1;
  }
  if (!e->verdict && !dirs[e->dir].listed) list_dir(e->dir);
  if (!e->verdict) e->verdict = -1;
  return e->verdict > 0;
}

/* Loads the table; the reason it is not used, or 0. */
static const char *load(void) {
  const char *file = env("COMPAT_CACHE_TABLE");
  if (!file || !*file) return "no table";
  char *text = read_file(file);
  if (!text) return "table unreadable";
  uint32_t lines = count_lines(text), size = 16;
  if (lines > MAX_ENTRIES) return "table too large";
  while (size < 2 * lines) size <<= 1;
  slots = map_anon(size * sizeof *slots);
  dirs = map_anon(MAX_DIRS * sizeof *dirs);
  if (!slots || !dirs) return "out of memory";
  mask = size - 1;
  int header = 0, path_checked = 0;
  for (char *line = text, *next; *line; line = next) {
    for (next = line; *next && *next != '\n'; next++) {}
    if (*next) *next++ = 0;
    if (streq(line, "#compat-location-cache 1")) header = 1;
    else if (cstartswith(line, "#ld_library_path")) {
      const char *want = line[16] == ' ' ? line + 17 : line + 16;
      const char *have = env("LD_LIBRARY_PATH");
      if (!streq(want, have ? have : "")) return "LD_LIBRARY_PATH differs from the one the table was built for";
      path_checked = 1;
    } else if (line[0] != '#' && line[0]) {
      char *f[7];
      struct entry e = {0};
      uint64_t unused;
      if (fields(line, f, 7) != 7 || f[1][0] != '/' || !parse_u64(f[2], &unused) || !parse_u64(f[3], &unused) || !parse_u64(f[4], &unused) || !parse_u64(f[5], &unused) || !parse_u64(f[6], &e.entry_ino)) return "malformed table";
      e.name = f[0];
      e.path = f[1];
      if (!dir_of(&e) || !insert(&e)) return "malformed table";
    }
  }
  if (!header || !path_checked) return "not a compat location table";
  return 0;
}

const char *cache_answer(const char *name, unsigned int flag) {
  if (flag != LA_SER_ORIG) return name;
  if (state == 0) {
    const char *why = load();
    state = why ? -1 : 1;
    counts = stats_page();
    if (counts) {
      for (int i = 0; i < 8; i++) counts->magic[i] = "CCSTATS1"[i];
      for (size_t i = 0; why && why[i] && i < sizeof counts->off - 1; i++) counts->off[i] = why[i];
    }
  }
  if (state < 0) return name;
  for (const char *p = name; *p; p++)
    if (*p == '/') return name;
  struct entry *e = find(name);
  if (e) {
    if (!current(e)) {
      if (counts) __atomic_add_fetch(&counts->stale, 1, __ATOMIC_RELAXED);
      return name;
    }
    if (counts) __atomic_add_fetch(&counts->answered, 1, __ATOMIC_RELAXED);
    return e->path;
  }
  if (counts) __atomic_add_fetch(&counts->unknown, 1, __ATOMIC_RELAXED);
  return name;
}
