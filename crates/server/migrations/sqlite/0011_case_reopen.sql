-- A 回访 rated 不满意 or 非常不满意 sends the case back for one more round of
-- rectification: the day, rating and words of that follow-up are kept here.
ALTER TABLE review_cases ADD COLUMN reopened_on TEXT;
ALTER TABLE review_cases ADD COLUMN reopen_rating BIGINT;
ALTER TABLE review_cases ADD COLUMN reopen_note TEXT;
