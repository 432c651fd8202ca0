-- 活动: 导学 becomes one kind of activity. Every activity is a row of `sessions` (one model:
-- scheduling, codes, check-in, 补签, reminders and the sheet are shared by every kind).

ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT '导学';
ALTER TABLE sessions ADD COLUMN capacity INTEGER CHECK (capacity IS NULL OR capacity >= 1);
ALTER TABLE sessions ADD COLUMN signup_deadline INTEGER;   -- NULL: sign-up closes at the start
ALTER TABLE sessions ADD COLUMN place TEXT;
CREATE INDEX ix_sessions_kind ON sessions(branch_id, kind, starts_at);

-- One row per person and activity. `seq` is the order of signing up (waitlist order);
-- positions on the waitlist are ranks among waiting rows, so they never have gaps.
CREATE TABLE signups (
    session_id    INTEGER NOT NULL REFERENCES sessions(id),
    user_id       INTEGER NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('confirmed', 'waitlist', 'cancelled')),
    seq           INTEGER NOT NULL,
    note          TEXT,
    signed_at     INTEGER NOT NULL,
    promoted_at   INTEGER,
    cancelled_at  INTEGER,
    late_cancel   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, user_id),
    UNIQUE (session_id, seq)
);
CREATE INDEX ix_signups_status ON signups(session_id, status, seq);
CREATE INDEX ix_signups_user ON signups(user_id, session_id);

-- The database itself refuses more confirmed sign-ups than places, whatever the code does.
CREATE TRIGGER signups_capacity_insert BEFORE INSERT ON signups
WHEN NEW.status = 'confirmed' AND (
    SELECT COUNT(*) FROM signups WHERE session_id = NEW.session_id AND status = 'confirmed'
) >= COALESCE((SELECT capacity FROM sessions WHERE id = NEW.session_id), 1000000000)
BEGIN
    SELECT RAISE(ABORT, 'activity is full');
END;

CREATE TRIGGER signups_capacity_update BEFORE UPDATE OF status ON signups
WHEN NEW.status = 'confirmed' AND OLD.status <> 'confirmed' AND (
    SELECT COUNT(*) FROM signups WHERE session_id = NEW.session_id AND status = 'confirmed'
) >= COALESCE((SELECT capacity FROM sessions WHERE id = NEW.session_id), 1000000000)
BEGIN
    SELECT RAISE(ABORT, 'activity is full');
END;

-- 请假 for meetings: recorded, not approved by the bot.
CREATE TABLE leaves (
    session_id  INTEGER NOT NULL REFERENCES sessions(id),
    user_id     INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

-- A private message that may carry what to tell the group instead if it cannot be delivered.
ALTER TABLE outbox ADD COLUMN fallback_segments TEXT;
