-- The Twilio channel: which assistant answers each receiving number, and one row per part of each reply
-- sent through Twilio (the record that keeps a retried delivery from sending a part twice).
CREATE TABLE "twilio_numbers" (
    "id" UUID NOT NULL,
    "number" TEXT NOT NULL,
    "org_id" UUID NOT NULL,
    "assistant_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    CONSTRAINT "twilio_numbers_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "twilio_numbers_number_key" ON "twilio_numbers"("number");
CREATE INDEX "twilio_numbers_org_id_idx" ON "twilio_numbers"("org_id");
ALTER TABLE "twilio_numbers" ADD CONSTRAINT "twilio_numbers_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "orgs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "twilio_numbers" ADD CONSTRAINT "twilio_numbers_assistant_id_fkey" FOREIGN KEY ("assistant_id") REFERENCES "assistants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "outbound_parts" (
    "id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "body" TEXT NOT NULL,
    "provider_id" TEXT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "error" TEXT,
    "attempted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "outbound_parts_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "outbound_parts_provider_id_key" ON "outbound_parts"("provider_id");
CREATE UNIQUE INDEX "outbound_parts_message_id_position_key" ON "outbound_parts"("message_id", "position");
ALTER TABLE "outbound_parts" ADD CONSTRAINT "outbound_parts_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
