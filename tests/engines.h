/* What the suites that run engines of their own (Sentinels, a PostgreSQL
 * primary and standby) next to the harness's share: free ports, processes
 * that die with the test, ezapi subcommands with their output, admin
 * requests. */
#ifndef EZ_TESTS_ENGINES_H
#define EZ_TESTS_ENGINES_H

#include "harness.h"

/* A loopback port nobody listens on now. */
int eng_free_port(void);
/* Starts argv (an absolute path) with its output appended to log, as the
 * postgres user when as_postgres and running as root; it gets deathsig
 * when the test process ends. */
pid_t eng_spawn(char *const argv[], const char *log, int as_postgres, int deathsig);
/* The same, waiting for it: its exit status (128 + signal when killed). */
int eng_run(char *const argv[], const char *log, int as_postgres);
/* Gives path to the postgres user when running as root. */
void eng_give_to_postgres(const char *path);
/* `ezapi SUB -c s->conf`: the exit status; with out, stdout and stderr
 * (malloc'd, the caller frees). */
int eng_ezapi(struct ht_server *s, const char *sub, char **out);
/* An admin request to s: the status (-1 on a transport error), the body
 * as JSON in *out when out is not NULL. */
int eng_admin(struct ht_server *s, const char *method, const char *path, const char *json,
              json_t **out);

#endif
