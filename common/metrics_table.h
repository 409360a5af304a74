/* Every plain counter of a process slot, declared once. The slot struct,
 * the increments and the Prometheus rendering are generated from it.
 * X(id, metric name, labels, help) — series of one name must be adjacent. */
X(queue_full_sync, "ezapi_queue_full_total", "queue=\"sync\"",
  "Jobs a worker could not enqueue because the queue was full (written to the database instead).")
X(queue_full_audit, "ezapi_queue_full_total", "queue=\"audit\"", NULL)
X(sync_applied, "ezapi_sync_jobs_total", "result=\"applied\"",
  "Sync jobs by outcome: applied to Redis, saved to the outbox, or failed for good.")
X(sync_outboxed, "ezapi_sync_jobs_total", "result=\"outboxed\"", NULL)
X(sync_failed, "ezapi_sync_jobs_total", "result=\"failed\"", NULL)
X(full_resync, "ezapi_full_resync_total", "", "Full resyncs completed.")
X(audit_written, "ezapi_audit_records_total", "result=\"written\"",
  "Audit records by outcome: written by the logger, written directly by a worker, or dropped.")
X(audit_direct, "ezapi_audit_records_total", "result=\"direct\"", NULL)
X(audit_dropped, "ezapi_audit_records_total", "result=\"dropped\"", NULL)
X(auth_fail_admin, "ezapi_auth_failures_total", "kind=\"admin\"",
  "Failed authentications by credential kind.")
X(auth_fail_master, "ezapi_auth_failures_total", "kind=\"master\"", NULL)
X(auth_refused_admin, "ezapi_auth_refused_total", "kind=\"admin\"",
  "Requests refused with 429, before any credential was checked, because their address failed to authenticate auth_failure_limit times.")
X(auth_refused_master, "ezapi_auth_refused_total", "kind=\"master\"", NULL)
X(auth_evictions, "ezapi_auth_failure_evictions_total", "",
  "Addresses dropped from the full table of failed authentications for a newcomer (their counts are audited first).")
X(pg_errors, "ezapi_pg_errors_total", "", "PostgreSQL errors and lost connections.")
X(redis_errors, "ezapi_redis_errors_total", "", "Redis errors and lost connections.")
X(bad_frames, "ezapi_bad_frames_total", "", "Malformed queue frames dropped.")
X(http_timeout_header, "ezapi_http_timeouts_total", "kind=\"header\"",
  "Connections closed by a deadline of the HTTP layer: request head, request body, idle keep-alive.")
X(http_timeout_body, "ezapi_http_timeouts_total", "kind=\"body\"", NULL)
X(http_timeout_idle, "ezapi_http_timeouts_total", "kind=\"idle\"", NULL)
X(accept_errors, "ezapi_accept_errors_total", "",
  "accept() failures on the listening sockets (descriptors exhausted and the like).")
