-- Branches, groups, members, terms, wishes and the points ledger.
-- Times are Unix epoch seconds (UTC); ids are AUTOINCREMENT so they are never reused.

CREATE TABLE branches (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE branch_groups (
    group_id    INTEGER PRIMARY KEY,
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    bound_at    INTEGER NOT NULL,
    bound_by    INTEGER
);
CREATE INDEX ix_branch_groups_branch ON branch_groups(branch_id);

CREATE TABLE members (
    branch_id     INTEGER NOT NULL REFERENCES branches(id),
    user_id       INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    floor         TEXT,
    dorm          TEXT,
    identity      TEXT    NOT NULL DEFAULT '群众',
    is_committee  INTEGER NOT NULL DEFAULT 0,
    is_secretary  INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (branch_id, user_id)
);

CREATE TABLE terms (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    name        TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER
);
CREATE INDEX ix_terms_branch ON terms(branch_id, id);

CREATE TABLE wishes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id       INTEGER NOT NULL REFERENCES branches(id),
    group_id        INTEGER,
    wisher_id       INTEGER NOT NULL,
    content         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN
                        ('open', 'claimed', 'awaiting_rating', 'completed', 'withdrawn', 'closed')),
    claimer_id      INTEGER,
    claimed_at      INTEGER,
    done_at         INTEGER,
    done_note       TEXT,
    rating          INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
    rating_comment  TEXT,
    completed_at    INTEGER,
    auto_completed  INTEGER NOT NULL DEFAULT 0,
    ended_at        INTEGER,
    end_reason      TEXT,
    created_at      INTEGER NOT NULL,
    -- a claimed or served wish has a claimer, an open one has none
    CHECK ((state = 'open') = (claimer_id IS NULL) OR state IN ('withdrawn', 'closed'))
);
CREATE INDEX ix_wishes_branch_state ON wishes(branch_id, state, id);
CREATE INDEX ix_wishes_claimer ON wishes(branch_id, claimer_id, state);
CREATE INDEX ix_wishes_wisher ON wishes(branch_id, wisher_id);
CREATE INDEX ix_wishes_done ON wishes(state, done_at);

CREATE TABLE wish_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    wish_id     INTEGER NOT NULL REFERENCES wishes(id),
    actor_id    INTEGER,
    action      TEXT    NOT NULL,
    note        TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX ix_wish_events_wish ON wish_events(wish_id, id);

-- Append-only: totals are sums of entries. `ref` names the source event so that one event
-- never books twice; a reversal points at the entry it reverses, at most once.
CREATE TABLE ledger (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    term_id      INTEGER NOT NULL REFERENCES terms(id),
    user_id      INTEGER NOT NULL,
    category     TEXT    NOT NULL CHECK (category IN ('出勤', '互动', '服务', '奖惩')),
    delta        INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    ref          TEXT,
    reverses_id  INTEGER REFERENCES ledger(id),
    operator_id  INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX ux_ledger_ref ON ledger(branch_id, ref) WHERE ref IS NOT NULL;
CREATE UNIQUE INDEX ux_ledger_reverses ON ledger(reverses_id) WHERE reverses_id IS NOT NULL;
CREATE INDEX ix_ledger_term_user ON ledger(branch_id, term_id, user_id, category, delta);
CREATE INDEX ix_ledger_user ON ledger(branch_id, user_id, id);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
