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

enum ht_cut { HT_CUT_COMMIT_REPLY, HT_CUT_COMMIT_REQUEST };

struct ht_pgproxy {
    pid_t pid;
    int port;
    char dir[256];  /* arming and reporting files */
    char dsn[512];  /* libpq connection string through the proxy */
};

/* Forks the proxy in front of the harness's PostgreSQL; aborts the test
 * when it cannot. */
void ht_pgproxy_start(struct ht_pgproxy *p);
void ht_pgproxy_stop(struct ht_pgproxy *p);
/* Arms one cut of the next worker COMMIT of that kind. */
void ht_pgproxy_arm(struct ht_pgproxy *p, enum ht_cut kind);
/* How many cuts the proxy has made so far. */
int ht_pgproxy_cuts(struct ht_pgproxy *p);

#endif
