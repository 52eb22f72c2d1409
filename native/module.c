/* Start and end of the module in either role (LD_AUDIT namespace or LD_PRELOAD). */
#include "log.h"

/* glibc passes the initialisers (argc, argv, envp): the audit namespace has no libc of its own to ask. */
__attribute__((constructor)) static void module_start(int argc, char **argv, char **envp) {
  (void)argc;
  (void)argv;
  log_configure(envp);
}

__attribute__((destructor)) static void module_end(void) { log_finish(); }
