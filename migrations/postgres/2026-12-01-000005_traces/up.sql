-- The W3C traceparent of the request that queued a message, so that its delivery is traced
-- as part of that request (empty when traces are not exported).
ALTER TABLE outbox ADD COLUMN trace_context TEXT;
