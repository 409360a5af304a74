-- 004: indexes that large tables need (docs/schema.md).
--
-- A master's keys in id order, for the keyset pages of
-- GET /admin/masters/{id}/keys and GET /v1/tokens: with it a page reads its
-- own rows only, at the start or the end of ten million keys alike.
-- Building it blocks writes to keys while it lasts; docs/deploy.md says
-- how to build it beforehand with CREATE INDEX CONCURRENTLY instead.
CREATE INDEX IF NOT EXISTS keys_master_id_id_idx ON keys (master_id, id);
