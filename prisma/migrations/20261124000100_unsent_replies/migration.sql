-- Replies sent through an API channel (Twilio) are stored `unsent` and keep that status until the provider
-- took every part or refused one for good. Postgres, not the deliver queue, is the record of what is still
-- to send: the outbox check and the deliver worker find a conversation's first unsent reply in this small
-- index of the replies in flight, whatever their age.
--
-- Replies on their way at the upgrade are not marked: their addresses were read from message metadata, which
-- any API caller could set, so they cannot be told from forged ones (see 20261130000100_reply_address). Let
-- the deliver queue drain before upgrading from a release without reply_address.

-- CreateIndex
CREATE INDEX "messages_unsent_idx" ON "messages"("conversation_id", "seq") WHERE status = 'unsent';
