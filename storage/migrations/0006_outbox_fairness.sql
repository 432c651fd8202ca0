-- The outgoing queue, hardened: fair picking across targets, a pacing window that survives a
-- restart, backlog warnings that are given once, and pruning of old sent rows.

-- When the latest send attempt of a row started (written just before the OneBot call), so a
-- restarted dispatcher rebuilds its pacing window from the database.
ALTER TABLE outbox ADD COLUMN attempted_at REAL;
UPDATE outbox SET attempted_at = sent_at WHERE sent_at IS NOT NULL;
CREATE INDEX ix_outbox_attempted ON outbox(attempted_at) WHERE attempted_at IS NOT NULL;

-- Pending rows per target in queue order: the distinct targets and each one's oldest due row
-- are found by index seeks, however long one target's backlog is.
CREATE INDEX ix_outbox_pending_target ON outbox(target_type, target_id, id, next_attempt_at)
    WHERE state = 'pending';
-- A branch's pending count (backlog warning).
CREATE INDEX ix_outbox_pending_branch ON outbox(branch_id) WHERE state = 'pending';
-- Pruning of old sent rows.
CREATE INDEX ix_outbox_sent_at ON outbox(sent_at) WHERE state = 'sent';

-- Branches whose admins were warned about a backlog; the row is removed when it has cleared,
-- so each backlog is reported once.
CREATE TABLE outbox_backlog_warnings (
    branch_id  INTEGER PRIMARY KEY,
    pending    INTEGER NOT NULL,   -- the pending count that triggered the warning
    warned_at  INTEGER NOT NULL
);
