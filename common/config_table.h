/* The one description of every configuration key. The parser, `ezapi -t`,
 * the sample etc/ezapi.conf and the ezapi.conf(5) page are generated from it.
 * X(name, kind, default, min, max, reloadable, help)
 *   kind: one of the EZ_CTYPE_* names of config.h: LISTEN, WORKERS ("auto"
 *   = 0 resolved to the CPU count), STR, REQUIRED_STR, DSN and REQUIRED_DSN
 *   (libpq connection strings), REQUIRED_SECRET,
 *   SECRETS_KEY, REDIS_URL, CIDRS, INT, DURATION (milliseconds), LEVEL, FORMAT,
 *   BOOL (on or off).
 *   min/max bound INT, DURATION and WORKERS values and string lengths. */
X(listen, LISTEN, "127.0.0.1:8080", 1, 4096, 1,
  "address:port to serve HTTP on; several comma-separated; [::1]:8080 for IPv6; unix:/path for a Unix socket")
X(tls_cert_file, STR, "", 0, 4096, 1,
  "PEM file of the certificate chain (leaf first) served over TLS on every listener; empty = plain HTTP. Read with tls_key_file at start and on every reload (SIGHUP); TLS 1.2 or 1.3 only")
X(tls_key_file, STR, "", 0, 4096, 1,
  "PEM file of the private key of tls_cert_file; set both or neither")
X(workers, WORKERS, "auto", 1, 60, 1,
  "number of HTTP worker processes; auto = one per CPU")
X(pg_dsn, REQUIRED_DSN, "", 1, 4096, 1,
  "libpq connection string of the PostgreSQL database (required)")
X(log_pg_dsn, DSN, "", 0, 4096, 1,
  "connection string of the audit database; empty = pg_dsn")
X(redis_url, REDIS_URL, "redis://127.0.0.1:6379/0", 1, 4096, 1,
  "redis://[[user]:password@]host:port/db, unix:///path?db=N, or "
  "redis-sentinel://[[user]:password@]host:port[,host:port...]/master-name[/db]")
X(redis_key_prefix, STR, "", 0, 128, 0,
  "prepended to every Redis key and channel of the data-plane contract")
X(admin_jwt_secret, REQUIRED_SECRET, "", 32, 4096, 1,
  "HS256 secret of admin tokens, at least 32 bytes (required)")
X(master_jwt_secret, REQUIRED_SECRET, "", 32, 4096, 1,
  "HS256 secret of master session tokens, at least 32 bytes (required)")
X(jwt_issuer, STR, "ezapi", 1, 256, 1,
  "iss claim required on every token")
X(master_jwt_ttl, DURATION, "1h", 1000, 2592000000LL, 1,
  "lifetime of master session tokens")
X(auth_failure_limit, INT, "20", 0, 1000000, 1,
  "failed authentications from one client address (an IPv6 client by its /64) within auth_failure_window after which its requests to authenticated routes get 429 until the window ends; 0 = never refused (failures are still counted)")
X(auth_failure_window, DURATION, "1m", 1000, 3600000, 1,
  "window over which failed authentications are counted per client address; the audit log holds one auth.failure record for its first failure and one with the count of the others")
X(secrets_key, SECRETS_KEY, "", 0, 128, 0,
  "32-byte key (64 hex characters or base64) encrypting upstream API keys at rest with AES-256-GCM; empty = stored in clear")
X(secrets_key_previous, SECRETS_KEY, "", 0, 128, 0,
  "the secrets_key being rotated out: values sealed with it are still read, never written; `ezapi rekey` re-seals them with secrets_key")
X(max_body_size, INT, "1048576", 1024, 67108864, 1,
  "request bodies larger than this many bytes get 413")
X(import_max_body_size, INT, "67108864", 1024, 1073741824, 1,
  "the body of POST /admin/import (a migration file) may be this large; every other request is held to max_body_size")
X(request_timeout, DURATION, "30s", 1000, 3600000, 1,
  "write timeout: how long a response may wait for a client that does not read it")
X(header_timeout, DURATION, "20s", 100, 3600000, 1,
  "the whole request head must arrive within this, from its first byte (from the accept on a new connection); then 408")
X(body_timeout, DURATION, "60s", 100, 3600000, 1,
  "the whole request body must arrive within this, from the end of the head; then 408")
X(keepalive_timeout, DURATION, "60s", 100, 3600000, 1,
  "an idle persistent connection is closed this long after its last response")
X(max_header_size, INT, "16384", 1024, 1048576, 1,
  "request line and header fields, in bytes; a larger head gets 431")
X(worker_connections, INT, "512", 1, 1000000, 1,
  "open connections per worker; a worker holding this many stops accepting and the others take new clients")
X(pg_statement_timeout, DURATION, "5s", 100, 3600000, 1,
  "statement_timeout of every PostgreSQL session")
X(shutdown_timeout, DURATION, "10s", 0, 3600000, 1,
  "how long a stopping or retiring worker waits for in-flight requests")
X(sync_queue_capacity, INT, "65536", 16, 1048576, 0,
  "sync jobs per worker ring (restart to change)")
X(sync_outbox_interval, DURATION, "5s", 10, 3600000, 1,
  "how often the sync outbox is retried")
X(sync_outbox_batch_size, INT, "200", 1, 100000, 1,
  "outbox rows per retry pass")
X(sync_outbox_max_retries, INT, "10", 1, 1000, 1,
  "attempts after which an outbox row is marked failed")
X(full_resync_interval, DURATION, "10m", 0, 604800000LL, 1,
  "periodic full resync; 0 = only at start and on demand")
X(audit_queue_capacity, INT, "65536", 16, 1048576, 0,
  "audit jobs per worker ring (restart to change)")
X(audit_batch_size, INT, "500", 1, 100000, 1,
  "audit records written per batch")
X(audit_writers, INT, "2", 1, 16, 1,
  "audit batches the logger has loading at once, each over its own PostgreSQL connection")
X(audit_flush_interval, DURATION, "200ms", 1, 60000, 1,
  "longest time an audit record waits for its batch")
X(audit_retention_days, INT, "90", 0, 36500, 1,
  "audit records older than this are deleted; 0 = keep forever")
X(metrics_allow, CIDRS, "127.0.0.1/32,::1/128", 0, 4096, 1,
  "comma-separated CIDRs allowed to read /metrics")
X(log_level, LEVEL, "info", 0, 0, 1,
  "debug, info, warn or error")
X(log_format, FORMAT, "json", 0, 0, 1,
  "json or text, to stderr")
X(pid_file, STR, "", 0, 4096, 0,
  "file the supervisor writes its pid to; empty = none")
X(worker_nice, INT, "0", -20, 19, 1,
  "CPU priority of the HTTP workers: niceness added to the supervisor's, set when a start or a reload starts them. Above syncer_nice (e.g. worker_nice = 3, logger_nice = 6) changes reach Redis first while requests saturate the CPUs. Values below 0 need CAP_SYS_NICE (or RLIMIT_NICE), else the role keeps the supervisor's")
X(syncer_nice, INT, "0", -20, 19, 1,
  "CPU priority of the syncer, as worker_nice")
X(logger_nice, INT, "0", -20, 19, 1,
  "CPU priority of the logger, as worker_nice: audit records are written in batches and can wait")

/* the admin console (worker/ui.c, docs/console.md) */
X(ui, BOOL, "on", 0, 0, 1,
  "serve the admin console at /ui/ (on or off); off answers 404 there, the admin API is unchanged")
