/* Command line of ezapi: run the server, check a config or print it with
 * the source of each value, print the version, apply migrations, mint an
 * admin token, verify Redis. Every check of the config is ez_config_load's,
 * so -t refuses exactly what the server and a reload refuse. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "export.h"
#include "import.h"
#include "litellm.h"
#include "store_import.h"
#include "jwt.h"
#include "legacy.h"
#include "log.h"
#include "migrate.h"
#include "proctitle.h"
#include "rekey.h"
#include "redis.h"
#include "verify.h"
#include "master/supervisor.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/ezapi/ezapi.conf"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ezapi [-c FILE]                 run the server\n"
            "       ezapi -t [-c FILE]              check the config (exit 0, or 78)\n"
            "       ezapi -T [-c FILE]              check it and print the effective config,\n"
            "                                       each value with its source, secrets masked\n"
            "       ezapi -v, --version             print the version\n"
            "       ezapi -h, --help                print this help\n"
            "       ezapi migrate [-c FILE]         apply database migrations\n"
            "       ezapi token admin [-c FILE] [--sub NAME] [--role admin|viewer] [--ttl DURATION]\n"
            "                         [--url[=BASE]]  print a console link carrying the token\n"
            "       ezapi verify [-c FILE]          compare Redis with PostgreSQL (exit 0 when equal)\n"
            "       ezapi rekey [-c FILE]           re-seal stored upstream keys with secrets_key\n"
            "                                       (exit 0 when none is left on another key)\n"
            "       ezapi config sample|man         print the sample config or ezapi.conf(5)\n"
            "       ezapi import [-c FILE] [--from newapi|litellm] [--namespace NS] [--dry-run]\n"
            "                    [--conflict skip|overwrite] [--include-bindings] [--skip-invalid] FILE\n"
            "                                       import a new-api export or a LiteLLM config\n"
            "       ezapi export [-c FILE] [--include-secrets]\n"
            "                                       print the configuration in the import format\n"
            "default config: %s\n", DEFAULT_CONFIG);
}

static struct ez_config *load_or_exit(const char *path)
{
    struct ez_config *cfg = calloc(1, sizeof *cfg);
    char err[1024];
    if (!cfg) {
        fprintf(stderr, "ezapi: out of memory\n");
        exit(1);
    }
    if (ez_config_load(path, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "%sezapi: %s\n", ez_log_priority_prefix(EZ_LOG_ERROR), err);
        free(cfg);
        exit(EZ_EXIT_CONFIG);
    }
    ez_log_setup("supervisor", cfg->log_level, cfg->log_format);
    return cfg;
}

/* Applies migrations to one database, waiting up to 30 s for it. */
static int migrate_one(const struct ez_config *cfg, const char *dsn)
{
    struct ez_db *db = ez_db_new(dsn, cfg->pg_statement_timeout, "ezapi-migrate");
    int rc = -1;
    for (int i = 0; db && i < 30; i++) {
        if (ez_db_ensure(db) == EZ_DB_OK) {
            rc = ez_migrate(db);
            break;
        }
        log_warn("waiting for PostgreSQL to apply migrations");
        sleep(1);
    }
    ez_db_free(db);
    if (rc > 0)
        log_info("applied %d migration(s)", rc);
    return rc < 0 ? -1 : 0;
}

/* The schema goes to pg_dsn and, when audit records go elsewhere, to
 * log_pg_dsn too (only audit_records is used there). */
static int migrate(const struct ez_config *cfg)
{
    if (migrate_one(cfg, cfg->pg_dsn) != 0)
        return -1;
    if (strcmp(cfg->log_pg_dsn, cfg->pg_dsn) != 0 && migrate_one(cfg, cfg->log_pg_dsn) != 0)
        return -1;
    return 0;
}

/* The console's address from the first listen address: http, or https
 * when TLS is on; "*" and an empty host become 127.0.0.1. -1 for a Unix
 * socket, which a browser cannot reach (--url=BASE is needed then). */
static int console_base(const struct ez_config *cfg, char *out, size_t len)
{
    const char *l = cfg->listen;
    size_t n = strcspn(l, ",");
    if (strncmp(l, "unix:", 5) == 0)
        return -1;
    const char *scheme = cfg->tls_cert_file[0] ? "https" : "http";
    if (l[0] == '*' && l[1] == ':')
        snprintf(out, len, "%s://127.0.0.1%.*s", scheme, (int)(n - 1), l + 1);
    else if (l[0] == ':')
        snprintf(out, len, "%s://127.0.0.1%.*s", scheme, (int)n, l);
    else
        snprintf(out, len, "%s://%.*s", scheme, (int)n, l);
    return 0;
}

/* Prints the token, or with --url the console link carrying it in the URL
 * fragment (a browser never sends the fragment to the server). */
static int cmd_token(int argc, char **argv, const char *path)
{
    const char *sub = "admin", *role = "admin", *ttl = "1h", *url = NULL;
    int want_url = 0;
    static const struct option opts[] = {
        { "sub", required_argument, NULL, 's' }, { "role", required_argument, NULL, 'r' },
        { "ttl", required_argument, NULL, 'l' }, { "config", required_argument, NULL, 'c' },
        { "url", optional_argument, NULL, 'u' }, { NULL, 0, NULL, 0 } };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 's': sub = optarg; break;
        case 'r': role = optarg; break;
        case 'l': ttl = optarg; break;
        case 'c': path = optarg; break;
        case 'u': want_url = 1; url = optarg; break;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        fprintf(stderr, "ezapi: --url must start with http:// or https://\n");
        return 2;
    }
    long long ttl_ms;
    if (strcmp(role, "admin") != 0 && strcmp(role, "viewer") != 0) {
        fprintf(stderr, "ezapi: --role must be admin or viewer\n");
        return 2;
    }
    if (ez_parse_duration_ms(ttl, &ttl_ms) != 0 || ttl_ms < 1000) {
        fprintf(stderr, "ezapi: invalid --ttl %s\n", ttl);
        return 2;
    }
    if (!*sub || strlen(sub) > 128) {
        fprintf(stderr, "ezapi: --sub must be 1 to 128 bytes\n");
        return 2;
    }
    struct ez_config *cfg = load_or_exit(path);
    char base[4200];
    if (want_url && url) {
        snprintf(base, sizeof base, "%s", url);
    } else if (want_url && console_base(cfg, base, sizeof base) != 0) {
        fprintf(stderr, "ezapi: the first listen address is a Unix socket: give the console's "
                        "address with --url=BASE\n");
        ez_config_free(cfg);
        free(cfg);
        return 2;
    }
    char *tok = ez_jwt_mint_admin(cfg, sub, role, ttl_ms / 1000);
    ez_config_free(cfg);
    free(cfg);
    if (!tok) {
        fprintf(stderr, "ezapi: cannot mint the token\n");
        return 1;
    }
    if (want_url) {
        size_t b = strlen(base);
        while (b > 0 && base[b - 1] == '/')
            b--;
        printf("%.*s/ui/#token=%s\n", (int)b, base, tok);
    } else {
        printf("%s\n", tok);
    }
    free(tok);
    return 0;
}

/* Prints a summary of the differences; 0 when Redis equals the projection
 * of PostgreSQL, 1 when they differ, 2 when either cannot be read. */
static int cmd_verify(const struct ez_config *cfg)
{
    struct ez_db *db = ez_db_new(cfg->pg_dsn, cfg->pg_statement_timeout, "ezapi-verify");
    struct ez_redis *redis = ez_redis_new(cfg->redis_url, 5000);
    json_t *report = NULL;
    const char *why = "out of memory";
    int rc = db && redis ? ez_verify(db, redis, cfg, &report, &why) : EZ_DB_ERROR;
    ez_db_free(db);
    ez_redis_free(redis);
    if (rc != EZ_DB_OK) {
        fprintf(stderr, "ezapi: verify failed: %s\n", why);
        return 2;
    }
    int equal = json_is_true(json_object_get(report, "equal"));
    printf("%s: %lld keys checked\n", equal ? "equal" : "different",
           (long long)json_integer_value(json_object_get(report, "keys_checked")));
    const char *res;
    json_t *n;
    json_object_foreach(json_object_get(report, "counts"), res, n) {
        printf("%s: %lld difference(s)\n", res, (long long)json_integer_value(n));
        size_t i;
        json_t *d;
        json_array_foreach(json_object_get(json_object_get(report, "differences"), res), i, d) {
            if (i >= 5)
                break;
            printf("  %s %s\n", json_string_value(json_object_get(d, "key")),
                   json_is_string(json_object_get(d, "field"))
                       ? json_string_value(json_object_get(d, "field")) : "");
        }
    }
    json_decref(report);
    return equal ? 0 : 1;
}

/* Re-seals every upstream key with secrets_key; 0 when none is left on
 * another key, 1 when some are, 2 when PostgreSQL cannot be used. */
static int cmd_rekey(const struct ez_config *cfg)
{
    struct ez_db *db = ez_db_new(cfg->pg_dsn, cfg->pg_statement_timeout, "ezapi-rekey");
    struct ez_rekey_report r;
    int rc = db ? ez_rekey(db, cfg, 500, &r) : EZ_DB_ERROR;
    ez_db_free(db);
    if (rc != EZ_DB_OK) {
        fprintf(stderr, "ezapi: rekey stopped: PostgreSQL %s; what was re-sealed stays so, "
                "run it again\n", rc == EZ_DB_UNAVAILABLE ? "unavailable" : "error (see the log)");
        return 2;
    }
    printf("re-sealed: %lld\nalready on secrets_key: %lld\nunreadable with either key: %lld\n"
           "left on another key: %lld\n", r.resealed, r.current, r.unreadable, r.left);
    return r.left == 0 ? 0 : 1;
}

/* ezapi import: the document from a file, the work of POST /admin/import;
 * the answer on stdout. 0 when imported (or a dry run found no error), 1
 * when not, 2 for a bad command line. */
static int cmd_import(int argc, char **argv, const char *path)
{
    struct ez_import_opts o = { 0 };
    static const struct option opts[] = {
        { "dry-run", no_argument, NULL, 'd' }, { "conflict", required_argument, NULL, 'k' },
        { "include-bindings", no_argument, NULL, 'b' },
        { "skip-invalid", no_argument, NULL, 's' }, { "from", required_argument, NULL, 'f' },
        { "namespace", required_argument, NULL, 'n' },
        { "config", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
    int ch, litellm = 0;
    const char *ns = NULL;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': o.dry_run = 1; break;
        case 'b': o.include_bindings = 1; break;
        case 's': o.skip_invalid = 1; break;
        case 'c': path = optarg; break;
        case 'k':
            if (strcmp(optarg, "skip") != 0 && strcmp(optarg, "overwrite") != 0) {
                fprintf(stderr, "ezapi: --conflict must be skip or overwrite\n");
                return 2;
            }
            o.overwrite = strcmp(optarg, "overwrite") == 0;
            break;
        case 'n': ns = optarg; break;
        case 'f':
            if (strcmp(optarg, "newapi") != 0 && strcmp(optarg, "litellm") != 0) {
                fprintf(stderr, "ezapi: --from must be newapi or litellm\n");
                return 2;
            }
            litellm = strcmp(optarg, "litellm") == 0;
            break;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    if (ns && !litellm) {
        fprintf(stderr, "ezapi: --namespace is an option of --from litellm\n");
        return 2;
    }
    const char *file = argv[optind];
    json_error_t jerr;
    json_t *doc = NULL;
    char *yaml = NULL;
    size_t ylen = 0;
    if (litellm) {
        FILE *f = fopen(file, "rb");
        yaml = f ? malloc(EZ_LITELLM_MAX_FILE + 1) : NULL;
        ylen = yaml ? fread(yaml, 1, EZ_LITELLM_MAX_FILE + 1, f) : 0;
        int failed = !f || !yaml || ferror(f) || ylen > EZ_LITELLM_MAX_FILE;
        if (f)
            fclose(f);
        if (failed) {
            fprintf(stderr, "ezapi: %s: %s\n", file,
                    !f ? strerror(errno) : "unreadable, or larger than 64 MiB");
            free(yaml);
            return 1;
        }
    } else if (!(doc = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr))) {
        fprintf(stderr, "ezapi: %s: line %d, column %d: %s\n", file, jerr.line, jerr.column,
                jerr.text);
        return 1;
    }
    struct ez_config *cfg = load_or_exit(path);
    struct ez_db *db = ez_db_new(cfg->pg_dsn, 0, "ezapi-import");
    struct ez_import_actor who = { "admin", "ezapi import", "", "", file, "" };
    struct ez_import_result res = { 0 };
    int rc = !db      ? EZ_IMPORT_DB
             : litellm ? ez_import_litellm(db, cfg, yaml, ylen, ns ? ns : "default", 1, &o,
                                           &who, &res)
                       : ez_import_newapi(db, cfg, doc, &o, &who, &res);
    json_decref(doc);
    free(yaml);
    ez_db_free(db);
    ez_config_free(cfg);
    free(cfg);
    if (res.answer) {
        char *text = json_dumps(res.answer, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(res.answer);
    }
    switch (rc) {
    case EZ_IMPORT_DONE:
        return 0;
    case EZ_IMPORT_BAD_DOC:
    case EZ_IMPORT_ENV:
        fprintf(stderr, "ezapi: %s: %s: %s\n", file, res.path, res.message);
        return 1;
    case EZ_IMPORT_INVALID:
        fprintf(stderr, "ezapi: %s: items in error (listed in \"errors\"); nothing was "
                        "imported (--skip-invalid imports the others)\n", file);
        return 1;
    default:
        fprintf(stderr, "ezapi: import failed: PostgreSQL %s\n",
                res.db_rc == EZ_DB_UNKNOWN ? "lost the connection during COMMIT: it may "
                                             "or may not have been imported"
                                           : "is unavailable or refused the import");
        return 1;
    }
}

/* ezapi export: the document on stdout; with the upstream keys, an audit
 * record first (no record, no secrets). */
static int cmd_export(int argc, char **argv, const char *path)
{
    int secrets = 0;
    static const struct option opts[] = {
        { "include-secrets", no_argument, NULL, 's' },
        { "config", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 's': secrets = 1; break;
        case 'c': path = optarg; break;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    struct ez_config *cfg = load_or_exit(path);
    struct ez_db *db = ez_db_new(cfg->pg_dsn, 0, "ezapi-export");
    json_t *doc = NULL;
    int rc = db ? ez_export(db, cfg, secrets, &doc) : EZ_DB_ERROR;
    if (rc == EZ_DB_OK && secrets) {
        json_t *data = json_object_get(doc, "data");
        json_t *rec = json_pack(
            "{s:s, s:s, s:s, s:s, s:{s:{s:I, s:I, s:I}}}", "actor_type", "admin", "actor",
            "ezapi export", "action", "export.secrets", "resource", "export", "changes", "after",
            "providers", (json_int_t)json_array_size(json_object_get(data, "providers")),
            "masters", (json_int_t)json_array_size(json_object_get(data, "masters")), "keys",
            (json_int_t)json_array_size(json_object_get(data, "keys")));
        rc = ez_db_begin(db);
        if (rc == EZ_DB_OK)
            rc = ez_db_end(db, rec ? ez_si_audit(db, rec) : EZ_DB_ERROR, 1);
        json_decref(rec);
    }
    ez_db_free(db);
    ez_config_free(cfg);
    free(cfg);
    if (rc != EZ_DB_OK) {
        fprintf(stderr, "ezapi: export failed: PostgreSQL is unavailable or refused it%s\n",
                secrets ? " (nothing is printed without its audit record)" : "");
        json_decref(doc);
        return 1;
    }
    int out = json_dumpf(doc, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF ? 0 : 1;
    json_decref(doc);
    return out;
}

int main(int argc, char **argv)
{
    const char *path = DEFAULT_CONFIG;
    int check = 0;
    /* Subcommands come first; -c may follow them. */
    if (argc >= 2 && strcmp(argv[1], "token") == 0) {
        if (argc < 3 || strcmp(argv[2], "admin") != 0) {
            usage(stderr);
            return 2;
        }
        return cmd_token(argc - 2, argv + 2, path);
    }
    if (argc >= 2 && strcmp(argv[1], "import") == 0)
        return cmd_import(argc - 1, argv + 1, path);
    if (argc >= 2 && strcmp(argv[1], "export") == 0)
        return cmd_export(argc - 1, argv + 1, path);
    if (argc >= 2 && strcmp(argv[1], "config") == 0) {
        if (argc == 3 && strcmp(argv[2], "sample") == 0) {
            ez_config_write_sample(stdout);
            return 0;
        }
        if (argc == 3 && strcmp(argv[2], "man") == 0) {
            ez_config_write_man(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    const char *sub = NULL;
    if (argc >= 2 && argv[1][0] != '-') {
        sub = argv[1];
        argc--;
        argv++;
    }
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'v' },
        { "config", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 } };
    int ch, dump = 0;
    while ((ch = getopt_long(argc, argv, "c:tTvh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': path = optarg; break;
        case 't': check = 1; break;
        case 'T': check = dump = 1; break;
        case 'v': printf("ezapi %s\n", PACKAGE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    struct ez_config *cfg = load_or_exit(path);
    if (check) {
        if (dump)
            ez_config_write_effective(stdout, cfg);
        else
            printf("ezapi: %s: configuration is valid\n", path);
        ez_config_free(cfg);
        free(cfg);
        return 0;
    }
    if (sub && strcmp(sub, "migrate") == 0) {
        int rc = migrate(cfg);
        ez_config_free(cfg);
        free(cfg);
        return rc == 0 ? 0 : 1;
    }
    if (sub && strcmp(sub, "verify") == 0) {
        int rc = cmd_verify(cfg);
        ez_config_free(cfg);
        free(cfg);
        return rc;
    }
    if (sub && strcmp(sub, "rekey") == 0) {
        int rc = cmd_rekey(cfg);
        ez_config_free(cfg);
        free(cfg);
        return rc;
    }
    if (sub) {
        usage(stderr);
        ez_config_free(cfg);
        free(cfg);
        return 2;
    }
    ez_proctitle_init(argc, argv);
    if (!cfg->has_secrets_key)
        log_warn("secrets_key is empty: upstream API keys are stored in clear in PostgreSQL");
    if (migrate(cfg) != 0 || ez_legacy_upgrade_masters(cfg) != 0) {
        ez_config_free(cfg);
        free(cfg);
        return 1;
    }
    return ez_supervisor_run(cfg);
}
