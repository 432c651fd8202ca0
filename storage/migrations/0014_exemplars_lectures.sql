-- 微典型 (exemplars: nominations, review, votes, cases, the public showcase page), 微党课
-- (speakers of an activity scored by its audience), and the ledger's new category 荣誉.
-- Times are Unix epoch seconds (UTC); ids are AUTOINCREMENT and never reused.

-- The ledger: 荣誉 (honours, e.g. a term's exemplar) joins 出勤, 互动, 服务 and 奖惩. SQLite
-- cannot change a CHECK constraint in place, so the table is rebuilt: the same columns, rows
-- and ids, then its indexes and triggers as migrations 0001, 0004 and 0010 left them. The new
-- table references itself as ledger_new until the rename, so dropping the old table checks no
-- reference from it; the copy fires no trigger, so points_agg stays as it is. Dropping the old
-- table drops its triggers: every trigger an earlier migration put on the ledger must be created
-- again below (tests/storage/test_database.py fails otherwise).
CREATE TABLE ledger_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    term_id      INTEGER NOT NULL REFERENCES terms(id),
    user_id      INTEGER NOT NULL,
    category     TEXT    NOT NULL CHECK (category IN ('出勤', '互动', '服务', '奖惩', '荣誉')),
    delta        INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    ref          TEXT,
    reverses_id  INTEGER REFERENCES ledger_new(id),
    operator_id  INTEGER,
    created_at   INTEGER NOT NULL,
    local_day    TEXT
);
INSERT INTO ledger_new (id, branch_id, term_id, user_id, category, delta, reason, ref,
                        reverses_id, operator_id, created_at, local_day)
    SELECT id, branch_id, term_id, user_id, category, delta, reason, ref, reverses_id,
           operator_id, created_at, local_day FROM ledger ORDER BY id;
DROP TABLE ledger;
ALTER TABLE ledger_new RENAME TO ledger;

CREATE UNIQUE INDEX ux_ledger_ref ON ledger(branch_id, ref) WHERE ref IS NOT NULL;
CREATE UNIQUE INDEX ux_ledger_reverses ON ledger(reverses_id) WHERE reverses_id IS NOT NULL;
CREATE INDEX ix_ledger_term_user ON ledger(branch_id, term_id, user_id, category, delta);
CREATE INDEX ix_ledger_user ON ledger(branch_id, user_id, id);

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
WHEN NOT EXISTS (SELECT 1 FROM branch_merges m WHERE m.moving = 1
                 AND m.from_branch_id = OLD.branch_id AND m.into_branch_id = NEW.branch_id)
  OR NOT EXISTS (SELECT 1 FROM terms t WHERE t.id = NEW.term_id AND t.branch_id = NEW.branch_id)
  OR NEW.id IS NOT OLD.id OR NEW.user_id IS NOT OLD.user_id
  OR NEW.category IS NOT OLD.category OR NEW.delta IS NOT OLD.delta
  OR NEW.reason IS NOT OLD.reason OR NEW.ref IS NOT OLD.ref
  OR NEW.reverses_id IS NOT OLD.reverses_id OR NEW.operator_id IS NOT OLD.operator_id
  OR NEW.created_at IS NOT OLD.created_at OR NEW.local_day IS NOT OLD.local_day
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
CREATE TRIGGER ledger_aggregate AFTER INSERT ON ledger
BEGIN
    INSERT INTO points_agg VALUES (NEW.branch_id, 'all', NEW.user_id, NEW.delta)
        ON CONFLICT(branch_id, period, user_id) DO UPDATE SET total = total + excluded.total;
    INSERT INTO points_agg VALUES (NEW.branch_id, 'term:' || NEW.term_id, NEW.user_id, NEW.delta)
        ON CONFLICT(branch_id, period, user_id) DO UPDATE SET total = total + excluded.total;
    INSERT INTO points_agg VALUES (
        NEW.branch_id,
        'week:' || date(COALESCE(NEW.local_day, date(NEW.created_at, 'unixepoch', '+8 hours')),
                        '-6 days', 'weekday 1'),
        NEW.user_id, NEW.delta)
        ON CONFLICT(branch_id, period, user_id) DO UPDATE SET total = total + excluded.total;
    INSERT INTO points_agg VALUES (
        NEW.branch_id,
        'month:' || substr(COALESCE(NEW.local_day,
                                    date(NEW.created_at, 'unixepoch', '+8 hours')), 1, 7),
        NEW.user_id, NEW.delta)
        ON CONFLICT(branch_id, period, user_id) DO UPDATE SET total = total + excluded.total;
END;

-- 微典型 -------------------------------------------------------------------------------------

-- A term's nomination window (征集), opened by an admin; the latest row of a branch's term is
-- the one in force (a second 征集 extends or reopens it). No unique key, so a bind that moves
-- another branch's windows in never clashes.
CREATE TABLE exemplar_calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    term_id     INTEGER NOT NULL REFERENCES terms(id),
    opens_at    INTEGER NOT NULL,
    closes_at   INTEGER NOT NULL,
    opened_by   INTEGER NOT NULL,
    CHECK (closes_at > opens_at)
);
CREATE INDEX ix_exemplar_calls ON exemplar_calls(branch_id, term_id, id);

-- One nomination (自荐 when nominee = nominator, else 推荐). pending → approved | returned;
-- approved → selected (by the vote, or by the committee after a tie). A person has at most one
-- nomination per field and term that was not returned (a returned one may be made again).
CREATE TABLE exemplar_nominations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id     INTEGER NOT NULL REFERENCES branches(id),
    term_id       INTEGER NOT NULL REFERENCES terms(id),
    field         TEXT    NOT NULL,
    nominee_id    INTEGER NOT NULL,
    nominator_id  INTEGER NOT NULL,
    story         TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'approved', 'returned', 'selected')),
    created_at    INTEGER NOT NULL,
    reviewed_by   INTEGER,
    reviewed_at   INTEGER,
    review_note   TEXT,               -- the reason of a 退回 (told privately), or a note
    selected_at   INTEGER,
    selected_by   INTEGER,            -- NULL: chosen by the vote; else the admin who settled a tie
    announced_at  INTEGER             -- first 公示 that showed it
);
CREATE UNIQUE INDEX ux_exemplar_nominations_one
    ON exemplar_nominations(branch_id, term_id, field, nominee_id) WHERE state <> 'returned';
CREATE INDEX ix_exemplar_nominations_term ON exemplar_nominations(branch_id, term_id, field);
CREATE INDEX ix_exemplar_nominations_person ON exemplar_nominations(nominee_id, branch_id);

-- A field's vote: a poll of the poll machinery (anonymous if asked) among the field's approved
-- nominees. open → decided (one clear winner) | tied (the committee settles with /典型 确定)
-- → settled.
CREATE TABLE exemplar_votes (
    poll_id     INTEGER PRIMARY KEY REFERENCES polls(id),
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    term_id     INTEGER NOT NULL REFERENCES terms(id),
    field       TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'decided', 'tied', 'settled')),
    closed_at   INTEGER
);
CREATE INDEX ix_exemplar_votes_term ON exemplar_votes(branch_id, term_id, field);

-- Which nomination each option of a vote stands for, and the votes it got when it closed.
CREATE TABLE exemplar_vote_options (
    poll_id        INTEGER NOT NULL REFERENCES exemplar_votes(poll_id),
    position       INTEGER NOT NULL,
    nomination_id  INTEGER NOT NULL REFERENCES exemplar_nominations(id),
    votes          INTEGER,           -- NULL while the vote is open
    PRIMARY KEY (poll_id, position)
) WITHOUT ROWID;

-- A story turned into a case (案例): at most one per nomination.
CREATE TABLE exemplar_cases (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id      INTEGER NOT NULL REFERENCES branches(id),
    nomination_id  INTEGER NOT NULL UNIQUE REFERENCES exemplar_nominations(id),
    title          TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    author_id      INTEGER NOT NULL,
    created_by     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX ix_exemplar_cases_branch ON exemplar_cases(branch_id, created_at);

-- The public showcase page (展示页): a link per branch until an admin closes it; a closed
-- token shows nothing, ever again.
CREATE TABLE showcase_pages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    token       TEXT    NOT NULL UNIQUE,
    created_by  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    closed_by   INTEGER,
    closed_at   INTEGER
);
CREATE INDEX ix_showcase_pages_branch ON showcase_pages(branch_id, closed_at, id);

-- One row per visitor, page and local day. ``visitor`` is a truncated SHA-256 of a random salt
-- of that day (kept only in the bot's memory, replaced at midnight, never written anywhere),
-- the address and the browser's name: no address is stored, and once the day is over nobody
-- can tell whose visit a row was. ``at``: the first view of that visitor that day.
CREATE TABLE showcase_views (
    page_id  INTEGER NOT NULL REFERENCES showcase_pages(id),
    day      TEXT    NOT NULL,
    visitor  TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (page_id, day, visitor)
) WITHOUT ROWID;

-- 微党课 ------------------------------------------------------------------------------------

-- The scoring of one activity with speakers: anonymous or not, when it closes (the end plus
-- score_close_hours, fixed when the speakers are set), when it closed (ranking posted).
CREATE TABLE lecture_rounds (
    session_id  INTEGER PRIMARY KEY REFERENCES sessions(id),
    anonymous   INTEGER NOT NULL DEFAULT 0,
    closes_at   INTEGER NOT NULL,
    closed_at   INTEGER,
    set_by      INTEGER NOT NULL,
    set_at      INTEGER NOT NULL
);
CREATE INDEX ix_lecture_rounds_open ON lecture_rounds(closed_at, closes_at);

CREATE TABLE lecture_speakers (
    session_id  INTEGER NOT NULL REFERENCES lecture_rounds(session_id),
    position    INTEGER NOT NULL,     -- 1-based, as scorers type it
    user_id     INTEGER NOT NULL,
    title       TEXT    NOT NULL,
    PRIMARY KEY (session_id, position),
    UNIQUE (session_id, user_id)
);

-- One score per (scorer, speaker), replaced until the round closes. Nobody scores themself.
-- When an anonymous round closes its rows are written again in random order without scorer
-- or time, so the database no longer knows who gave which score.
CREATE TABLE lecture_scores (
    session_id  INTEGER NOT NULL,
    speaker_id  INTEGER NOT NULL,
    scorer_id   INTEGER,
    score       INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    at          INTEGER,
    CHECK (scorer_id IS NULL OR scorer_id <> speaker_id),
    FOREIGN KEY (session_id, speaker_id) REFERENCES lecture_speakers(session_id, user_id)
);
CREATE UNIQUE INDEX ux_lecture_scores_one ON lecture_scores(session_id, speaker_id, scorer_id);
CREATE INDEX ix_lecture_scores_scorer ON lecture_scores(session_id, scorer_id);

-- The picture cache's data versions (issue 23): the rebuilt ledger gets its triggers back,
-- and every new table a figure reads bumps its branch's version (the nomination windows
-- and the showcase links are read by no figure).
CREATE TRIGGER dv_ledger_insert AFTER INSERT ON ledger BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_ledger_update AFTER UPDATE ON ledger BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_ledger_delete AFTER DELETE ON ledger BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_nominations_insert AFTER INSERT ON exemplar_nominations BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_nominations_update AFTER UPDATE ON exemplar_nominations BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_nominations_delete AFTER DELETE ON exemplar_nominations BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_votes_insert AFTER INSERT ON exemplar_votes BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_votes_update AFTER UPDATE ON exemplar_votes BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_votes_delete AFTER DELETE ON exemplar_votes BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_cases_insert AFTER INSERT ON exemplar_cases BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_cases_update AFTER UPDATE ON exemplar_cases BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_cases_delete AFTER DELETE ON exemplar_cases BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_vote_options_insert AFTER INSERT ON exemplar_vote_options BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM exemplar_votes p WHERE p.poll_id = NEW.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_vote_options_update AFTER UPDATE ON exemplar_vote_options BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM exemplar_votes p WHERE p.poll_id = NEW.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_exemplar_vote_options_delete AFTER DELETE ON exemplar_vote_options BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM exemplar_votes p WHERE p.poll_id = OLD.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_showcase_views_insert AFTER INSERT ON showcase_views BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM showcase_pages p WHERE p.id = NEW.page_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_showcase_views_update AFTER UPDATE ON showcase_views BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM showcase_pages p WHERE p.id = NEW.page_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_showcase_views_delete AFTER DELETE ON showcase_views BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM showcase_pages p WHERE p.id = OLD.page_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_lecture_rounds_insert AFTER INSERT ON lecture_rounds BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_lecture_rounds_update AFTER UPDATE ON lecture_rounds BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_lecture_rounds_delete AFTER DELETE ON lecture_rounds BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = OLD.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_lecture_speakers_insert AFTER INSERT ON lecture_speakers BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_lecture_speakers_update AFTER UPDATE ON lecture_speakers BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_lecture_speakers_delete AFTER DELETE ON lecture_speakers BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = OLD.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_lecture_scores_insert AFTER INSERT ON lecture_scores BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_lecture_scores_update AFTER UPDATE ON lecture_scores BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_lecture_scores_delete AFTER DELETE ON lecture_scores BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = OLD.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
