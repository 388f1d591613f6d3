-- The user messages still to be answered, by conversation: a turn job reads its conversation's first one, and
-- all of them up to its own, from this small index of the turns in flight (turnWindows), whatever the length
-- of the conversation before them.

-- CreateIndex
CREATE INDEX "messages_pending_idx" ON "messages"("conversation_id", "seq") WHERE status = 'pending' AND role = 'user';
