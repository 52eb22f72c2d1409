#define _GNU_SOURCE
#include "log.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "sys.h"

/* Bytes mapped at a time; when a window fills, the file grows by another and the next is mapped. */
#define WINDOW (256u * 1024u)
#define DIR_MAX 3072

struct kts {
  long sec;
  long nsec;
};

/* From libc when the module is preloaded (its vDSO clock is ~20× cheaper than a system call). */
extern int libc_clock_gettime(int clock, struct kts *ts) __asm__("clock_gettime") __attribute__((weak));
extern char **libc_environ __asm__("__environ") __attribute__((weak));

/* The kernel's vDSO clock, found through the auxiliary vector when no libc is there to offer it. */
typedef int (*clock_fn)(int, struct kts *);
static clock_fn vdso_clock;

static char trace_dir[DIR_MAX];
static size_t trace_dir_len;
static char exe_path[4096];
static volatile int configured;

#define NAME_MAX_SHORT 256
#define PREV_DIR_MAX 1024

struct replay;

struct proc_log {
  int ready;
  int failed;
  int fd;
  uint32_t pos;
  uint64_t off;
  char *win;
  uint32_t lock;
  /* The search whose candidates may follow in the short form: its thread (0: none) and name. */
  int cur_tid;
  uint32_t cur_len;
  char cur_name[NAME_MAX_SHORT];
  /* The directory of the last short candidate, of either form (see put_candidate). */
  uint32_t prev_len;
  char prev_dir[PREV_DIR_MAX];
  struct replay *replay;
};

/*
 * Zeroed in a fork child (MADV_WIPEONFORK): the child then knows at its first event that it is a
 * new process, opens a log of its own and never touches the parent's mapping.
 */
struct proc_state {
  int pid;
  int ppid;
  struct proc_log logs[2];
};

static struct proc_state *state;
static int wipe_on_fork;

struct thread_cache {
  int pid;
  int tid;
  int busy;
};
static __thread struct thread_cache tcache __attribute__((tls_model("initial-exec")));

int log_enter(void) {
  if (tcache.busy) return 0;
  tcache.busy = 1;
  return 1;
}

void log_leave(void) { tcache.busy = 0; }

const char *log_exe_path(void) { return exe_path; }

static const char *env_value(char **envp, const char *key) {
  size_t n = cstrlen(key);
  for (char **e = envp; e && *e; e++)
    if (cstartswith(*e, key) && (*e)[n] == '=') return *e + n + 1;
  return 0;
}

/*
 * The vDSO's clock_gettime, by name from its dynamic symbol table (DT_HASH gives the count). The
 * auxiliary vector follows the environment on the initial stack, which is what the loader passes
 * to the module's constructor.
 */
static void find_vdso_clock(char **envp) {
  if (!envp) return;
  char **e = envp;
  while (*e) e++;
  const Elf64_auxv_t *av = (const Elf64_auxv_t *)(e + 1);
  uintptr_t base = 0;
  for (; av->a_type != AT_NULL; av++)
    if (av->a_type == AT_SYSINFO_EHDR) base = av->a_un.a_val;
  if (!base) return;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
  uintptr_t bias = 0;
  const Elf64_Dyn *dyn = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) bias = base - ph[i].p_vaddr;
    if (ph[i].p_type == PT_DYNAMIC) dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
  }
  if (!dyn) return;
  const Elf64_Sym *sym = 0;
  const char *strtab = 0;
  const uint32_t *hash = 0;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    if (dyn->d_tag == DT_SYMTAB) sym = (const Elf64_Sym *)(bias + dyn->d_un.d_ptr);
    else if (dyn->d_tag == DT_STRTAB) strtab = (const char *)(bias + dyn->d_un.d_ptr);
    else if (dyn->d_tag == DT_HASH) hash = (const uint32_t *)(bias + dyn->d_un.d_ptr);
  }
  if (!sym || !strtab || !hash) return;
#if defined(__x86_64__)
  const char *want = "__vdso_clock_gettime";
#else
  const char *want = "__kernel_clock_gettime";
#endif
  for (uint32_t i = 0; i < hash[1]; i++) {
    const char *name = strtab + sym[i].st_name;
    size_t k = 0;
    while (want[k] && name[k] == want[k]) k++;
    if (!want[k] && !name[k] && sym[i].st_value && ELF64_ST_TYPE(sym[i].st_info) == STT_FUNC) {
      vdso_clock = (clock_fn)(bias + sym[i].st_value);
      return;
    }
  }
}

void log_configure(char **envp) {
  if (__atomic_load_n(&configured, __ATOMIC_ACQUIRE)) return;
  if (envp && !&libc_clock_gettime) find_vdso_clock(envp);
  if (!envp && &libc_environ) envp = libc_environ;
  const char *dir = env_value(envp, "COMPAT_TRACE_DIR");
  size_t n = dir ? cstrlen(dir) : 0;
  if (n > 0 && n < DIR_MAX - 64) {
    void *page = (void *)sys6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((unsigned long)page < (unsigned long)-4096) {
      wipe_on_fork = sys3(SYS_madvise, page, 4096, MADV_WIPEONFORK) == 0;
      for (size_t i = 0; i < n; i++) trace_dir[i] = dir[i];
      trace_dir[n] = 0;
      trace_dir_len = n;
      long len = sys4(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", exe_path, sizeof exe_path - 1);
      exe_path[len > 0 ? len : 0] = 0;
      state = page;
    }
  }
  __atomic_store_n(&configured, 1, __ATOMIC_RELEASE);
}

static uint64_t now_ns(void) {
  struct kts ts = {0, 0};
  if (&libc_clock_gettime) libc_clock_gettime(1 /* CLOCK_MONOTONIC */, &ts);
  else if (vdso_clock) vdso_clock(1, &ts);
  else sys2(SYS_clock_gettime, 1, &ts);
  return (uint64_t)ts.sec * 1000000000u + (uint64_t)ts.nsec;
}

/* The calling process's state, refreshed after a fork (the page reads zero in the child). */
static inline __attribute__((always_inline)) struct proc_state *current(void) {
  if (!configured) log_configure(0);
  struct proc_state *s = state;
  if (!s) return 0;
  int pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
  if (pid == 0 || (!wipe_on_fork && pid != (int)sys0(SYS_getpid))) {
    if (!wipe_on_fork && pid != 0) {
      /* No MADV_WIPEONFORK (kernel < 4.14): forget the parent's logs by hand. */
      for (int r = 0; r < 2; r++) s->logs[r] = (struct proc_log){0};
    }
    s->ppid = (int)sys0(SYS_getppid);
    __atomic_store_n(&s->pid, (int)sys0(SYS_getpid), __ATOMIC_RELEASE);
  }
  return s;
}

static void put(struct ev *e, const char *s, size_t n) {
  if ((size_t)(e->end - e->p) < n) {
    e->overflow = 1;
    return;
  }
  for (size_t i = 0; i < n; i++) e->p[i] = s[i];
  e->p += n;
}

static void put_c(struct ev *e, const char *s) { put(e, s, cstrlen(s)); }

static void put_u(struct ev *e, uint64_t v) {
  char tmp[24];
  int i = 24;
  do tmp[--i] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  put(e, tmp + i, (size_t)(24 - i));
}

/* A JSON string; a value too long for the event is cut and the event marked `"cut":1`. */
static void put_json(struct ev *e, const char *s) {
  static const char hex[] = "0123456789abcdef";
  put(e, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((size_t)(e->end - e->p) < 16) {
      e->overflow = 1;
      break;
    }
    if (c == '"' || c == '\\') {
      *e->p++ = '\\';
      *e->p++ = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      put(e, u, 6);
    } else *e->p++ = (char)c;
  }
  *e->p++ = '"';
}

/* This thread's id, asked of the kernel once per thread and process. */
static inline __attribute__((always_inline)) int thread_id(struct proc_state *s) {
  if (tcache.pid != s->pid) {
    tcache.tid = (int)sys0(SYS_gettid);
    tcache.pid = s->pid;
  }
  return tcache.tid;
}

int ev_begin(struct ev *e, enum log_role role, const char *name) {
  (void)role;
  struct proc_state *s = current();
  if (!s) return 0;
  thread_id(s);
  e->p = e->buf;
  e->end = e->buf + sizeof e->buf - 16;
  e->overflow = 0;
  e->search = 0;
  e->orig = 0;
  put_c(e, "{\"ts\":");
  put_u(e, now_ns());
  put_c(e, ",\"pid\":");
  put_u(e, (uint64_t)s->pid);
  put_c(e, ",\"tid\":");
  put_u(e, (uint64_t)tcache.tid);
  put_c(e, ",\"ev\":\"");
  put_c(e, name);
  put_c(e, "\"");
  return 1;
}

void ev_str(struct ev *e, const char *key, const char *value) {
  put_c(e, ",\"");
  put_c(e, key);
  put_c(e, "\":");
  put_json(e, value ? value : "");
}

void ev_int(struct ev *e, const char *key, int64_t value) {
  put_c(e, ",\"");
  put_c(e, key);
  put_c(e, "\":");
  if (value < 0) {
    put(e, "-", 1);
    put_u(e, (uint64_t)(-(value + 1)) + 1);
  } else put_u(e, (uint64_t)value);
}

void ev_uint(struct ev *e, const char *key, uint64_t value) {
  put_c(e, ",\"");
  put_c(e, key);
  put_c(e, "\":");
  put_u(e, value);
}

static inline void lock(uint32_t *l) {
  while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) sys0(SYS_sched_yield);
}

static inline void unlock(uint32_t *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

static int map_window(struct proc_log *lg, uint64_t off) {
  if (sys2(SYS_ftruncate, lg->fd, off + WINDOW) != 0) return -1;
  long p = sys6(SYS_mmap, 0, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, lg->fd, off);
  if ((unsigned long)p >= (unsigned long)-4096) return -1;
  /* A fork child must not inherit the parent's window: it could write into the parent's log. */
  sys3(SYS_madvise, p, WINDOW, MADV_DONTFORK);
  if (lg->win) sys2(SYS_munmap, lg->win, WINDOW);
  lg->win = (char *)p;
  lg->off = off;
  lg->pos = 0;
  return 0;
}

static void append(struct proc_log *lg, const char *data, size_t n) {
  while (n > 0 && !lg->failed) {
    size_t room = WINDOW - lg->pos;
    size_t k = n < room ? n : room;
    for (size_t i = 0; i < k; i++) lg->win[lg->pos + i] = data[i];
    lg->pos += (uint32_t)k;
    data += k;
    n -= k;
    if (lg->pos == WINDOW && map_window(lg, lg->off + WINDOW) != 0) lg->failed = 1;
  }
}

/* `<dir>/<pid>.<n>.<role>.jsonl`, n counting the program images this pid ran (exec keeps the pid). */
static int open_log(struct proc_state *s, enum log_role role) {
  char path[DIR_MAX + 64];
  struct ev name;
  for (int n = 0; n < 64; n++) {
    name.p = path;
    name.end = path + sizeof path - 1;
    name.overflow = 0;
    put(&name, trace_dir, trace_dir_len);
    put_c(&name, "/");
    put_u(&name, (uint64_t)s->pid);
    put_c(&name, ".");
    put_u(&name, (uint64_t)n);
    put_c(&name, role == ROLE_AUDIT ? ".audit.jsonl" : ".files.jsonl");
    *name.p = 0;
    long fd = sys4(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return (int)fd;
    if (fd != -17 /* EEXIST */) return -1;
  }
  return -1;
}

static void start_log(struct proc_state *s, struct proc_log *lg, enum log_role role) {
  lg->ready = 1;
  int fd = open_log(s, role);
  if (fd < 0) {
    lg->failed = 1;
    return;
  }
  lg->fd = fd;
  if (map_window(lg, 0) != 0) {
    lg->failed = 1;
    return;
  }
  struct ev e;
  if (!ev_begin(&e, role, "start")) return;
  ev_uint(&e, "ppid", (uint64_t)s->ppid);
  ev_str(&e, "exe", exe_path);
  ev_str(&e, "role", role == ROLE_AUDIT ? "audit" : "files");
  put_c(&e, "}\n");
  append(lg, e.buf, (size_t)(e.p - e.buf));
}

/* After a search event of this thread (`name` set) its candidates may be short; after any other event not. */
static void set_search(struct proc_log *lg, const char *name) {
  lg->cur_tid = 0;
  if (!name) return;
  size_t n = cstrlen(name);
  if (n == 0 || n >= NAME_MAX_SHORT) return;
  for (size_t i = 0; i < n; i++) lg->cur_name[i] = name[i];
  lg->cur_len = (uint32_t)n;
  lg->cur_tid = tcache.tid;
}

static inline uint64_t load8(const char *p) {
  uint64_t w;
  __builtin_memcpy(&w, p, 8);
  return w;
}

/* strlen a word at a time: aligned eight-byte reads never cross into an unmapped page. */
static size_t word_strlen(const char *s) {
  const char *p = s;
  for (; (uintptr_t)p & 7; p++)
    if (!*p) return (size_t)(p - s);
  for (;; p += 8) {
    uint64_t w = load8(p);
    if ((w - 0x0101010101010101ull) & ~w & 0x8080808080808080ull) break;
  }
  while (*p) p++;
  return (size_t)(p - s);
}

static inline int same_bytes(const char *a, const char *b, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    if (load8(a + i) != load8(b + i)) return 0;
  for (; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

/* How many leading bytes a and b share (both at least n long), backed off to a UTF-8 boundary. */
static size_t shared_head(const char *a, const char *b, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x = load8(a + i) ^ load8(b + i);
    if (x) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      i += (size_t)__builtin_ctzll(x) >> 3;
#else
      i += (size_t)__builtin_clzll(x) >> 3;
#endif
      goto found;
    }
  }
  while (i < n && a[i] == b[i]) i++;
found:
  while (i > 0 && i < n && ((unsigned char)b[i] & 0xc0) == 0x80) i--;
  return i;
}

/* n bytes from b to a, eight at a time (the last eight overlapping when n is no multiple). */
static inline void copy_bytes(char *a, const char *b, size_t n) {
  if (n < 8) {
    for (size_t i = 0; i < n; i++) a[i] = b[i];
    return;
  }
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w = load8(b + i);
    __builtin_memcpy(a + i, &w, 8);
  }
  if (i < n) {
    uint64_t w = load8(b + n - 8);
    __builtin_memcpy(a + n - 8, &w, 8);
  }
}

static size_t format_u(char *out, uint64_t v) {
  char tmp[24];
  size_t i = 24;
  do tmp[--i] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  for (size_t k = i; k < 24; k++) out[k - i] = tmp[k];
  return 24 - i;
}

/* format_u for the small numbers of a candidate line (an LA_SER_* flag, a length under 1024). */
static size_t format_small(char *out, uint32_t v) {
  if (v < 10) {
    out[0] = (char)('0' + v);
    return 1;
  }
  if (v < 100) {
    out[0] = (char)('0' + v / 10);
    out[1] = (char)('0' + v % 10);
    return 2;
  }
  if (v < 1000) {
    out[0] = (char)('0' + v / 100);
    out[1] = (char)('0' + v / 10 % 10);
    out[2] = (char)('0' + v % 10);
    return 3;
  }
  return format_u(out, v);
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Some byte of w is below 0x20, 0x7f, '"' or '\\' (bytes of 0x80 and up never count). */
static inline int needs_escape(uint64_t w) {
  uint64_t low = (w - ONES * 0x20) & ~w;
  uint64_t del = w ^ (ONES * 0x7f);
  uint64_t quote = w ^ (ONES * '"');
  uint64_t slash = w ^ (ONES * '\\');
  uint64_t zero = ((del - ONES) & ~del) | ((quote - ONES) & ~quote) | ((slash - ONES) & ~slash);
  return ((low | zero) & HIGHS) != 0;
}

/* `[FLAG,KEEP,"` REST `"]\n` into `out` (room for 32 + 6 bytes per byte of REST); its length. */
static size_t format_candidate(char *out, unsigned int flag, size_t keep, const char *rest, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  out[k++] = '[';
  k += format_small(out + k, flag);
  out[k++] = ',';
  k += format_small(out + k, (uint32_t)keep);
  out[k++] = ',';
  out[k++] = '"';
  size_t i = 0;
  /* Eight bytes at a time while none needs escaping (no control byte, DEL, quote or backslash). */
  for (; i + 8 <= n; i += 8) {
    uint64_t w = load8(rest + i);
    if (needs_escape(w)) break;
    __builtin_memcpy(out + k, &w, 8);
    k += 8;
  }
  for (; i < n; i++) {
    unsigned char c = (unsigned char)rest[i];
    if (c == '"' || c == '\\') {
      out[k++] = '\\';
      out[k++] = (char)c;
    } else if (c < 0x20 || c == 0x7f) {
      out[k++] = '\\';
      out[k++] = 'u';
      out[k++] = '0';
      out[k++] = '0';
      out[k++] = hex[c >> 4];
      out[k++] = hex[c & 15];
    } else out[k++] = (char)c;
  }
  out[k++] = '"';
  out[k++] = ']';
  out[k++] = '\n';
  return k;
}

/*
 * The `[0,N]` form. The candidates of the current search and of the previous one are kept as
 * (flag, directory) sequences; a candidate equal to the previous search's at the same place is
 * counted instead of written. A search path is tried the same way for every name, so after the
 * first search or two nearly every candidate is counted: a comparison with memory read in order
 * and a digit changed in the log.
 */
#define SEQ_MAX 65536u
#define SEQ_ARENA (4u << 20)
#define REPLAY_LINE "[0,       1]\n"
#define REPLAY_LEN 13
#define REPLAY_MAX 99999999u

/* A candidate of a sequence: its directory is the first `keep` bytes of the one before it in the
   sequence (0 for the first) and `len` bytes kept at `off` in the arena. */
struct seq_entry {
  uint32_t off;
  uint16_t keep;
  uint16_t len;
  uint32_t flag;
};

struct replay {
  struct seq_entry *ref;
  struct seq_entry *cur;
  uint32_t ref_len;
  uint32_t cur_len;
  uint32_t used;
  /* The arena or a sequence ran out: no more `[0,N]` lines in this log. */
  int full;
  /* Every candidate of this search so far repeated the last search's: prev_dir is ref[cur_len - 1]'s. */
  int in_step;
  /* The open `[0,N]` line: the log's length just after it (0: none), its last digit, its N. */
  uint64_t line_end;
  char *digit;
  uint32_t count;
  struct seq_entry seq[2][SEQ_MAX];
  char arena[SEQ_ARENA];
  char slack[8]; /* starts_with reads whole words */
};

static struct replay *replay_of(struct proc_log *lg) {
  if (!lg->replay) {
    long p = sys6(SYS_mmap, 0, sizeof(struct replay), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if ((unsigned long)p >= (unsigned long)-4096) return 0;
    /* A fork child starts its own log from nothing (current() forgets this pointer). */
    sys3(SYS_madvise, p, sizeof(struct replay), MADV_DONTFORK);
    struct replay *rp = (struct replay *)p;
    rp->ref = rp->seq[0];
    rp->cur = rp->seq[1];
    rp->in_step = 1;
    lg->replay = rp;
  }
  return lg->replay;
}

/* A search for a name begins: the last search's sequence, if it tried anything, is the one to repeat. */
static void new_search(struct proc_log *lg) {
  struct replay *rp = lg->replay;
  if (!rp) return;
  rp->in_step = 1;
  if (rp->cur_len == 0) return;
  struct seq_entry *t = rp->ref;
  rp->ref = rp->cur;
  rp->ref_len = rp->cur_len;
  rp->cur = t;
  rp->cur_len = 0;
}

/* The decimal count in place, one more: "      19" becomes "      20". */
static inline __attribute__((always_inline)) void count_up(char *last) {
  for (char *d = last;; d--) {
    if (*d == ' ') {
      *d = '1';
      return;
    }
    if (*d < '9') {
      (*d)++;
      return;
    }
    *d = '0';
  }
}

static inline __attribute__((always_inline)) void count_candidate(struct proc_log *lg, struct replay *rp) {
  if (rp->line_end != 0 && rp->line_end == lg->off + lg->pos && rp->count < REPLAY_MAX) {
    count_up(rp->digit);
    rp->count++;
    return;
  }
  /* Counted in place only while the line lies whole in the mapped window and nothing follows it. */
  if (WINDOW - lg->pos > REPLAY_LEN) {
    char *w = lg->win + lg->pos;
    for (size_t i = 0; i < REPLAY_LEN; i++) w[i] = REPLAY_LINE[i];
    rp->digit = w + REPLAY_LEN - 3;
    lg->pos += REPLAY_LEN;
    rp->line_end = lg->off + lg->pos;
  } else {
    append(lg, REPLAY_LINE, REPLAY_LEN);
    rp->line_end = 0;
  }
  rp->count = 1;
}

/*
 * Whether the string `s` begins with the n bytes of `m` (which hold no NUL, and are followed by at
 * least 7 readable bytes). Reads of `s` are aligned eight-byte words, so none crosses into a page
 * beyond its end, even when s is shorter (its NUL differs from m and ends the comparison).
 */
static inline int starts_with(const char *s, const char *m, size_t n) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* The aligned word holding s[0] first (its bytes before s shifted out), then whole aligned words;
     the last word's bytes past n are masked off. */
  size_t mis = (uintptr_t)s & 7;
  const char *a = s - mis;
  uint64_t x = (load8(a) >> (8 * mis)) ^ load8(m);
  size_t i = 8 - mis;
  if (n <= i) return (n == 8 ? x : x & ((1ull << (8 * n)) - 1)) == 0;
  if (mis ? (x & ((1ull << (8 * i)) - 1)) : x) return 0;
  for (; i + 8 <= n; i += 8)
    if (load8(s + i) != load8(m + i)) return 0;
  if (i == n) return 1;
  return ((load8(s + i) ^ load8(m + i)) & ((1ull << (8 * (n - i))) - 1)) == 0;
#else
  for (size_t i = 0; i < n; i++)
    if (s[i] != m[i]) return 0;
  return 1;
#endif
}

/*
 * The common case first, without measuring the candidate: it is DIR/NAME with the directory the
 * last search tried at this place (its head the previous candidate's, its rest in the arena),
 * under the same flag. Then it is counted, and prev_dir follows it.
 */
static inline int replay_fast(struct proc_log *lg, const char *path, unsigned int flag) {
  struct replay *rp = lg->replay;
  if (!rp || rp->full || !rp->in_step) return 0;
  uint32_t at = rp->cur_len;
  if (at >= rp->ref_len || at >= SEQ_MAX) return 0;
  const struct seq_entry *r = &rp->ref[at];
  size_t keep = r->keep, dl = keep + r->len, nl = lg->cur_len;
  const char *rest = rp->arena + r->off;
  if (r->flag != flag || keep > lg->prev_len || !starts_with(path, lg->prev_dir, keep) || !starts_with(path + keep, rest, r->len) || path[dl] != '/' ||
      !starts_with(path + dl + 1, lg->cur_name, nl) || path[dl + 1 + nl] != 0)
    return 0;
  rp->cur[at] = *r;
  rp->cur_len = at + 1;
  copy_bytes(lg->prev_dir + keep, rest, r->len);
  lg->prev_len = (uint32_t)dl;
  count_candidate(lg, rp);
  return 1;
}

/*
 * A candidate written in full: noted in the sequence (front-coded like its line, the first of a
 * search whole), and the search is out of step with the last one from here on.
 */
static void note_candidate(struct proc_log *lg, const char *dir, size_t keep, size_t n, unsigned int flag) {
  struct replay *rp = replay_of(lg);
  if (!rp || rp->full) return;
  uint32_t at = rp->cur_len;
  if (at == 0) keep = 0;
  if (at >= SEQ_MAX || rp->used + (n - keep) > SEQ_ARENA) {
    rp->full = 1;
    return;
  }
  copy_bytes(rp->arena + rp->used, dir + keep, n - keep);
  rp->cur[at] = (struct seq_entry){rp->used, (uint16_t)keep, (uint16_t)(n - keep), flag};
  rp->cur_len = at + 1;
  rp->used += (uint32_t)(n - keep);
  rp->in_step = 0;
}

#define SHORT_REST 64
#define SHORT_LINE (32 + 6 * SHORT_REST)
/* (a longer rest is formatted on the stack and appended) */

/*
 * `[FLAG,KEEP,"REST"]` when `path` is DIR/NAME of the current search: DIR is the first KEEP bytes
 * of the directory of the log's last short candidate, then REST. A search path's directories
 * share their heads, so REST is a few bytes, and nothing is looked up: the last directory is hot.
 * The line is written straight into the log's window when it has room.
 */
static int put_candidate(struct proc_log *lg, const char *path, unsigned int flag) {
  if (replay_fast(lg, path, flag)) return 1;
  size_t n = word_strlen(path);
  size_t nl = lg->cur_len;
  if (n < nl + 1 || n - nl - 1 >= PREV_DIR_MAX) return 0;
  size_t dl = n - nl - 1;
  if (path[dl] != '/' || !same_bytes(path + dl + 1, lg->cur_name, nl)) return 0;
  size_t keep = shared_head(lg->prev_dir, path, dl < lg->prev_len ? dl : lg->prev_len);
  if (dl - keep <= SHORT_REST && WINDOW - lg->pos >= SHORT_LINE) lg->pos += (uint32_t)format_candidate(lg->win + lg->pos, flag, keep, path + keep, dl - keep);
  else {
    char line[32 + 6 * PREV_DIR_MAX];
    append(lg, line, format_candidate(line, flag, keep, path + keep, dl - keep));
  }
  note_candidate(lg, path, keep, dl, flag);
  copy_bytes(lg->prev_dir + keep, path + keep, dl - keep);
  lg->prev_len = (uint32_t)dl;
  return 1;
}

int log_candidate(const char *path, unsigned int flag) {
  /* Inside one of the module's own hooks: nothing is recorded, as log_enter() would say. */
  if (tcache.busy) return 1;
  struct proc_state *s = current();
  if (!s) return 1;
  int tid = thread_id(s);
  struct proc_log *lg = &s->logs[ROLE_AUDIT];
  lock(&lg->lock);
  int done = lg->cur_tid == tid && !lg->failed && put_candidate(lg, path, flag);
  unlock(&lg->lock);
  return done;
}

void ev_commit(struct ev *e, enum log_role role) {
  struct proc_state *s = current();
  if (!s) return;
  e->end += 16;
  if (e->overflow) put_c(e, ",\"cut\":1");
  put_c(e, "}\n");
  struct proc_log *lg = &s->logs[role];
  lock(&lg->lock);
  if (!lg->ready) start_log(s, lg, role);
  if (!lg->failed) append(lg, e->buf, (size_t)(e->p - e->buf));
  if (role == ROLE_AUDIT) {
    if (e->orig) new_search(lg);
    set_search(lg, e->search);
  }
  unlock(&lg->lock);
}

void log_finish(void) {
  struct proc_state *s = state;
  if (!s || s->pid != (int)sys0(SYS_getpid)) return;
  for (int r = 0; r < 2; r++) {
    struct proc_log *lg = &s->logs[r];
    lock(&lg->lock);
    if (lg->ready && !lg->failed && lg->win) {
      sys2(SYS_ftruncate, lg->fd, lg->off + lg->pos);
      sys2(SYS_munmap, lg->win, WINDOW);
      sys1(SYS_close, lg->fd);
      lg->win = 0;
      lg->failed = 1; /* anything after this (a late destructor's open) is not recorded */
    }
    unlock(&lg->lock);
  }
}

/* Freestanding: the compiler may still emit calls to these for copies and clears. */
__attribute__((visibility("hidden"))) void *memcpy(void *d, const void *s, size_t n) {
  char *dp = d;
  const char *sp = s;
  while (n--) *dp++ = *sp++;
  return d;
}

__attribute__((visibility("hidden"))) void *memset(void *d, int c, size_t n) {
  char *dp = d;
  while (n--) *dp++ = (char)c;
  return d;
}
