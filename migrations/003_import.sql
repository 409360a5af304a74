-- 003: what an import from another gateway keeps (docs/migrate.md).
--
-- A token its old gateway accepted with or without "sk-" keeps working
-- both ways: its key has a second digest, marked alias, that stays valid
-- as long as the current one (a rotation puts both into their grace).
ALTER TABLE key_digests ADD COLUMN alias boolean NOT NULL DEFAULT false;
DROP INDEX key_digests_one_current_idx;
CREATE UNIQUE INDEX key_digests_one_current_idx ON key_digests (key_id)
    WHERE valid_until IS NULL AND NOT alias;

-- Quotas of imported keys, kept so that an export gives them back; ezapi
-- itself does not count usage (NULL: not imported).
ALTER TABLE keys ADD COLUMN quota_limit bigint CHECK (quota_limit >= 0),
                 ADD COLUMN quota_used bigint CHECK (quota_used >= 0),
                 ADD COLUMN unlimited_quota boolean;
