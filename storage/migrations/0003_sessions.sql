-- 导学 guided-study sessions, check-ins, wrong-code counters, reading notes, leader rotation.

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id     INTEGER NOT NULL REFERENCES branches(id),
    group_id      INTEGER,
    topic         TEXT    NOT NULL,
    starts_at     INTEGER NOT NULL,
    ends_at       INTEGER NOT NULL,
    leader_id     INTEGER NOT NULL,
    creator_id    INTEGER NOT NULL,
    code          TEXT,              -- 4 digits; NULL: a session without a code (无码)
    state         TEXT    NOT NULL DEFAULT 'scheduled' CHECK (state IN ('scheduled', 'cancelled')),
    cancelled_at  INTEGER,
    created_at    INTEGER NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX ix_sessions_branch_time ON sessions(branch_id, state, starts_at);
CREATE INDEX ix_sessions_time ON sessions(state, ends_at);

-- One row per person and session: a burst of check-ins can neither lose nor double a row.
CREATE TABLE checkins (
    session_id   INTEGER NOT NULL REFERENCES sessions(id),
    user_id      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    method       TEXT    NOT NULL CHECK (method IN ('code', 'open', 'manual')),
    operator_id  INTEGER,
    reason       TEXT,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX ix_checkins_user ON checkins(user_id, session_id);

CREATE TABLE checkin_failures (
    session_id   INTEGER NOT NULL REFERENCES sessions(id),
    user_id      INTEGER NOT NULL,
    wrong_count  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE notes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  INTEGER NOT NULL REFERENCES sessions(id),
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    user_id     INTEGER NOT NULL,
    content     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (session_id, user_id)
);
CREATE INDEX ix_notes_branch ON notes(branch_id, created_at);

CREATE TABLE rotations (
    branch_id   INTEGER PRIMARY KEY REFERENCES branches(id),
    members     TEXT    NOT NULL,   -- JSON list of QQ numbers, in turn order
    next_index  INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);
