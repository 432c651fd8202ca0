-- 投票与问卷: polls and surveys. Times are Unix epoch seconds (UTC); ids are AUTOINCREMENT.
--
-- Anonymity. In an anonymous poll or survey, WHO took part and WHAT they chose are kept in
-- separate tables that share nothing that joins them: no key, no timestamp, no insertion
-- order. The "who" tables (poll_voters, survey_respondents) are WITHOUT ROWID tables keyed by
-- (poll or survey, person) with no other column, so they are stored in QQ-number order, not
-- in the order people took part. The "what" of a poll is a counter per option updated in place
-- (poll_tallies: the rows exist from the poll's creation); the "what" of a survey is one sheet
-- of answers per response under a random sheet number (survey_sheets), stored in that random
-- order and without a time.

CREATE TABLE polls (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id     INTEGER NOT NULL REFERENCES branches(id),
    group_id      INTEGER,            -- the group it was started in
    creator_id    INTEGER NOT NULL,
    question      TEXT    NOT NULL,
    options       INTEGER NOT NULL CHECK (options BETWEEN 2 AND 50),
    multi         INTEGER NOT NULL DEFAULT 0,
    anonymous     INTEGER NOT NULL DEFAULT 0,
    hide_results  INTEGER NOT NULL DEFAULT 0,
    closes_at     INTEGER,            -- the deadline (截止); NULL: open until closed by hand
    state         TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    created_at    INTEGER NOT NULL,
    closed_at     INTEGER,
    closed_by     INTEGER             -- NULL when closed by its deadline
);
CREATE INDEX ix_polls_branch ON polls(branch_id, state, id);
CREATE INDEX ix_polls_deadline ON polls(state, closes_at) WHERE closes_at IS NOT NULL;
CREATE INDEX ix_polls_created ON polls(branch_id, created_at);

CREATE TABLE poll_options (
    poll_id   INTEGER NOT NULL REFERENCES polls(id),
    position  INTEGER NOT NULL,       -- 1-based, as voters type it
    label     TEXT    NOT NULL,
    PRIMARY KEY (poll_id, position)
) WITHOUT ROWID;

-- Named polls: the person's current ballot, one row per chosen option. A new ballot replaces
-- the old one (while the poll is open).
CREATE TABLE poll_ballots (
    poll_id   INTEGER NOT NULL REFERENCES polls(id),
    user_id   INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (poll_id, user_id, position),
    FOREIGN KEY (poll_id, position) REFERENCES poll_options(poll_id, position)
) WITHOUT ROWID;

-- Anonymous polls, who: has voted (to stop a second ballot). Nothing else.
CREATE TABLE poll_voters (
    poll_id  INTEGER NOT NULL REFERENCES polls(id),
    user_id  INTEGER NOT NULL,
    PRIMARY KEY (poll_id, user_id)
) WITHOUT ROWID;

-- Anonymous polls, what: a counter per option, created with the poll, incremented in place.
CREATE TABLE poll_tallies (
    poll_id   INTEGER NOT NULL REFERENCES polls(id),
    position  INTEGER NOT NULL,
    votes     INTEGER NOT NULL DEFAULT 0 CHECK (votes >= 0),
    PRIMARY KEY (poll_id, position)
) WITHOUT ROWID;

CREATE TABLE surveys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    group_id    INTEGER,
    creator_id  INTEGER NOT NULL,
    title       TEXT    NOT NULL,
    template    TEXT,                 -- 'satisfaction' for the 满意度 template, else NULL
    anonymous   INTEGER NOT NULL DEFAULT 0,
    link_kind   TEXT CHECK (link_kind IS NULL OR link_kind IN ('session', 'wish')),
    link_id     INTEGER,              -- the session (导学/活动) or wish whose participants answer
    invite_at   INTEGER,              -- when the participants are to be invited privately
    invited_at  INTEGER,              -- when their invitations were queued
    state       TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    CHECK ((link_kind IS NULL) = (link_id IS NULL))
);
CREATE INDEX ix_surveys_branch ON surveys(branch_id, state, id);
CREATE INDEX ix_surveys_created ON surveys(branch_id, created_at);
CREATE INDEX ix_surveys_invite ON surveys(invite_at) WHERE invited_at IS NULL;

CREATE TABLE survey_questions (
    survey_id     INTEGER NOT NULL REFERENCES surveys(id),
    position      INTEGER NOT NULL,   -- 1-based
    kind          TEXT    NOT NULL CHECK (kind IN ('scale', 'choice', 'text')),
    prompt        TEXT    NOT NULL,
    choices       TEXT,               -- JSON list of the options of a choice question
    optional      INTEGER NOT NULL DEFAULT 0,
    satisfaction  INTEGER NOT NULL DEFAULT 0,  -- the 满意度 template's overall-score question
    PRIMARY KEY (survey_id, position)
) WITHOUT ROWID;

-- Named surveys: one response per person, and its answers.
CREATE TABLE survey_responses (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    survey_id     INTEGER NOT NULL REFERENCES surveys(id),
    user_id       INTEGER NOT NULL,
    submitted_at  INTEGER NOT NULL,
    UNIQUE (survey_id, user_id)
);
CREATE TABLE survey_answers (
    response_id  INTEGER NOT NULL REFERENCES survey_responses(id),
    position     INTEGER NOT NULL,
    value        TEXT,                -- NULL: skipped (optional question)
    PRIMARY KEY (response_id, position)
) WITHOUT ROWID;

-- Anonymous surveys, who: has answered. Nothing else.
CREATE TABLE survey_respondents (
    survey_id  INTEGER NOT NULL REFERENCES surveys(id),
    user_id    INTEGER NOT NULL,
    PRIMARY KEY (survey_id, user_id)
) WITHOUT ROWID;

-- Anonymous surveys, what: the answers of one response under a random sheet number.
CREATE TABLE survey_sheets (
    survey_id  INTEGER NOT NULL REFERENCES surveys(id),
    sheet      INTEGER NOT NULL,      -- random, drawn per response: no order, no time
    position   INTEGER NOT NULL,
    value      TEXT,
    PRIMARY KEY (survey_id, sheet, position)
) WITHOUT ROWID;
