/* Every plain counter of a process slot, declared once. The slot struct,
 * the increments and the Prometheus rendering are generated from it.
 * X(id, metric name, labels, roles, help) — series of one name must be
 * adjacent. roles: the processes that can move it (EZ_MR(WORKER) | ...);
 * a scrape shows the series for those processes only. */
X(queue_full_sync, "ezapi_queue_full_total", "queue=\"sync\"", EZ_MR(WORKER),
  "Jobs a worker could not enqueue because the queue was full (written to the database instead).")
X(queue_full_audit, "ezapi_queue_full_total", "queue=\"audit\"", EZ_MR(WORKER), NULL)
X(sync_applied, "ezapi_sync_jobs_total", "result=\"applied\"", EZ_MR(SYNCER),
  "Sync jobs by outcome: applied to Redis, saved to the outbox, or failed for good.")
X(sync_outboxed, "ezapi_sync_jobs_total", "result=\"outboxed\"", EZ_MR(SYNCER), NULL)
X(sync_failed, "ezapi_sync_jobs_total", "result=\"failed\"", EZ_MR(SYNCER), NULL)
X(full_resync, "ezapi_full_resync_total", "", EZ_MR(SYNCER), "Full resyncs completed.")
X(audit_written, "ezapi_audit_records_total", "result=\"written\"", EZ_MR(LOGGER),
  "Audit records by outcome: written by the logger, written directly by a worker, or dropped.")
X(audit_direct, "ezapi_audit_records_total", "result=\"direct\"", EZ_MR(WORKER), NULL)
X(audit_dropped, "ezapi_audit_records_total", "result=\"dropped\"", EZ_MR(WORKER) | EZ_MR(LOGGER), NULL)
X(auth_fail_admin, "ezapi_auth_failures_total", "kind=\"admin\"", EZ_MR(WORKER),
  "Failed authentications by credential kind.")
X(auth_fail_master, "ezapi_auth_failures_total", "kind=\"master\"", EZ_MR(WORKER), NULL)
X(auth_refused_admin, "ezapi_auth_refused_total", "kind=\"admin\"", EZ_MR(WORKER),
  "Requests refused with 429, before any credential was checked, because their address failed to authenticate auth_failure_limit times.")
X(auth_refused_master, "ezapi_auth_refused_total", "kind=\"master\"", EZ_MR(WORKER), NULL)
X(auth_evictions, "ezapi_auth_failure_evictions_total", "", EZ_MR(WORKER),
  "Addresses dropped from the full table of failed authentications for a newcomer (their counts are audited first).")
X(pg_errors, "ezapi_pg_errors_total", "", EZ_MR(WORKER) | EZ_MR(SYNCER) | EZ_MR(LOGGER), "PostgreSQL errors and lost connections.")
X(redis_errors, "ezapi_redis_errors_total", "", EZ_MR(WORKER) | EZ_MR(SYNCER), "Redis errors and lost connections.")
X(bad_frames, "ezapi_bad_frames_total", "", EZ_MR(SYNCER) | EZ_MR(LOGGER), "Malformed queue frames dropped.")
X(http_timeout_header, "ezapi_http_timeouts_total", "kind=\"header\"", EZ_MR(WORKER),
  "Connections closed by a deadline of the HTTP layer: request head, request body, idle keep-alive.")
X(http_timeout_body, "ezapi_http_timeouts_total", "kind=\"body\"", EZ_MR(WORKER), NULL)
X(http_timeout_idle, "ezapi_http_timeouts_total", "kind=\"idle\"", EZ_MR(WORKER), NULL)
X(accept_errors, "ezapi_accept_errors_total", "", EZ_MR(WORKER),
  "accept() failures on the listening sockets (descriptors exhausted and the like).")
