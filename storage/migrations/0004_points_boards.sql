-- Leaderboards from maintained aggregates, and pairings (结对帮扶).

-- The local calendar day of each entry (branch timezone), set by the application, so that
-- week and month boards follow Asia/Shanghai (or the configured zone), not UTC.
DROP TRIGGER ledger_no_update;
ALTER TABLE ledger ADD COLUMN local_day TEXT;
UPDATE ledger SET local_day = date(created_at, 'unixepoch', '+8 hours');
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;

-- Sums of the ledger per branch, period and person; kept by the trigger below in the same
-- transaction as each entry. Periods: 'all', 'term:<id>', 'week:<monday>', 'month:<YYYY-MM>'.
CREATE TABLE points_agg (
    branch_id  INTEGER NOT NULL,
    period     TEXT    NOT NULL,
    user_id    INTEGER NOT NULL,
    total      INTEGER NOT NULL,
    PRIMARY KEY (branch_id, period, user_id)
) WITHOUT ROWID;
CREATE INDEX ix_points_agg_rank ON points_agg(branch_id, period, total);

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

INSERT INTO points_agg
    SELECT branch_id, 'all', user_id, SUM(delta) FROM ledger GROUP BY branch_id, user_id;
INSERT INTO points_agg
    SELECT branch_id, 'term:' || term_id, user_id, SUM(delta) FROM ledger
    GROUP BY branch_id, term_id, user_id;
INSERT INTO points_agg
    SELECT branch_id, 'week:' || date(local_day, '-6 days', 'weekday 1'), user_id, SUM(delta)
    FROM ledger GROUP BY 1, 2, 3;
INSERT INTO points_agg
    SELECT branch_id, 'month:' || substr(local_day, 1, 7), user_id, SUM(delta)
    FROM ledger GROUP BY 1, 2, 3;

CREATE TABLE pairings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    term_id     INTEGER NOT NULL REFERENCES terms(id),
    created_by  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE TABLE pairs (
    pairing_id  INTEGER NOT NULL REFERENCES pairings(id),
    helper_id   INTEGER NOT NULL,   -- the high scorer
    helped_id   INTEGER NOT NULL,   -- the low scorer
    CHECK (helper_id != helped_id),
    PRIMARY KEY (pairing_id, helper_id)
);
CREATE INDEX ix_pairs_helped ON pairs(pairing_id, helped_id);
