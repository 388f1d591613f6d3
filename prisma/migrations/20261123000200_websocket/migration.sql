-- Widget sessions over /ws: who owns a session (null: an anonymous visitor), and a quick way to find the
-- anonymous sessions whose inactivity deadline passed, to delete them with their history.
ALTER TABLE "chat_sessions" ADD COLUMN "user_id" TEXT;

CREATE INDEX "chat_sessions_expires_at_idx" ON "chat_sessions"("expires_at");
