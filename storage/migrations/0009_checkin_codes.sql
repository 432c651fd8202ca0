-- Rotating check-in codes (issue 13). A session with `code_secret` shows a TOTP code derived from
-- it and the time; a session with only `code` (created before this migration) keeps its fixed
-- code; neither: a session without a code (无码). `screen_token` opens the session's screen page
-- (投屏页) during its check-in window; sessions already here get one too (192 random bits).

ALTER TABLE sessions ADD COLUMN code_secret TEXT;
ALTER TABLE sessions ADD COLUMN screen_token TEXT;
UPDATE sessions SET screen_token = lower(hex(randomblob(24))) WHERE screen_token IS NULL;
CREATE UNIQUE INDEX ux_sessions_screen_token ON sessions(screen_token);
