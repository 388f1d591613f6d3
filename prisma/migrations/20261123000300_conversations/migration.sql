-- The conversation APIs (General Bots, botuj, Conversation Service): archive time, and indexes for their listings.

-- AlterTable
ALTER TABLE "conversations" ADD COLUMN "archived_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "conversations_org_id_status_last_activity_at_idx" ON "conversations"("org_id", "status", "last_activity_at");
CREATE INDEX "conversations_org_id_assistant_id_last_activity_at_idx" ON "conversations"("org_id", "assistant_id", "last_activity_at");
CREATE INDEX "conversations_org_id_created_at_idx" ON "conversations"("org_id", "created_at");
CREATE INDEX "conversations_org_id_number_idx" ON "conversations"("org_id", "number");
