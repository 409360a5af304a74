/* The supervisor: owns the listeners, the shared segment and the queue
 * sockets, forks the children, respawns them, reloads and stops. */
#ifndef EZ_SUPERVISOR_H
#define EZ_SUPERVISOR_H

#include "config.h"

/* Runs until SIGTERM/SIGINT; takes ownership of cfg. Returns the exit code. */
int ez_supervisor_run(struct ez_config *cfg);

#endif
