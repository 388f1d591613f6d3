-- Feedback: the thumbs up or down a widget visitor gives an answer, with an optional comment. One per message
-- per session: changing one's mind updates the row. The org is kept on the row so that insights and the CSV
-- export read one org's feedback by its own index, without walking its conversations.
-- Insights count an org's messages by day: messages_conversation_id_created_at_idx lets them read each conversation's
-- messages of a period instead of all of its history.

-- When a conversation last went to waiting (a person was asked for): the handoff rate counts the conversations
-- handed off in a period, which the handoff state alone (back to bot once released) no longer tells.
-- AlterTable
ALTER TABLE "conversations" ADD COLUMN "last_handoff_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "feedback" (
    "id" UUID NOT NULL,
    "org_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "session_id" UUID NOT NULL,
    "rating" TEXT NOT NULL,
    "comment" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "feedback_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "feedback_message_id_session_id_key" ON "feedback"("message_id", "session_id");

-- CreateIndex
CREATE INDEX "feedback_org_id_updated_at_idx" ON "feedback"("org_id", "updated_at");

-- CreateIndex
CREATE INDEX "feedback_conversation_id_idx" ON "feedback"("conversation_id");

-- CreateIndex
CREATE INDEX "feedback_session_id_idx" ON "feedback"("session_id");

-- CreateIndex
CREATE INDEX "messages_conversation_id_created_at_idx" ON "messages"("conversation_id", "created_at");

-- AddForeignKey
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "feedback" ADD CONSTRAINT "feedback_session_id_fkey" FOREIGN KEY ("session_id") REFERENCES "chat_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
