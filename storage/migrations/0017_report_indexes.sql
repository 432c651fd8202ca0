-- Indexes for the report of a big branch (issue 26, bench/university_year.py): a branch with
-- 3,000 profiles and 7,000 wishes in a year read every wish of the branch, and each wish's
-- events from the table, for every /统计.

-- Wishes posted in a term: the counts read from the index alone.
CREATE INDEX ix_wishes_branch_created ON wishes(branch_id, created_at, state, rating);
-- A wish's first 认领 (claimed or not, how long it waited) without reading its other events.
CREATE INDEX ix_wish_events_action ON wish_events(wish_id, action, id);
-- Per helper, the wishes completed in a term (服务达标).
CREATE INDEX ix_wishes_completed ON wishes(branch_id, state, completed_at, claimer_id);
-- Per handler, the problems done in a term (服务达标).
CREATE INDEX ix_problems_done_by ON problems(branch_id, state, done_at, handler_id);
