-- Folders the public may read. A message from the public (a widget visitor, a WhatsApp/SMS user) whose
-- assistant names no folders is answered from the org's public folders only; it used to read every folder of
-- the org, staff documents included. Existing folders stay private: an operator marks a folder public.

-- AlterTable
ALTER TABLE "folders" ADD COLUMN "public" BOOLEAN NOT NULL DEFAULT false;
