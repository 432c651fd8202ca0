-- A secretary's first term (issue 14): floors as a structure, 党小组 leaders, terms whose
-- membership is frozen when they end, and branch merges that move a group's data.

-- Floors: one spelling per floor (domain/floors.py has the same rules; a test checks both
-- agree). 4, 04, 4楼, 四楼, 4F, 4f, 4层, 第4层, ４楼 → 4楼 for floors 1–99; other names keep
-- their text without spaces. Dorms: no spaces, no trailing 室/宿舍/寝室/号, upper case.
CREATE TEMP TABLE floor_spellings (spelling TEXT PRIMARY KEY, canonical TEXT NOT NULL);
WITH RECURSIVE
    n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 99),
    cn(v, s) AS (
        SELECT v, CASE
            WHEN v < 10 THEN substr('零一二三四五六七八九', v + 1, 1)
            WHEN v = 10 THEN '十'
            WHEN v < 20 THEN '十' || substr('零一二三四五六七八九', v - 10 + 1, 1)
            WHEN v % 10 = 0 THEN substr('零一二三四五六七八九', v / 10 + 1, 1) || '十'
            ELSE substr('零一二三四五六七八九', v / 10 + 1, 1) || '十'
                 || substr('零一二三四五六七八九', v % 10 + 1, 1)
        END FROM n),
    spelled(v, s) AS (
        SELECT v, CAST(v AS TEXT) FROM n
        UNION SELECT v, printf('%02d', v) FROM n
        UNION SELECT v, printf('%03d', v) FROM n
        UNION SELECT v, s FROM cn),
    prefix(p) AS (VALUES (''), ('第')),
    suffix(x) AS (VALUES (''), ('楼'), ('层'), ('F'))
INSERT OR IGNORE INTO floor_spellings
    SELECT p || s || x, v || '楼' FROM spelled, prefix, suffix;

-- what the floor looks like with full-width digits and F folded and spaces removed
CREATE TEMP VIEW floor_keys AS
SELECT branch_id, user_id, floor,
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(replace(replace(replace(
        floor, ' ', ''), '　', ''), char(9), ''), char(10), ''), char(13), ''),
        '０', '0'), '１', '1'), '２', '2'), '３', '3'), '４', '4'), '５', '5'), '６', '6'),
        '７', '7'), '８', '8'), '９', '9'), 'Ｆ', 'F'), 'ｆ', 'F'), 'f', 'F') AS k,
    replace(replace(replace(replace(replace(
        floor, ' ', ''), '　', ''), char(9), ''), char(10), ''), char(13), '') AS bare
FROM members WHERE floor IS NOT NULL;

UPDATE members SET floor = (
    SELECT NULLIF(COALESCE((SELECT canonical FROM floor_spellings WHERE spelling = f.k), f.bare), '')
    FROM floor_keys f WHERE f.branch_id = members.branch_id AND f.user_id = members.user_id)
WHERE floor IS NOT NULL;

CREATE TEMP VIEW dorm_keys AS
SELECT branch_id, user_id, upper(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
    replace(replace(replace(replace(replace(
        dorm, ' ', ''), '　', ''), char(9), ''), char(10), ''), char(13), ''),
        '０', '0'), '１', '1'), '２', '2'), '３', '3'), '４', '4'), '５', '5'), '６', '6'),
        '７', '7'), '８', '8'), '９', '9')) AS k
FROM members WHERE dorm IS NOT NULL;

UPDATE members SET dorm = (
    SELECT NULLIF(CASE
        WHEN length(k) > 2 AND (k LIKE '%宿舍' OR k LIKE '%寝室') THEN substr(k, 1, length(k) - 2)
        WHEN length(k) > 1 AND (k LIKE '%室' OR k LIKE '%号') THEN substr(k, 1, length(k) - 1)
        ELSE k END, '')
    FROM dorm_keys d WHERE d.branch_id = members.branch_id AND d.user_id = members.user_id)
WHERE dorm IS NOT NULL;

DROP VIEW floor_keys;
DROP VIEW dorm_keys;
DROP TABLE floor_spellings;

-- Removed members are off the boards: the board queries subtract their rows through this.
CREATE INDEX ix_members_removed ON members(branch_id, user_id) WHERE active = 0;

-- 党小组: one per floor of a branch, with its leader (组长).
CREATE TABLE floor_groups (
    branch_id   INTEGER NOT NULL REFERENCES branches(id),
    floor       TEXT    NOT NULL,
    leader_id   INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (branch_id, floor)
);

-- The membership of a term as it was when the term ended (a new term started): past reports
-- read this, so they stay the same whatever happens to the profiles later.
CREATE TABLE term_members (
    term_id       INTEGER NOT NULL REFERENCES terms(id),
    user_id       INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    floor         TEXT,
    dorm          TEXT,
    identity      TEXT    NOT NULL,
    is_committee  INTEGER NOT NULL,
    is_secretary  INTEGER NOT NULL,
    active        INTEGER NOT NULL,
    floor_leader  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (term_id, user_id)
) WITHOUT ROWID;

-- Terms that ended before this migration are frozen with the profiles as they are now: from
-- here on their reports no longer change.
INSERT INTO term_members
    SELECT t.id, m.user_id, m.name, m.floor, m.dorm, m.identity, m.is_committee,
           m.is_secretary, m.active, 0
    FROM terms t JOIN members m ON m.branch_id = t.branch_id
    WHERE t.ended_at IS NOT NULL;

-- Binding a group that was a branch of its own moves that branch's records into the target
-- branch (domain/branches.py). Each move is recorded here; `moving` is 1 only inside the
-- move's own transaction.
CREATE TABLE branch_merges (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    from_branch_id  INTEGER NOT NULL REFERENCES branches(id),
    into_branch_id  INTEGER NOT NULL REFERENCES branches(id),
    group_id        INTEGER NOT NULL,    -- the group whose /支部 绑定 caused the move
    by_user         INTEGER,
    at              INTEGER NOT NULL,
    summary         TEXT,                -- JSON: rows moved per table
    moving          INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX ix_branch_merges_from ON branch_merges(from_branch_id);

-- The ledger stays append-only, with one exception: a branch move (a branch_merges row with
-- moving = 1, from the entry's branch into the new one) may re-point an entry's branch and
-- term, to a term of the new branch. Amount, person, category, reason, reference, operator
-- and time never change.
DROP TRIGGER ledger_no_update;
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
