-- The review duplicate check reads an outlet's latest texts whatever their status.
CREATE INDEX reviews_outlet_id ON reviews(outlet_id, id);
