-- Replies sent through an API channel (Twilio) are stored `unsent` and keep that status until the provider
-- took every part or refused one for good. Postgres, not the deliver queue, is the record of what is still
-- to send: the outbox check and the deliver worker find a conversation's first unsent reply in this small
-- index of the replies in flight, whatever their age.

-- CreateIndex
CREATE INDEX "messages_unsent_idx" ON "messages"("conversation_id", "seq") WHERE status = 'unsent';

-- Replies on their way when the hub is upgraded (stored `sent`, like every other reply then): WhatsApp and
-- SMS replies of the last day with nothing sent yet, or a part neither sent nor refused.
UPDATE "messages" m SET "status" = 'unsent'
FROM "conversations" c
WHERE c.id = m.conversation_id AND c.channel IN ('whatsapp', 'sms')
  AND m.role = 'assistant' AND m.in_reply_to_id IS NOT NULL
  AND m.status = 'sent' AND m.created_at > now() - interval '1 day'
  AND NOT EXISTS (SELECT 1 FROM "outbound_parts" p WHERE p.message_id = m.id AND p.status IN ('failed', 'undelivered', 'canceled'))
  AND (NOT EXISTS (SELECT 1 FROM "outbound_parts" p WHERE p.message_id = m.id)
       OR EXISTS (SELECT 1 FROM "outbound_parts" p WHERE p.message_id = m.id AND p.provider_id IS NULL));
