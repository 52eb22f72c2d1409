/*
 * Location cache for the glibc loader (rtld-audit(7)): answers la_objsearch's LA_SER_ORIG step
 * from a soname -> path table that `compat cache build` wrote, so the loader opens the file it
 * would have found without searching for it. The table travels in COMPAT_CACHE_TABLE.
 *
 * Never changes what gets loaded: a name not in the table, an entry whose file no longer has the
 * device, inode, size and mtime recorded, or an LD_LIBRARY_PATH other than the one the table was
 * built for all leave the name untouched, and the loader searches as it always does.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"

/* A table larger than this is refused (the cache is then off): bounds what a bad file costs. */
#define MAX_TABLE_BYTES (64u * 1024 * 1024)

struct entry {
  const char *name;
  const char *path;
  uint64_t dev, ino, size;
  int64_t mtime_ns;
};

static struct {
  int enabled;
  char *text;
  struct entry *entries;
  size_t count;
  unsigned long answered, stale, unknown;
  const char *off_reason;
} cache;

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static char *read_all(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < MAX_TABLE_BYTES) {
    buf = malloc((size_t)st.st_size + 1);
    size_t done = 0;
    while (buf && done < (size_t)st.st_size) {
      ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
      if (n <= 0) break;
      done += (size_t)n;
    }
    if (buf && done == (size_t)st.st_size) buf[done] = '\0';
    else {
      free(buf);
      buf = NULL;
    }
  }
  close(fd);
  return buf;
}

/* Splits one tab-separated line in place; returns the number of fields found. */
static int split_fields(char *line, char **fields, int max) {
  int n = 0;
  fields[n++] = line;
  for (char *p = line; *p && n < max; p++)
    if (*p == '\t') {
      *p = '\0';
      fields[n++] = p + 1;
    }
  return n;
}

/*
 * Table format (text, one entry per line, fields separated by tabs):
 *   #compat-location-cache 1
 *   #ld_library_path <the LD_LIBRARY_PATH the table was built for, may be empty>
 *   <name> <path> <dev> <ino> <size> <mtime in ns>
 */
static const char *parse_table(char *text) {
  size_t cap = 64;
  cache.entries = malloc(cap * sizeof *cache.entries);
  if (!cache.entries) return "out of memory";
  int header = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    if (strncmp(line, "#compat-location-cache 1", 24) == 0) {
      header = 1;
      continue;
    }
    if (strncmp(line, "#ld_library_path ", 17) == 0 || strcmp(line, "#ld_library_path") == 0) {
      const char *want = line[16] ? line + 17 : "";
      const char *have = getenv("LD_LIBRARY_PATH");
      if (strcmp(want, have ? have : "") != 0) return "LD_LIBRARY_PATH differs from the one the table was built for";
      continue;
    }
    if (line[0] == '#' || line[0] == '\0') continue;
    char *f[6];
    if (split_fields(line, f, 6) != 6 || f[1][0] != '/') return "malformed entry";
    if (cache.count == cap) {
      struct entry *grown = realloc(cache.entries, (cap *= 2) * sizeof *cache.entries);
      if (!grown) return "out of memory";
      cache.entries = grown;
    }
    cache.entries[cache.count++] = (struct entry){f[0], f[1], strtoull(f[2], NULL, 10), strtoull(f[3], NULL, 10), strtoull(f[4], NULL, 10), strtoll(f[5], NULL, 10)};
  }
  if (!header) return "not a compat location cache";
  qsort(cache.entries, cache.count, sizeof *cache.entries, by_name);
  return NULL;
}

void compat_cache_init(void) {
  const char *file = getenv("COMPAT_CACHE_TABLE");
  if (!file || !*file) return;
  cache.text = read_all(file);
  if (!cache.text) {
    cache.off_reason = "table unreadable";
    return;
  }
  cache.off_reason = parse_table(cache.text);
  cache.enabled = cache.off_reason == NULL;
}

/* The file is still the one the table recorded: same identity, size and modification time. */
static int still_current(const struct entry *e) {
  struct stat st;
  if (stat(e->path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  return (uint64_t)st.st_dev == e->dev && (uint64_t)st.st_ino == e->ino && (uint64_t)st.st_size == e->size && mtime == e->mtime_ns;
}

const char *compat_cache_answer(const char *name, unsigned int flag) {
  if (!cache.enabled || flag != LA_SER_ORIG || strchr(name, '/')) return name;
  struct entry key = {.name = name};
  const struct entry *e = bsearch(&key, cache.entries, cache.count, sizeof key, by_name);
  if (!e) {
    cache.unknown++;
    return name;
  }
  if (!still_current(e)) {
    cache.stale++;
    return name;
  }
  cache.answered++;
  return e->path;
}

/* One line per process, appended: the caller sums them over a job's processes. */
void compat_cache_report(void) {
  const char *file = getenv("COMPAT_CACHE_STATS");
  if (!file || !*file || !getenv("COMPAT_CACHE_TABLE")) return;
  int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  char line[512];
  int n = snprintf(line, sizeof line, "%ld\t%lu\t%lu\t%lu\t%s\n", (long)getpid(), cache.answered, cache.stale, cache.unknown, cache.off_reason ? cache.off_reason : "");
  if (n > 0) (void)!write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
  close(fd);
}
