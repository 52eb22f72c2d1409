/*
 * The location cache (`compat run --cache`): la_objsearch's LA_SER_ORIG step answered from the
 * soname -> path table named by COMPAT_CACHE_TABLE, so the loader opens the file it would have
 * found without walking its search path.
 */
#ifndef COMPAT_CACHE_H
#define COMPAT_CACHE_H

/* Keeps the process's initial environment (the module's constructor gets it from the loader). */
void cache_set_env(char **envp);
/* The table's path for a bare `name` at LA_SER_ORIG when its file is unchanged; else `name`. */
const char *cache_answer(const char *name, unsigned int flag);

#endif
