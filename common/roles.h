/* Entry points of the child processes, called by the supervisor right after
 * fork(). Each returns the process exit code. `slot` is the process's slot in
 * the shared segment. */
#ifndef EZ_ROLES_H
#define EZ_ROLES_H

#include "config.h"

struct ez_child {
    const struct ez_config *cfg;
    int slot;
    int index;          /* worker number */
    const int *listen_fds;
    int nlisten;
};

int worker_main(const struct ez_child *c);
int syncer_main(const struct ez_child *c);
int logger_main(const struct ez_child *c);

#endif
