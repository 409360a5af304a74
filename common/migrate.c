/* Applies the embedded migrations (ez_migrations[], generated from
 * migrations/NNN_*.sql) in order, each in its own transaction, under a
 * session advisory lock so that instances starting together apply each one
 * once. It never edits or skips a migration already recorded. */
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* pg_advisory_lock key: "ezapimig" in ASCII, i.e. pg_locks shows classid
 * 1702519152 (0x657a6170) and objid 1768778087 (0x696d6967). */
#define EZ_MIGRATE_LOCK_KEY 0x657a6170696d6967LL

#define EZ_MIGRATE_TABLE_SQL                \
    "CREATE TABLE schema_migrations ("     \
    " version integer PRIMARY KEY,"        \
    " name text NOT NULL,"                 \
    " applied_at timestamptz NOT NULL DEFAULT now())"

/* PostgreSQL's primary message of a failed result (or of the connection when
 * there is no result), without the trailing newline. */
static void pg_message(PGconn *conn, const PGresult *res, char *buf, size_t len)
{
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(conn);
    snprintf(buf, len, "%s", msg && *msg ? msg : "unknown error");
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
}

/* Runs sql on conn (no transparent reconnect: the lock belongs to this
 * session). 0 when it succeeded, else -1 with the failure logged as "what". */
static int run(PGconn *conn, const char *what, const char *sql, int nparams,
               const char *const *params, PGresult **out)
{
    PGresult *res = nparams > 0
                        ? PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
                        : PQexec(conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return 0;
    }
    char msg[512];
    pg_message(conn, res, msg, sizeof msg);
    log_error("migrate: %s failed: %s (SQLSTATE %s)", what, msg,
              res ? ez_db_sqlstate(res) : "");
    PQclear(res);
    return -1;
}

/* Line of the migration file at 1-based character position pos, for
 * pointing at the failing statement. */
static int line_of(const char *sql, long pos)
{
    int line = 1;
    long chars = 0;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue; /* UTF-8 continuation byte: same character */
        if (++chars >= pos)
            break;
        if (*p == '\n')
            line++;
    }
    return line;
}

/* Applies one migration in its own transaction. 0, or -1 (logged and rolled
 * back). */
static int apply(PGconn *conn, const struct ez_migration *m)
{
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    if (run(conn, "BEGIN", "BEGIN", 0, NULL, NULL) != 0)
        return -1;

    PGresult *res = PQexec(conn, m->sql);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        char msg[512];
        pg_message(conn, res, msg, sizeof msg);
        const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
        if (pos)
            log_error("migrate: migration %d (%s) failed at line %d: %s (SQLSTATE %s)",
                      m->version, m->name, line_of(m->sql, atol(pos)), msg,
                      ez_db_sqlstate(res));
        else
            log_error("migrate: migration %d (%s) failed: %s (SQLSTATE %s)", m->version,
                      m->name, msg, res ? ez_db_sqlstate(res) : "");
        PQclear(res);
        (void)run(conn, "ROLLBACK", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    PQclear(res);

    const char *params[2] = { version, m->name };
    if (run(conn, "recording the migration",
            "INSERT INTO schema_migrations (version, name) VALUES ($1::integer, $2)", 2,
            params, NULL) != 0 ||
        run(conn, "COMMIT", "COMMIT", 0, NULL, NULL) != 0) {
        log_error("migrate: migration %d (%s) not applied", m->version, m->name);
        (void)run(conn, "ROLLBACK", "ROLLBACK", 0, NULL, NULL);
        return -1;
    }
    log_info("migrate: applied migration %d (%s)", m->version, m->name);
    return 0;
}

/* 1 when version is recorded, 0 when not, -1 on error. */
static int recorded(PGconn *conn, int version)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *params[1] = { v };
    PGresult *res = NULL;
    if (run(conn, "reading schema_migrations",
            "SELECT 1 FROM schema_migrations WHERE version = $1::integer", 1, params,
            &res) != 0)
        return -1;
    int found = PQntuples(res) > 0;
    PQclear(res);
    return found;
}

/* Everything done while holding the lock. */
static int apply_pending(PGconn *conn)
{
    /* Checked first rather than CREATE ... IF NOT EXISTS, whose notice
     * would be printed at every start. The lock makes this race-free. */
    PGresult *res = NULL;
    if (run(conn, "looking for schema_migrations",
            "SELECT to_regclass('schema_migrations') IS NULL", 0, NULL, &res) != 0)
        return -1;
    int missing = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (missing &&
        run(conn, "creating schema_migrations", EZ_MIGRATE_TABLE_SQL, 0, NULL, NULL) != 0)
        return -1;

    int applied = 0;
    for (int i = 0; i < ez_migrations_count; i++) {
        const struct ez_migration *m = &ez_migrations[i];
        if (m->version <= 0 || (i > 0 && m->version <= ez_migrations[i - 1].version)) {
            log_error("migrate: migration %s has version %d, not above the previous one",
                      m->name, m->version);
            return -1;
        }
        int done = recorded(conn, m->version);
        if (done < 0)
            return -1;
        if (done)
            continue;
        if (apply(conn, m) != 0)
            return -1;
        applied++;
    }

    /* A newer instance may already have migrated further (rolling upgrade):
     * say so, but do not refuse to run. */
    if (run(conn, "reading schema_migrations",
            "SELECT coalesce(max(version), 0) FROM schema_migrations", 0, NULL, &res) == 0) {
        int newest = atoi(PQgetvalue(res, 0, 0));
        int known = ez_migrations_count > 0 ? ez_migrations[ez_migrations_count - 1].version : 0;
        if (newest > known)
            log_warn("migrate: database has migration %d, this binary knows up to %d",
                     newest, known);
        PQclear(res);
    }
    return applied;
}

int ez_migrate(struct ez_db *db)
{
    /* The first statement connects (through the helper, which may reconnect);
     * it also keeps the session's statement_timeout to restore at the end,
     * since waiting for the lock and migrating must not be cut short. */
    PGresult *res = NULL;
    int rc = ez_db_exec(db, &res, "SELECT current_setting('statement_timeout')", 0, NULL);
    if (rc != EZ_DB_OK || !res || PQntuples(res) != 1) {
        const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        log_error("migrate: cannot query the database: %s (SQLSTATE %s)",
                  msg ? msg : rc == EZ_DB_UNAVAILABLE ? "unavailable" : "error",
                  res ? ez_db_sqlstate(res) : "");
        PQclear(res);
        return -1;
    }
    char timeout[64];
    snprintf(timeout, sizeof timeout, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    /* From here on one session, used directly: the advisory lock belongs to
     * it, so a reconnect must fail the run rather than continue unlocked. */
    PGconn *conn = ez_db_conn(db);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        log_error("migrate: no database connection");
        return -1;
    }
    char key[24];
    snprintf(key, sizeof key, "%lld", EZ_MIGRATE_LOCK_KEY);
    const char *lock[1] = { key };
    if (run(conn, "disabling statement_timeout",
            "SELECT set_config('statement_timeout', '0', false)", 0, NULL, NULL) != 0)
        return -1;
    int applied = -1;
    if (run(conn, "pg_advisory_lock", "SELECT pg_advisory_lock($1::bigint)", 1, lock,
            NULL) == 0) {
        applied = apply_pending(conn);
        PGresult *un = NULL;
        if (run(conn, "pg_advisory_unlock", "SELECT pg_advisory_unlock($1::bigint)", 1, lock,
                &un) == 0) {
            if (strcmp(PQgetvalue(un, 0, 0), "t") != 0)
                log_warn("migrate: advisory lock was not held at unlock");
            PQclear(un);
        }
    }
    const char *restore[1] = { timeout };
    if (PQstatus(conn) == CONNECTION_OK)
        (void)run(conn, "restoring statement_timeout",
                  "SELECT set_config('statement_timeout', $1, false)", 1, restore, NULL);
    return applied;
}
