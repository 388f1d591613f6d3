-- A turn the assistant could not be reached for is answered with the fallback reply, then, once the assistant
-- answers again, with one follow-up: an assistant message that points at the turn it follows up. Unique, so a
-- retried or recovered job never stores a second one.

-- AlterTable
ALTER TABLE "messages" ADD COLUMN "follow_up_of_id" UUID;

-- CreateIndex
CREATE UNIQUE INDEX "messages_follow_up_of_id_key" ON "messages"("follow_up_of_id");

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_follow_up_of_id_fkey" FOREIGN KEY ("follow_up_of_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
