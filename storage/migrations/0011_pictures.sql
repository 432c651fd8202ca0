-- Pictures and the secretary's page (issue 23). Renumber at merge: assigned 0015.
--
-- data_versions: one counter per branch, bumped by the triggers below whenever a row that any
-- figure of /统计 reads is inserted, changed or deleted, in the same statement (so a tool writing
-- from another connection bumps it too). A picture of a branch's report is rendered once per
-- (branch, term, version) and reused while the version stays. Tables that no figure reads have
-- no trigger: outbox, outbox_backlog_warnings, reminders, checkin_failures, rotations, pairings,
-- pairs, branch_merges (its moves are updates of the tables below), points_agg (derived from
-- the ledger), poll_options and poll_tallies (no figure; ballots and voters are counted).
-- tests/storage/test_data_versions.py fails for a new table that is in neither list.
--
-- dashboard_links: a /统计 网页 link; only the SHA-256 of its token is kept, so the database
-- (and its backups) hold no working link.

CREATE TABLE data_versions (
    branch_id INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TABLE dashboard_links (
    token_hash TEXT PRIMARY KEY,
    branch_id INTEGER NOT NULL REFERENCES branches(id),
    user_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ix_dashboard_links_expiry ON dashboard_links(expires_at);

CREATE TRIGGER dv_branches_insert AFTER INSERT ON branches BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.id, 1 WHERE NEW.id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_branches_update AFTER UPDATE ON branches BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.id, 1 WHERE NEW.id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_branch_groups_insert AFTER INSERT ON branch_groups BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_branch_groups_update AFTER UPDATE ON branch_groups BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_branch_groups_delete AFTER DELETE ON branch_groups BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_floor_groups_insert AFTER INSERT ON floor_groups BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_floor_groups_update AFTER UPDATE ON floor_groups BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_floor_groups_delete AFTER DELETE ON floor_groups BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
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
CREATE TRIGGER dv_members_insert AFTER INSERT ON members BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_members_update AFTER UPDATE ON members BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_members_delete AFTER DELETE ON members BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_notes_insert AFTER INSERT ON notes BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_notes_update AFTER UPDATE ON notes BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_notes_delete AFTER DELETE ON notes BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_polls_insert AFTER INSERT ON polls BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_polls_update AFTER UPDATE ON polls BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_polls_delete AFTER DELETE ON polls BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_problems_insert AFTER INSERT ON problems BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_problems_update AFTER UPDATE ON problems BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_problems_delete AFTER DELETE ON problems BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_sessions_insert AFTER INSERT ON sessions BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_sessions_update AFTER UPDATE ON sessions BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_sessions_delete AFTER DELETE ON sessions BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_surveys_insert AFTER INSERT ON surveys BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_surveys_update AFTER UPDATE ON surveys BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_surveys_delete AFTER DELETE ON surveys BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_terms_insert AFTER INSERT ON terms BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_terms_update AFTER UPDATE ON terms BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_terms_delete AFTER DELETE ON terms BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_wishes_insert AFTER INSERT ON wishes BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_wishes_update AFTER UPDATE ON wishes BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT NEW.branch_id, 1 WHERE NEW.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL AND OLD.branch_id IS NOT NEW.branch_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_wishes_delete AFTER DELETE ON wishes BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT OLD.branch_id, 1 WHERE OLD.branch_id IS NOT NULL
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_checkins_insert AFTER INSERT ON checkins BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_checkins_update AFTER UPDATE ON checkins BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_checkins_delete AFTER DELETE ON checkins BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = OLD.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_leaves_insert AFTER INSERT ON leaves BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_leaves_update AFTER UPDATE ON leaves BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_leaves_delete AFTER DELETE ON leaves BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = OLD.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_signups_insert AFTER INSERT ON signups BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_signups_update AFTER UPDATE ON signups BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = NEW.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_signups_delete AFTER DELETE ON signups BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM sessions p WHERE p.id = OLD.session_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_wish_events_insert AFTER INSERT ON wish_events BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM wishes p WHERE p.id = NEW.wish_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_wish_events_update AFTER UPDATE ON wish_events BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM wishes p WHERE p.id = NEW.wish_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_wish_events_delete AFTER DELETE ON wish_events BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM wishes p WHERE p.id = OLD.wish_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_problem_events_insert AFTER INSERT ON problem_events BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM problems p WHERE p.id = NEW.problem_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_problem_events_update AFTER UPDATE ON problem_events BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM problems p WHERE p.id = NEW.problem_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_problem_events_delete AFTER DELETE ON problem_events BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM problems p WHERE p.id = OLD.problem_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_poll_voters_insert AFTER INSERT ON poll_voters BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM polls p WHERE p.id = NEW.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_poll_voters_update AFTER UPDATE ON poll_voters BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM polls p WHERE p.id = NEW.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_poll_voters_delete AFTER DELETE ON poll_voters BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM polls p WHERE p.id = OLD.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_poll_ballots_insert AFTER INSERT ON poll_ballots BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM polls p WHERE p.id = NEW.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_poll_ballots_update AFTER UPDATE ON poll_ballots BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM polls p WHERE p.id = NEW.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_poll_ballots_delete AFTER DELETE ON poll_ballots BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM polls p WHERE p.id = OLD.poll_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_questions_insert AFTER INSERT ON survey_questions BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_questions_update AFTER UPDATE ON survey_questions BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_questions_delete AFTER DELETE ON survey_questions BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = OLD.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_respondents_insert AFTER INSERT ON survey_respondents BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_respondents_update AFTER UPDATE ON survey_respondents BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_respondents_delete AFTER DELETE ON survey_respondents BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = OLD.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_responses_insert AFTER INSERT ON survey_responses BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_responses_update AFTER UPDATE ON survey_responses BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_responses_delete AFTER DELETE ON survey_responses BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = OLD.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_sheets_insert AFTER INSERT ON survey_sheets BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_sheets_update AFTER UPDATE ON survey_sheets BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = NEW.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_sheets_delete AFTER DELETE ON survey_sheets BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM surveys p WHERE p.id = OLD.survey_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_term_members_insert AFTER INSERT ON term_members BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM terms p WHERE p.id = NEW.term_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_term_members_update AFTER UPDATE ON term_members BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM terms p WHERE p.id = NEW.term_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_term_members_delete AFTER DELETE ON term_members BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT p.branch_id, 1 FROM terms p WHERE p.id = OLD.term_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_answers_insert AFTER INSERT ON survey_answers BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT s.branch_id, 1 FROM survey_responses r JOIN surveys s ON s.id = r.survey_id WHERE r.id = NEW.response_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_answers_update AFTER UPDATE ON survey_answers BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT s.branch_id, 1 FROM survey_responses r JOIN surveys s ON s.id = r.survey_id WHERE r.id = NEW.response_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER dv_survey_answers_delete AFTER DELETE ON survey_answers BEGIN
    INSERT INTO data_versions (branch_id, version) SELECT s.branch_id, 1 FROM survey_responses r JOIN surveys s ON s.id = r.survey_id WHERE r.id = OLD.response_id
        ON CONFLICT (branch_id) DO UPDATE SET version = version + 1;
END;
