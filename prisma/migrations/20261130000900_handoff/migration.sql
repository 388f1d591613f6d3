-- Handoff to a person: a conversation's state (bot, waiting, human), who has it and why; an assistant's
-- handoff phrases, message and knowledge-miss limit. User messages written while a person has the
-- conversation are stored with status 'held' (never answered by the assistant).

-- AlterTable
ALTER TABLE "assistants" ADD COLUMN "handoff_phrases" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN "handoff_message" TEXT,
ADD COLUMN "handoff_after_misses" INTEGER;

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN "handoff_state" TEXT NOT NULL DEFAULT 'bot',
ADD COLUMN "handoff_since" TIMESTAMPTZ(3),
ADD COLUMN "handoff_assignee" TEXT,
ADD COLUMN "handoff_reason" TEXT,
ADD COLUMN "handoff_summary" TEXT,
ADD COLUMN "handoff_expired_at" TIMESTAMPTZ(3),
ADD COLUMN "knowledge_misses" INTEGER NOT NULL DEFAULT 0;

-- CreateIndex
CREATE INDEX "conversations_org_id_handoff_state_last_activity_at_idx" ON "conversations"("org_id", "handoff_state", "last_activity_at");

-- CreateIndex
CREATE INDEX "conversations_waiting_idx" ON "conversations"("handoff_since") WHERE handoff_state = 'waiting';
