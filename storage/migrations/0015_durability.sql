-- Security and durability (issue 20): events acted on survive a restart; anonymous ballots and
-- survey responses wait in memory and are committed in batches.

-- Events the bot acted on, kept `duplicate_window_seconds` (then pruned), so an event the QQ
-- side re-delivers after a restart is recognised. The key is a 16-byte hash: of (group, sender,
-- event time, text) for a group message, the same whichever account delivered it; of (account,
-- sender, event time, message id) for a private message, so no private text is hashed into a
-- file where it could be guessed. Written in the same transaction as the command's first write.
CREATE TABLE seen_events (
    key  BLOB    PRIMARY KEY,
    at   INTEGER NOT NULL      -- when it was acted on (Unix seconds, the bot's clock)
) WITHOUT ROWID;

-- Anonymous polls: people whose ballot was received but is not counted yet. The choice itself
-- is only in the bot's memory until it is committed, with at least `anonymous_batch` others,
-- to poll_voters and poll_tallies in one transaction (README, "Anonymity that holds"). Rows
-- left here by a crash are ballots that were lost: their voters are told to vote again.
CREATE TABLE poll_waiting (
    poll_id  INTEGER NOT NULL REFERENCES polls(id),
    user_id  INTEGER NOT NULL,
    PRIMARY KEY (poll_id, user_id)
) WITHOUT ROWID;

-- Anonymous surveys, the same: people whose answers are received but not stored yet.
CREATE TABLE survey_waiting (
    survey_id  INTEGER NOT NULL REFERENCES surveys(id),
    user_id    INTEGER NOT NULL,
    PRIMARY KEY (survey_id, user_id)
) WITHOUT ROWID;

-- The picture cache's data versions (issue 23): who waits counts in the participation
-- figures; the event keys are read by no figure.
CREATE TRIGGER dv_poll_waiting_insert AFTER INSERT ON poll_waiting BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM polls p WHERE p.id = NEW.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_poll_waiting_update AFTER UPDATE ON poll_waiting BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM polls p WHERE p.id = NEW.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_poll_waiting_delete AFTER DELETE ON poll_waiting BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM polls p WHERE p.id = OLD.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_waiting_insert AFTER INSERT ON survey_waiting BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_waiting_update AFTER UPDATE ON survey_waiting BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_waiting_delete AFTER DELETE ON survey_waiting BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = OLD.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
