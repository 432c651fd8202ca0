-- Service (issue 25): posts and responsibility areas, the task list, skills for matching wishes
-- to members, and the service standard's sources.

-- Skills a member declared (`/成员 特长`): tags separated by single spaces; `matching` 0 when
-- they turned wish matching off. On the profile row, so a bind merges them with the profile.
ALTER TABLE members ADD COLUMN skills TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN matching INTEGER NOT NULL DEFAULT 1;

-- Who was told privately that a new wish may suit them (once per wish and person).
CREATE TABLE wish_matches (
    wish_id      INTEGER NOT NULL REFERENCES wishes(id),
    user_id      INTEGER NOT NULL,
    score        INTEGER NOT NULL,   -- tags of theirs found in the wish text
    notified_at  INTEGER NOT NULL,
    PRIMARY KEY (wish_id, user_id)
) WITHOUT ROWID;

-- Posts: 党员先锋岗 (with a name), 党员责任区 (a floor, or dorms of a floor), 社区服务观察员.
-- Ending a post is a state change (ended_at); rows are never deleted.
CREATE TABLE posts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    user_id     INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('vanguard', 'area', 'observer')),
    title       TEXT,                -- the 先锋岗's name
    floor       TEXT,                -- the 责任区's floor (normalised as profiles are)
    dorm_from   TEXT,                -- the 责任区's dorms, both NULL for the whole floor
    dorm_to     TEXT,
    created_by  INTEGER,
    created_at  INTEGER NOT NULL,
    ended_by    INTEGER,
    ended_at    INTEGER,
    CHECK ((kind = 'area') = (floor IS NOT NULL)),
    CHECK ((dorm_from IS NULL) = (dorm_to IS NULL))
);
CREATE INDEX ix_posts_branch ON posts(branch_id, ended_at, kind, user_id);

-- The posts held when a term ended (a new term started): an ended term's report reads these,
-- as it reads term_members, so it stays the same after posts change.
CREATE TABLE term_posts (
    term_id     INTEGER NOT NULL REFERENCES terms(id),
    post_id     INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    title       TEXT,
    floor       TEXT,
    dorm_from   TEXT,
    dorm_to     TEXT,
    PRIMARY KEY (term_id, post_id)
) WITHOUT ROWID;

-- The task list (社区党建任务清单). A task is for people (one row each in task_assignments,
-- fixed when it is published: one person, a post's holders, a floor's or every eligible
-- member), or open to claim by one eligible member.
CREATE TABLE tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id    INTEGER NOT NULL REFERENCES branches(id),
    group_id     INTEGER,
    title        TEXT    NOT NULL,
    target_kind  TEXT    NOT NULL CHECK (target_kind IN ('person', 'post', 'floor', 'all',
                                                         'open')),
    target       TEXT,               -- the post kind or the floor
    points       INTEGER NOT NULL DEFAULT 0,
    due_at       INTEGER,
    remind_at    INTEGER,            -- the day-before reminder (NULL: none)
    reminded_at  INTEGER,
    overdue_at   INTEGER,            -- when the overdue notice was queued
    state        TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'cancelled')),
    created_by   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    ended_at     INTEGER
);
CREATE INDEX ix_tasks_branch ON tasks(branch_id, state, id);
CREATE INDEX ix_tasks_branch_created ON tasks(branch_id, created_at);
CREATE INDEX ix_tasks_due ON tasks(state, due_at);

CREATE TABLE task_assignments (
    task_id        INTEGER NOT NULL REFERENCES tasks(id),
    user_id        INTEGER NOT NULL,
    state          TEXT    NOT NULL DEFAULT 'todo' CHECK (state IN ('todo', 'done', 'confirmed')),
    claimed        INTEGER NOT NULL DEFAULT 0,   -- took an open task with /任务 认领
    note           TEXT,                         -- the assignee's report (完成说明)
    done_at        INTEGER,
    confirmed_at   INTEGER,
    confirmed_by   INTEGER,
    returns        INTEGER NOT NULL DEFAULT 0,   -- times returned (退回)
    return_reason  TEXT,
    assigned_at    INTEGER NOT NULL,
    PRIMARY KEY (task_id, user_id),
    CHECK ((state = 'confirmed') = (confirmed_at IS NOT NULL))
) WITHOUT ROWID;
CREATE INDEX ix_task_assignments_user ON task_assignments(user_id, state);
CREATE INDEX ix_task_assignments_confirmed ON task_assignments(confirmed_at)
    WHERE state = 'confirmed';

CREATE TABLE task_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id   INTEGER NOT NULL REFERENCES tasks(id),
    user_id   INTEGER,      -- whose assignment the event is about
    actor_id  INTEGER,
    action    TEXT    NOT NULL,
    note      TEXT,
    at        INTEGER NOT NULL
);
CREATE INDEX ix_task_events_task ON task_events(task_id, id);

-- Every table a figure reads bumps its branch's data version (the picture cache, issue 23).
CREATE TRIGGER dv_posts_insert AFTER INSERT ON posts BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_posts_update AFTER UPDATE ON posts BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_posts_delete AFTER DELETE ON posts BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_tasks_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_tasks_update AFTER UPDATE ON tasks BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_tasks_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_wish_matches_insert AFTER INSERT ON wish_matches BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM wishes p WHERE p.id = NEW.wish_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_wish_matches_update AFTER UPDATE ON wish_matches BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM wishes p WHERE p.id = NEW.wish_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_wish_matches_delete AFTER DELETE ON wish_matches BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM wishes p WHERE p.id = OLD.wish_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_term_posts_insert AFTER INSERT ON term_posts BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM terms p WHERE p.id = NEW.term_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_term_posts_update AFTER UPDATE ON term_posts BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM terms p WHERE p.id = NEW.term_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_term_posts_delete AFTER DELETE ON term_posts BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM terms p WHERE p.id = OLD.term_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_task_assignments_insert AFTER INSERT ON task_assignments BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM tasks p WHERE p.id = NEW.task_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_task_assignments_update AFTER UPDATE ON task_assignments BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM tasks p WHERE p.id = NEW.task_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_task_assignments_delete AFTER DELETE ON task_assignments BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM tasks p WHERE p.id = OLD.task_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_task_events_insert AFTER INSERT ON task_events BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM tasks p WHERE p.id = NEW.task_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_task_events_update AFTER UPDATE ON task_events BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM tasks p WHERE p.id = NEW.task_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_task_events_delete AFTER DELETE ON task_events BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM tasks p WHERE p.id = OLD.task_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
