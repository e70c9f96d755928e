-- Tokens a conversation has spent on the optional language model (reserved before a
-- call, corrected after), so its budget holds across nodes.
ALTER TABLE assistant_conversations ADD COLUMN model_tokens BIGINT NOT NULL DEFAULT 0;
