/* The rtld-audit entry points for the location cache alone (the recorder adds its own). */
#define _GNU_SOURCE
#include <link.h>
#include <stdint.h>

#include "cache.h"

unsigned int la_version(unsigned int version) {
  compat_cache_init();
  return version < LAV_CURRENT ? version : LAV_CURRENT;
}

/* la_objsearch is only called for requests from objects that asked for LA_FLG_BINDFROM. */
unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie) {
  (void)map;
  (void)cookie;
  return lmid == LM_ID_BASE ? LA_FLG_BINDFROM : 0;
}

char *la_objsearch(const char *name, uintptr_t *cookie, unsigned int flag) {
  (void)cookie;
  return (char *)compat_cache_answer(name, flag);
}

__attribute__((destructor)) static void report(void) { compat_cache_report(); }
