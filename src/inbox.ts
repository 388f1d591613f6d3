import type { Db } from "./db/database";
import { Prisma } from "./generated/prisma/client";
import type { HandoffState } from "./handoff";

// The operators' list of an org's conversations by handoff state. Cut by the database (LIMIT/OFFSET on the
// (org, state, activity) index), scoped to one org.

export interface InboxRow {
  id: string;
  externalId: string;
  channel: string;
  state: HandoffState;
  waitingSince: Date | null;
  assignee: string | null;
  reason: string | null;
  summary: string | null;
  lastMessage: { role: string; content: string; status: string; createdAt: Date } | null;
  lastActivityAt: Date;
}

/** Waiting and taken conversations first, the longest waiting first; then by latest activity. */
export async function listInbox(
  prisma: Db,
  q: { orgId: string; state?: HandoffState; limit: number; offset: number },
): Promise<{ rows: InboxRow[]; total: number }> {
  const filters = [Prisma.sql`c.org_id = ${q.orgId}::uuid`, ...(q.state ? [Prisma.sql`c.handoff_state = ${q.state}`] : [])];
  const [rows, total] = await Promise.all([
    prisma.$queryRaw<(Omit<InboxRow, "lastMessage"> & { lastMessage: InboxRow["lastMessage"] | null })[]>`
      SELECT c.id, c.external_id AS "externalId", c.channel, c.handoff_state AS state, c.handoff_since AS "waitingSince",
             c.handoff_assignee AS assignee, c.handoff_reason AS reason, c.handoff_summary AS summary,
             c.last_activity_at AS "lastActivityAt",
             CASE WHEN last.id IS NULL THEN NULL ELSE
               json_build_object('role', last.role, 'content', last.content, 'status', last.status, 'createdAt', last.created_at)
             END AS "lastMessage"
      FROM conversations c
      LEFT JOIN LATERAL (
        SELECT m.id, m.role, m.content, m.status, m.created_at FROM messages m
        WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1
      ) last ON true
      WHERE ${Prisma.join(filters, " AND ")}
      ORDER BY c.handoff_since ASC NULLS LAST, c.last_activity_at DESC, c.id DESC
      LIMIT ${q.limit} OFFSET ${q.offset}`,
    prisma.conversation.count({ where: { orgId: q.orgId, ...(q.state ? { handoffState: q.state } : {}) } }),
  ]);
  return { rows, total };
}
