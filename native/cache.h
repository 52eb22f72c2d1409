#ifndef COMPAT_CACHE_H
#define COMPAT_CACHE_H
/* Reads the table named by COMPAT_CACHE_TABLE (once, when the module loads). */
void compat_cache_init(void);
/* la_objsearch's answer: the table's path for a bare name at LA_SER_ORIG when still current, else `name`. */
const char *compat_cache_answer(const char *name, unsigned int flag);
/* Appends this process's counts to COMPAT_CACHE_STATS. */
void compat_cache_report(void);
#endif
