-- Moderation compares a new review with its reviewer's latest texts, and 我的评价 lists them
-- newest first: both read a reviewer's reviews by id, which the one-per-occasion key cannot serve.
CREATE INDEX reviews_reviewer_id ON reviews(reviewer_id, id);
