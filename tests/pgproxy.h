/* A PostgreSQL wire-protocol proxy for tests of connections lost at the
 * worst moment: between ezapi and the test's PostgreSQL, it forwards every
 * message, and when armed it cuts one worker connection (application_name
 * ezapi-worker) either just before forwarding the server's answer to a
 * COMMIT (the transaction committed, the worker never learns it) or just
 * before forwarding the worker's COMMIT (the server rolls back, the worker
 * never learns it). It dies with the test process. */
#ifndef EZ_TESTS_PGPROXY_H
#define EZ_TESTS_PGPROXY_H

#include <sys/types.h>

enum h_cut { H_CUT_COMMIT_REPLY, H_CUT_COMMIT_REQUEST };

struct h_pgproxy {
    pid_t pid;
    int port;
    char dir[256];  /* arming and reporting files */
    char dsn[512];  /* libpq connection string through the proxy */
};

/* Forks the proxy in front of the harness's PostgreSQL; aborts the test
 * when it cannot. */
void h_pgproxy_start(struct h_pgproxy *p);
void h_pgproxy_stop(struct h_pgproxy *p);
/* Arms one cut of the next worker COMMIT of that kind. */
void h_pgproxy_arm(struct h_pgproxy *p, enum h_cut kind);
/* How many cuts the proxy has made so far. */
int h_pgproxy_cuts(struct h_pgproxy *p);

#endif
