-- What a new secretary's term still trips over (issue 21).

-- Who each survey was really sent to: an invitation queued privately (with an @-mention in a
-- group as the fallback) records the person here in the same transaction. 回收率 = invited
-- people who answered / people invited (those who answered without an invitation count too).
CREATE TABLE survey_invitations (
    survey_id  INTEGER NOT NULL REFERENCES surveys(id),
    user_id    INTEGER NOT NULL,
    PRIMARY KEY (survey_id, user_id)
) WITHOUT ROWID;
-- Surveys from before: whom the old rule counted (the active profiles for a survey of the
-- branch; a linked survey's check-ins or wisher, once its invitations went out), so their
-- figures stay as they were.
INSERT OR IGNORE INTO survey_invitations (survey_id, user_id)
    SELECT s.id, m.user_id FROM surveys s JOIN members m ON m.branch_id = s.branch_id
    WHERE s.link_kind IS NULL AND m.active = 1;
INSERT OR IGNORE INTO survey_invitations (survey_id, user_id)
    SELECT s.id, c.user_id FROM surveys s JOIN checkins c ON c.session_id = s.link_id
    WHERE s.link_kind = 'session' AND s.invited_at IS NOT NULL;
INSERT OR IGNORE INTO survey_invitations (survey_id, user_id)
    SELECT s.id, w.wisher_id FROM surveys s JOIN wishes w ON w.id = s.link_id
    WHERE s.link_kind = 'wish' AND s.invited_at IS NOT NULL;

-- An admin's word that an activity's leader (导学人/负责人) was not there: then they are not
-- counted present automatically when check-in closes.
ALTER TABLE sessions ADD COLUMN leader_absent_by INTEGER;
ALTER TABLE sessions ADD COLUMN leader_absent_at INTEGER;

-- The playground's clock and backup folder (only `python -m tools.playground` writes this
-- row), so the command-line tools run on a playground database see what its bot saw.
CREATE TABLE playground_state (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    clock_offset_seconds  REAL    NOT NULL,
    backup_dir            TEXT    NOT NULL,
    updated_at            INTEGER NOT NULL
);

-- 回收率 reads the invitations: a change counts as a data change for the picture cache
-- (issue 23's data versions); the playground's state is read by no figure.
CREATE TRIGGER dv_survey_invitations_insert AFTER INSERT ON survey_invitations BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_invitations_update AFTER UPDATE ON survey_invitations BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_invitations_delete AFTER DELETE ON survey_invitations BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = OLD.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
