/*
 * The rtld-audit(7) side: the loader calls these in the module's own namespace. Every search step
 * (`la_objsearch`, with its LA_SER_* flag and candidate), every object mapped (`la_objopen`, with
 * its namespace and file identity), the link map's activity, the moment before the program's
 * initialisers run (`la_preinit`) and each object's unloading go to the log. `dlopen()`ed objects
 * pass through the same callbacks as the program's own dependencies.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "cache.h"
#include "log.h"
#include "sys.h"

#define EXPORT __attribute__((visibility("default")))

/* The loader gives each object's cookie the address of its link_map until an auditor changes it. */
static const char *object_path(uintptr_t *cookie) {
  const struct link_map *map = cookie ? (const struct link_map *)*cookie : 0;
  if (!map || !map->l_name || !map->l_name[0]) return log_exe_path();
  return map->l_name;
}

EXPORT unsigned int la_version(unsigned int version) {
  struct ev e;
  if (log_enter()) {
    if (ev_begin(&e, ROLE_AUDIT, "version")) {
      ev_uint(&e, "offered", version);
      ev_uint(&e, "current", LAV_CURRENT);
      ev_commit(&e, ROLE_AUDIT);
    }
    log_leave();
  }
  /* The lower of the two: a newer loader speaks our version, an older one is answered in its own. */
  return version < LAV_CURRENT ? version : LAV_CURRENT;
}

/* What the loader should open for `name`: the location cache's answer, else the name itself. */
static char *search_answer(const char *name, unsigned int flag) { return (char *)cache_answer(name, flag); }

EXPORT char *la_objsearch(const char *name, uintptr_t *cookie, unsigned int flag) {
  /* A candidate (tens of thousands through a long LD_LIBRARY_PATH): the short form, at once. */
  if (flag != LA_SER_ORIG && log_candidate(name, flag)) return (char *)name;
  char *answer = search_answer(name, flag);
  struct ev e;
  if (log_enter()) {
    if (ev_begin(&e, ROLE_AUDIT, "search")) {
      ev_str(&e, "name", name);
      ev_uint(&e, "flag", flag);
      /* Candidates follow their name in the same thread: the requester is written once, with the name. */
      if (flag == LA_SER_ORIG) {
        ev_str(&e, "by", object_path(cookie));
        e.search = answer;
        e.orig = 1;
      }
      if (answer != name) ev_str(&e, "answer", answer ? answer : "");
      ev_commit(&e, ROLE_AUDIT);
    }
    log_leave();
  }
  return answer;
}

EXPORT unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie) {
  (void)cookie;
  struct ev e;
  if (log_enter()) {
    const char *path = map->l_name && map->l_name[0] ? map->l_name : log_exe_path();
    if (ev_begin(&e, ROLE_AUDIT, "objopen")) {
      ev_str(&e, "path", path);
      ev_int(&e, "lmid", (int64_t)lmid);
      if (!map->l_name || !map->l_name[0]) ev_uint(&e, "main", 1);
      struct stat st;
      if (sys4(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0) {
        ev_uint(&e, "dev", (uint64_t)st.st_dev);
        ev_uint(&e, "ino", (uint64_t)st.st_ino);
      }
      ev_commit(&e, ROLE_AUDIT);
    }
    log_leave();
  }
  /* No LA_FLG_BIND*: asking for symbol bindings would route every PLT call through the auditor. */
  return 0;
}

EXPORT void la_activity(uintptr_t *cookie, unsigned int flag) {
  (void)cookie;
  static const char *const names[] = {"consistent", "add", "delete"};
  struct ev e;
  if (log_enter()) {
    if (ev_begin(&e, ROLE_AUDIT, "activity")) {
      ev_str(&e, "act", flag < 3 ? names[flag] : "other");
      ev_commit(&e, ROLE_AUDIT);
    }
    log_leave();
  }
}

EXPORT void la_preinit(uintptr_t *cookie) {
  (void)cookie;
  struct ev e;
  if (log_enter()) {
    if (ev_begin(&e, ROLE_AUDIT, "preinit")) ev_commit(&e, ROLE_AUDIT);
    log_leave();
  }
}

EXPORT unsigned int la_objclose(uintptr_t *cookie) {
  struct ev e;
  if (log_enter()) {
    if (ev_begin(&e, ROLE_AUDIT, "objclose")) {
      ev_str(&e, "path", object_path(cookie));
      ev_commit(&e, ROLE_AUDIT);
    }
    log_leave();
  }
  return 0;
}
