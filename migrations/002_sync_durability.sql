-- 002: what a change removes from Redis stays known to the database until
-- the syncer has applied it (docs/operations.md, "Changes that never reach
-- the syncer").
--
-- A change that removes Redis keys or fields whose names the rows left
-- behind no longer show (a delete, a rename) writes its sync job into
-- sync_outbox within its own transaction, through the triggers below. The
-- worker's queued job for the change makes the same write at once; this
-- row is there for the case where that job never reaches the syncer (a
-- COMMIT whose outcome the worker did not learn, a worker killed between
-- COMMIT and queueing). The syncer applies it right after the queued job
-- and deletes it, like any outbox row. attempts = 0: not tried yet.
-- Payloads have the shape of the workers' jobs (syncer/apply.h).

CREATE FUNCTION ez_sync_later(text, bigint, jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO sync_outbox (resource, op, resource_id, payload, attempts)
    VALUES ($1, coalesce($3->>'op', 'upsert'), $2, $3, 0)
$$;

CREATE FUNCTION ez_namespace_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ez_sync_later('namespaces', OLD.id,
                          jsonb_build_object('op', 'delete', 'name', OLD.name));
    RETURN NULL;
END
$$;
CREATE TRIGGER namespaces_gone AFTER DELETE ON namespaces
    FOR EACH ROW EXECUTE FUNCTION ez_namespace_gone();

CREATE FUNCTION ez_group_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM ez_sync_later('provider_groups', OLD.id,
                              jsonb_build_object('op', 'delete', 'name', OLD.name));
    ELSE
        PERFORM ez_sync_later('provider_groups', NEW.id,
                              jsonb_build_object('op', 'upsert', 'name', NEW.name,
                                                 'old_name', OLD.name));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER provider_groups_gone AFTER DELETE ON provider_groups
    FOR EACH ROW EXECUTE FUNCTION ez_group_gone();
CREATE TRIGGER provider_groups_renamed AFTER UPDATE OF name ON provider_groups
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION ez_group_gone();

-- One row per group for a statement that deletes many keys (a cascade).
CREATE FUNCTION ez_api_keys_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_outbox (resource, op, resource_id, payload, attempts)
    SELECT 'provider_groups', 'upsert', group_id,
           jsonb_build_object('op', 'upsert', 'key_ids', jsonb_agg(id ORDER BY id)), 0
    FROM gone GROUP BY group_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_gone AFTER DELETE ON api_keys
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ez_api_keys_gone();

CREATE FUNCTION ez_bindings_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_outbox (resource, op, resource_id, payload, attempts)
    SELECT 'bindings', 'delete', min(id),
           jsonb_build_object('op', 'delete', 'namespace', namespace,
                              'public_model', public_model), 0
    FROM gone GROUP BY namespace, public_model;
    RETURN NULL;
END
$$;
CREATE TRIGGER bindings_gone AFTER DELETE ON bindings
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ez_bindings_gone();

CREATE FUNCTION ez_binding_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ez_sync_later('bindings', NEW.id,
                          jsonb_build_object('op', 'upsert', 'namespace', NEW.namespace,
                                             'public_model', NEW.public_model,
                                             'old_namespace', OLD.namespace,
                                             'old_public_model', OLD.public_model));
    RETURN NULL;
END
$$;
CREATE TRIGGER bindings_moved AFTER UPDATE OF namespace, public_model ON bindings
    FOR EACH ROW WHEN (OLD.namespace IS DISTINCT FROM NEW.namespace
                       OR OLD.public_model IS DISTINCT FROM NEW.public_model)
    EXECUTE FUNCTION ez_binding_moved();

CREATE FUNCTION ez_model_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM ez_sync_later('models', OLD.id,
                              jsonb_build_object('op', 'delete', 'name', OLD.name));
    ELSE
        PERFORM ez_sync_later('models', NEW.id,
                              jsonb_build_object('op', 'upsert', 'name', NEW.name,
                                                 'old_name', OLD.name));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER models_gone AFTER DELETE ON models
    FOR EACH ROW EXECUTE FUNCTION ez_model_gone();
CREATE TRIGGER models_renamed AFTER UPDATE OF name ON models
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION ez_model_gone();

CREATE FUNCTION ez_features_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_outbox (resource, op, resource_id, payload, attempts)
    SELECT 'features', 'upsert', 0,
           jsonb_build_object('op', 'upsert', 'names', jsonb_agg(name ORDER BY name)), 0
    FROM gone HAVING count(*) > 0;
    RETURN NULL;
END
$$;
CREATE TRIGGER features_gone AFTER DELETE ON features
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION ez_features_gone();

-- A master's keys and their digests go with it (ON DELETE CASCADE), so the
-- digests are listed before the row goes, 10,000 to a row.
CREATE FUNCTION ez_master_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sync_outbox (resource, op, resource_id, payload, attempts)
    SELECT 'masters', 'delete', OLD.id,
           jsonb_build_object('op', 'delete', 'digests', jsonb_agg(digest ORDER BY digest)), 0
    FROM (SELECT d.digest, (row_number() OVER (ORDER BY d.digest) - 1) / 10000 AS chunk
          FROM key_digests d JOIN keys k ON k.id = d.key_id
          WHERE k.master_id = OLD.id) x
    GROUP BY chunk;
    IF NOT FOUND THEN
        PERFORM ez_sync_later('masters', OLD.id,
                              jsonb_build_object('op', 'delete', 'digests', '[]'::jsonb));
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER masters_gone BEFORE DELETE ON masters
    FOR EACH ROW EXECUTE FUNCTION ez_master_gone();

-- What changed since a point: after it lost its PostgreSQL connection, the
-- syncer re-projects the rows whose rev is past the last point it knows
-- was applied.
CREATE INDEX namespaces_rev_idx ON namespaces (rev);
CREATE INDEX provider_groups_rev_idx ON provider_groups (rev);
CREATE INDEX api_keys_rev_idx ON api_keys (rev);
CREATE INDEX models_rev_idx ON models (rev);
CREATE INDEX bindings_rev_idx ON bindings (rev);
CREATE INDEX masters_rev_idx ON masters (rev);
CREATE INDEX keys_rev_idx ON keys (rev);
CREATE INDEX features_rev_idx ON features (rev);
