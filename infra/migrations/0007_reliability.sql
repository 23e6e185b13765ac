-- depends: 0006_story_keys_multiply_shift
-- Sending: which run sent a message (run summaries count from here, so a retried task's earlier
-- attempts are counted too) and when a message was given up (a 5xx refusal, or too many
-- attempts) instead of being retried by every run without end.
-- Runs: the process that runs one, so a later run can tell a killed run from a live one.

ALTER TABLE emails ADD COLUMN sent_run_id bigint;
ALTER TABLE emails ADD COLUMN gave_up_at timestamptz;
ALTER TABLE admin_notices ADD COLUMN sent_run_id bigint;
ALTER TABLE admin_notices ADD COLUMN gave_up_at timestamptz;
CREATE INDEX emails_sent_run_idx ON emails (sent_run_id) WHERE sent_run_id IS NOT NULL;

ALTER TABLE runs ADD COLUMN host text;
ALTER TABLE runs ADD COLUMN pid integer;
ALTER TABLE runs ADD COLUMN process_started double precision;
