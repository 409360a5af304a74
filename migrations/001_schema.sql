-- 001: the whole schema, described in docs/schema.md.
-- Run by common/migrate.c as one multi-statement string inside a
-- transaction: plain SQL only, no psql meta-commands. The CHECK constraints
-- are a second line of defence; the application validates first.

-- Every resource row carries a rev from this one sequence. It grows on every
-- insert (column default) and every update (trigger below), so the syncer
-- can refuse to overwrite a newer projection with an older one.
CREATE SEQUENCE ez_rev AS bigint;

CREATE FUNCTION ez_touch_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    NEW.rev := nextval('ez_rev');
    RETURN NEW;
END
$$;

-- For bookkeeping tables that have updated_at but no rev.
CREATE FUNCTION ez_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TABLE namespaces (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    description text,
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    rev         bigint NOT NULL DEFAULT nextval('ez_rev')
);

CREATE TABLE provider_groups (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE
                    CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    type            text NOT NULL
                    CHECK (type IN ('openai', 'compatible', 'anthropic', 'claude',
                                    'claude-code', 'codex', 'gemini-cli', 'antigravity',
                                    'gemini', 'google', 'aistudio', 'vertex',
                                    'vertex-express')),
    base_url        text
                    CHECK (base_url = '' OR base_url ~* '^https?://[^[:space:]]+$'),
    google_project  text,
    google_location text,
    models          text[] NOT NULL
                    CHECK (cardinality(models) BETWEEN 1 AND 1000
                           AND array_position(models, NULL) IS NULL),
    status          text NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'disabled')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    rev             bigint NOT NULL DEFAULT nextval('ez_rev'),
    CONSTRAINT provider_groups_compatible_base_url
        CHECK (type <> 'compatible' OR coalesce(base_url, '') <> '')
);

-- api_key holds the upstream credential in clear, or, when secrets_key is
-- set, 'enc:v1:' || base64(nonce || ciphertext || tag) of AES-256-GCM.
CREATE TABLE api_keys (
    id         bigserial PRIMARY KEY,
    group_id   bigint NOT NULL REFERENCES provider_groups (id) ON DELETE RESTRICT,
    api_key    text NOT NULL CHECK (api_key <> ''),
    weight     integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 0 AND 1000),
    status     text NOT NULL DEFAULT 'active'
               CHECK (status IN ('active', 'auto_disabled', 'manual_disabled')),
    auto_ban   boolean NOT NULL DEFAULT true,
    ban_reason text,
    ban_until  timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    rev        bigint NOT NULL DEFAULT nextval('ez_rev')
);
CREATE INDEX api_keys_group_id_idx ON api_keys (group_id);

-- context_window and max_output_tokens: 0 = unknown (left out of the
-- capability JSON); the nullable columns: NULL = not set.
CREATE TABLE models (
    id                   bigserial PRIMARY KEY,
    name                 text NOT NULL UNIQUE CHECK (name <> ''),
    kind                 text NOT NULL DEFAULT 'chat'
                         CHECK (kind IN ('chat', 'embedding', 'rerank', 'other')),
    context_window       bigint NOT NULL DEFAULT 0 CHECK (context_window >= 0),
    max_output_tokens    bigint NOT NULL DEFAULT 0 CHECK (max_output_tokens >= 0),
    cost_per_token       double precision,
    supports_vision      boolean,
    supports_functions   boolean,
    supports_tool_choice boolean,
    supports_fim         boolean,
    supports_stream      boolean,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    rev                  bigint NOT NULL DEFAULT nextval('ez_rev')
);

CREATE TABLE bindings (
    id             bigserial PRIMARY KEY,
    namespace      text NOT NULL
                   REFERENCES namespaces (name) ON UPDATE CASCADE ON DELETE RESTRICT,
    public_model   text NOT NULL CHECK (public_model <> ''),
    group_id       bigint NOT NULL REFERENCES provider_groups (id) ON DELETE RESTRICT,
    weight         integer NOT NULL DEFAULT 1 CHECK (weight >= 0),
    selector_type  text NOT NULL DEFAULT 'exact'
                   CHECK (selector_type IN ('exact', 'regex', 'normalize_exact')),
    selector_value text NOT NULL CHECK (selector_value <> ''),
    status         text NOT NULL DEFAULT 'active'
                   CHECK (status IN ('active', 'disabled')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    rev            bigint NOT NULL DEFAULT nextval('ez_rev'),
    UNIQUE (namespace, public_model, group_id)
);
-- A provider group change re-projects the bindings that use it.
CREATE INDEX bindings_group_id_idx ON bindings (group_id);

-- Tenants. The master key is kept only as its SHA-256 digest (lowercase hex
-- of the exact token bytes) and a display prefix. legacy_key is the
-- plaintext key of a row that predates digests; it is replaced by its digest
-- and erased at start.
CREATE TABLE masters (
    id                bigserial PRIMARY KEY,
    name              text NOT NULL UNIQUE CHECK (name <> ''),
    group_name        text NOT NULL DEFAULT 'default' CHECK (group_name <> ''),
    status            text NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'suspended')),
    epoch             bigint NOT NULL DEFAULT 1 CHECK (epoch >= 1),
    max_child_keys    integer NOT NULL DEFAULT 5 CHECK (max_child_keys >= 0),
    global_qps        integer NOT NULL DEFAULT 0 CHECK (global_qps >= 0),
    default_namespace text,
    namespaces        text[] NOT NULL DEFAULT '{}'
                      CHECK (array_position(namespaces, NULL) IS NULL),
    key_digest        text UNIQUE CHECK (key_digest ~ '^[0-9a-f]{64}$'),
    key_prefix        text NOT NULL DEFAULT '',
    key_generation    bigint NOT NULL DEFAULT 1 CHECK (key_generation >= 1),
    legacy_key        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    rev               bigint NOT NULL DEFAULT nextval('ez_rev'),
    CONSTRAINT masters_default_namespace_listed
        CHECK (coalesce(default_namespace, '') = ''
               OR default_namespace = ANY (namespaces))
);

-- Child keys. Their secrets live in key_digests.
CREATE TABLE keys (
    id                bigserial PRIMARY KEY,
    master_id         bigint NOT NULL REFERENCES masters (id) ON DELETE CASCADE,
    name              text NOT NULL DEFAULT '',
    group_name        text NOT NULL CHECK (group_name <> ''),
    status            text NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'suspended', 'revoked', 'expired')),
    issued_at_epoch   bigint NOT NULL CHECK (issued_at_epoch >= 1),
    issued_by         text NOT NULL CHECK (issued_by IN ('master', 'admin', 'import')),
    default_namespace text,
    namespaces        text[] NOT NULL DEFAULT '{}'
                      CHECK (array_position(namespaces, NULL) IS NULL),
    scopes            text[] NOT NULL DEFAULT '{}'
                      CHECK (array_position(scopes, NULL) IS NULL),
    model_limits      text[] CHECK (array_position(model_limits, NULL) IS NULL),
    allow_ips         text[] CHECK (array_position(allow_ips, NULL) IS NULL),
    expires_at        timestamptz,
    key_prefix        text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    rev               bigint NOT NULL DEFAULT nextval('ez_rev')
);
CREATE INDEX keys_master_id_status_idx ON keys (master_id, status);

-- Secrets of child keys: valid_until NULL = the current secret (at most one
-- per key); otherwise the end of a rotation grace period.
CREATE TABLE key_digests (
    digest      text PRIMARY KEY CHECK (digest ~ '^[0-9a-f]{64}$'),
    key_id      bigint NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
    valid_until timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX key_digests_key_id_idx ON key_digests (key_id);
CREATE UNIQUE INDEX key_digests_one_current_idx ON key_digests (key_id)
    WHERE valid_until IS NULL;

-- Data-plane switches, projected to meta:features.
CREATE TABLE features (
    name       text PRIMARY KEY CHECK (name <> ''),
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    rev        bigint NOT NULL DEFAULT nextval('ez_rev')
);

CREATE TRIGGER namespaces_touch BEFORE UPDATE ON namespaces
    FOR EACH ROW EXECUTE FUNCTION ez_touch_row();
CREATE TRIGGER provider_groups_touch BEFORE UPDATE ON provider_groups
    FOR EACH ROW EXECUTE FUNCTION ez_touch_row();
CREATE TRIGGER api_keys_touch BEFORE UPDATE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION ez_touch_row();
CREATE TRIGGER models_touch BEFORE UPDATE ON models
    FOR EACH ROW EXECUTE FUNCTION ez_touch_row();
CREATE TRIGGER bindings_touch BEFORE UPDATE ON bindings
    FOR EACH ROW EXECUTE FUNCTION ez_touch_row();
CREATE TRIGGER masters_touch BEFORE UPDATE ON masters
    FOR EACH ROW EXECUTE FUNCTION ez_touch_row();
CREATE TRIGGER keys_touch BEFORE UPDATE ON keys
    FOR EACH ROW EXECUTE FUNCTION ez_touch_row();
CREATE TRIGGER features_touch BEFORE UPDATE ON features
    FOR EACH ROW EXECUTE FUNCTION ez_touch_row();

-- docs/operations.md, "Audit log". producer (worker slot, generation, job
-- sequence) makes a replayed insert a no-op: INSERT ... ON CONFLICT
-- (producer) DO NOTHING.
CREATE TABLE audit_records (
    id          bigserial PRIMARY KEY,
    time        timestamptz NOT NULL DEFAULT now(),
    request_id  text NOT NULL DEFAULT '',
    actor_type  text NOT NULL CHECK (actor_type IN ('admin', 'master', 'anonymous')),
    actor       text NOT NULL DEFAULT '',
    action      text NOT NULL CHECK (action <> ''),
    resource    text NOT NULL DEFAULT '',
    resource_id text NOT NULL DEFAULT '',
    method      text NOT NULL DEFAULT '',
    path        text NOT NULL DEFAULT '',
    status      integer NOT NULL DEFAULT 0,
    remote_addr text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    latency_us  bigint NOT NULL DEFAULT 0 CHECK (latency_us >= 0),
    changes     jsonb,
    producer    text NOT NULL UNIQUE CHECK (producer <> '')
);
-- GET /admin/audit pages newest first on the cursor (time, id); each filter
-- has an index in that order, and retention deletes use the first one.
CREATE INDEX audit_records_time_idx ON audit_records (time DESC, id DESC);
CREATE INDEX audit_records_actor_idx
    ON audit_records (actor_type, actor, time DESC, id DESC);
CREATE INDEX audit_records_action_idx ON audit_records (action, time DESC, id DESC);
CREATE INDEX audit_records_resource_idx
    ON audit_records (resource, resource_id, time DESC, id DESC);
CREATE INDEX audit_records_request_id_idx
    ON audit_records (request_id, time DESC, id DESC);

-- Sync jobs whose Redis write failed; retried until they succeed (deleted)
-- or reach sync_outbox_max_retries (status failed). payload names what
-- changed and never holds a secret.
CREATE TABLE sync_outbox (
    id              bigserial PRIMARY KEY,
    resource        text NOT NULL CHECK (resource <> ''),
    op              text NOT NULL CHECK (op <> ''),
    resource_id     bigint,
    payload         jsonb NOT NULL DEFAULT '{}',
    attempts        integer NOT NULL DEFAULT 1 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'failed')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_outbox_due_idx ON sync_outbox (status, next_attempt_at);
CREATE TRIGGER sync_outbox_touch BEFORE UPDATE ON sync_outbox
    FOR EACH ROW EXECUTE FUNCTION ez_touch_updated_at();

-- Full resyncs: requested (POST /admin/sync/full, start, timer), run, done.
CREATE TABLE sync_runs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL DEFAULT 'full' CHECK (kind <> ''),
    requested_at timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'running', 'done', 'failed')),
    error        text
);
CREATE INDEX sync_runs_status_idx ON sync_runs (status, requested_at);
