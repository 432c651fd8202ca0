-- Scheduled reminders and the persistent outgoing queue.

CREATE TABLE reminders (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id      INTEGER NOT NULL REFERENCES branches(id),
    creator_id     INTEGER NOT NULL,
    schedule       TEXT    NOT NULL,   -- domain.timeparse.dump_schedule
    content        TEXT    NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'active'
                       CHECK (state IN ('active', 'paused', 'done', 'deleted')),
    next_fire_at   INTEGER,            -- the planned next firing; NULL when none is left
    last_fired_at  INTEGER,
    fired_count    INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);
CREATE INDEX ix_reminders_branch ON reminders(branch_id, state, id);
CREATE INDEX ix_reminders_state ON reminders(state);

-- Everything the bot sends on its own. Rows stay until sent (or finally failed, logged).
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id        INTEGER,
    target_type      TEXT    NOT NULL CHECK (target_type IN ('group', 'private')),
    target_id        INTEGER NOT NULL,
    via_group_id     INTEGER,          -- for private messages to non-friends (temp session)
    segments         TEXT    NOT NULL, -- JSON list of OneBot segments
    kind             TEXT    NOT NULL,
    dedupe_key       TEXT,
    state            TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL    NOT NULL,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    sent_at          REAL
);
CREATE UNIQUE INDEX ux_outbox_dedupe ON outbox(dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX ix_outbox_due ON outbox(state, next_attempt_at, id);
