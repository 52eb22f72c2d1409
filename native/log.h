/*
 * The per-process event log. Each process (and each program image an exec starts in it) writes its
 * own file, `$COMPAT_TRACE_DIR/<pid>.<n>.<role>.jsonl`, one JSON value per line: an event object,
 * or, in the audit log, one of two short forms for the loader's candidates (a search through a
 * long LD_LIBRARY_PATH tries tens of thousands), which belong to the search event before them
 * (NAME: what it asks for; their stamp, pid and tid are its own):
 *   `[FLAG,KEEP,"REST"]`  the candidate DIR/NAME tried with that LA_SER_* flag, DIR being the first
 *                         KEEP bytes of the previous short candidate's directory (of either
 *                         form) followed by REST;
 *   `[0,N]`               the next N candidates are those the previous search tried at the same
 *                         places in its sequence (flag and directory), with this NAME; N is
 *                         counted up in place as they come (a search repeats the last one's path).
 * src/trace/module-log.ts expands them; `compat record` writes whole events. Events go into a
 * shared file mapping, so recording costs no write() per event, the data survives an exec or a
 * kill, and the file is cut to its length at exit (a killed process leaves NUL padding, which
 * readers skip). The log is switched off when COMPAT_TRACE_DIR is unset: the same module can then
 * serve other purposes (the location cache) without recording anything.
 */
#ifndef COMPAT_LOG_H
#define COMPAT_LOG_H

#include <stdint.h>

/* The loader's callbacks run in the audit namespace's copy, the interposers in the preload's. */
enum log_role { ROLE_AUDIT = 0, ROLE_FILES = 1 };

#define EV_BUF 6144

struct ev {
  char *p;
  char *end;
  int overflow;
  /* Set on a search event: the name whose candidates may follow in the short form. */
  const char *search;
  /* Set on a search event for a name (LA_SER_ORIG): a new search begins. */
  int orig;
  char buf[EV_BUF];
};

/* Reads COMPAT_TRACE_DIR from `envp` (or the process environment when null); idempotent. */
void log_configure(char **envp);
/* The executable's path, as /proc/self/exe names it (empty if unknown). */
const char *log_exe_path(void);

/* Thread-local re-entrancy guard: a hook that finds it set passes straight through. */
int log_enter(void);
void log_leave(void);

/* Starts an event of this process's `role` log; 0 when recording is off. */
int ev_begin(struct ev *e, enum log_role role, const char *name);
void ev_str(struct ev *e, const char *key, const char *value);
void ev_int(struct ev *e, const char *key, int64_t value);
void ev_uint(struct ev *e, const char *key, uint64_t value);
void ev_commit(struct ev *e, enum log_role role);

/*
 * Writes a candidate of the search just committed by this thread in the short form: 1 when done
 * (or when nothing is recorded), 0 when the caller must write it as a whole event (another event
 * came between, or the candidate is not DIR/NAME).
 */
int log_candidate(const char *path, unsigned int flag);

/* Cuts each log to its length (the destructor). */
void log_finish(void);

#endif
