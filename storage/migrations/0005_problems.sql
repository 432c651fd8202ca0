-- 民情收集站: problems raised by students, their handling and a timeline of every transition.
-- Times are Unix epoch seconds (UTC); ids are AUTOINCREMENT so they are never reused.

CREATE TABLE problems (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id       INTEGER NOT NULL REFERENCES branches(id),
    group_id        INTEGER,           -- NULL: raised in a private chat with the bot
    reporter_id     INTEGER NOT NULL,
    category        TEXT    NOT NULL,
    content         TEXT    NOT NULL,
    anonymous       INTEGER NOT NULL DEFAULT 0,
    private         INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL CHECK (state IN
                        ('pending', 'in_progress', 'escalated', 'solved', 'done', 'closed')),
    handler_id      INTEGER,
    escalated_to    TEXT,
    solution        TEXT,              -- the handler's note when reporting the fix
    close_reason    TEXT,
    rating          INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
    rating_comment  TEXT,
    auto_confirmed  INTEGER NOT NULL DEFAULT 0,
    reopen_count    INTEGER NOT NULL DEFAULT 0,
    raised_at       INTEGER NOT NULL,
    taken_at        INTEGER,           -- first response: taken on or escalated, set once
    escalated_at    INTEGER,
    solved_at       INTEGER,           -- the latest 已解决; cleared by a reopen
    done_at         INTEGER,           -- 已办结: confirmed by the reporter or automatically
    closed_at       INTEGER,
    CHECK (private = (group_id IS NULL)),
    -- a problem being worked on has a handler
    CHECK (state != 'in_progress' OR handler_id IS NOT NULL),
    CHECK (state = 'pending' OR taken_at IS NOT NULL OR state = 'closed')
);
-- open ones by age per branch (lists, 清单, overdue checks; category for the targets)
CREATE INDEX ix_problems_branch_state ON problems(branch_id, state, raised_at, category);
CREATE INDEX ix_problems_branch_category ON problems(branch_id, category, state, raised_at);
-- the report: problems raised in a term, covering every column the figures read
CREATE INDEX ix_problems_branch_raised ON problems(branch_id, raised_at, state, category, rating,
                                                   taken_at, solved_at);
-- 已解决 waiting for confirmation, over every branch
CREATE INDEX ix_problems_solved ON problems(state, solved_at);
CREATE INDEX ix_problems_handler ON problems(branch_id, handler_id, state);
CREATE INDEX ix_problems_reporter ON problems(branch_id, reporter_id);

CREATE TABLE problem_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    problem_id  INTEGER NOT NULL REFERENCES problems(id),
    actor_id    INTEGER,               -- NULL: the bot (automatic confirmation)
    action      TEXT    NOT NULL,
    target_id   INTEGER,               -- the person assigned, for 受理/转办
    note        TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX ix_problem_events_problem ON problem_events(problem_id, id);
