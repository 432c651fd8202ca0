-- Delivery on real QQ sides and several accounts (issues 19, 22): which account tried and
-- delivered each queued message, sends whose outcome the QQ side did not confirm, how an
-- undeliverable message ended, and people to tell, once, to add the bot as a friend.

-- The account of the latest attempt, and the one that delivered the message.
ALTER TABLE outbox ADD COLUMN attempted_by INTEGER;
ALTER TABLE outbox ADD COLUMN sent_by INTEGER;
-- When the first attempt started: a timed-out send is looked up in the group's history from
-- then on before it is sent again.
ALTER TABLE outbox ADD COLUMN first_attempt_at REAL;
-- 1 while an attempt's outcome is unknown (set before the OneBot call; cleared by its answer):
-- a timeout, or a kill between the call and its answer.
ALTER TABLE outbox ADD COLUMN unconfirmed INTEGER NOT NULL DEFAULT 0;
-- How a row that was not sent ended (state 'failed'): 'fallback' (told in the group instead),
-- 'hinted' (secret, not sent; the person is told to add the bot), 'gave_up' (retries spent).
ALTER TABLE outbox ADD COLUMN outcome TEXT;
CREATE INDEX ix_outbox_sent_by ON outbox(sent_by, sent_at) WHERE state = 'sent';

-- People a private message could not reach because they are not the bot's friend: their next
-- command's reply tells them, once, to add the bot. No figure reads it (no data version).
CREATE TABLE friend_hints (
    user_id     INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,     -- the first message kind that did not reach them
    created_at  INTEGER NOT NULL
);
