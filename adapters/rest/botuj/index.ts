import { type Request, type Response, Router } from "express";
import type { z } from "zod";
import type { KeyRing } from "../../../src/auth/keys";
import type { Channel } from "../../../src/channels";
import { listSummaries } from "../../../src/conversation-reads";
import { authorField } from "../../../src/conversations";
import type { Db } from "../../../src/db/database";
import { fieldIssues, invalid } from "../../../src/errors";
import type { Prisma } from "../../../src/generated/prisma/client";
import { principal, requireKey } from "../../../src/http/auth";
import { errorHandler } from "../../../src/http/body";
import type { Logger } from "../../../src/logger";
import { renderBotujError } from "./errors";
import { listQuery, type listResponse } from "./schema";

// GET /v1/api/conversations (botuj.pl) over the hub's store. Each conversation maps as:
//   id <- number (the conversation's serial)     type <- channel        count <- its messages
//   sessionid <- the id its channel knows        createdOn <- created_at
//   firstUserMessage <- first user message       firstBotMessage <- first assistant reply, as {"message": …} JSON text
//                                                (with "author": {kind: "operator", name} if an operator wrote it)
// Paged with page/per_page like GitHub's API: the body is the array, the totals are in headers.

const PATH = "/v1/api/conversations";

export function createBotujChannel(deps: { prisma: Db; keys: KeyRing; logger: Logger }): Channel {
  const api = Router();
  api.get(PATH, requireKey(deps.keys), (req, res) => list(deps.prisma, req, res));
  api.use(
    "/v1/api",
    errorHandler(renderBotujError, (err) => deps.logger.error({ err }, "botuj API failed")),
  );
  return { name: "botuj", routers: [api] };
}

async function list(prisma: Db, req: Request, res: Response) {
  const parsed = listQuery.safeParse(req.query);
  if (!parsed.success) throw invalid("Invalid pagination", fieldIssues(parsed.error.issues));
  const { page, per_page } = parsed.data;
  const { rows, total } = await listSummaries(prisma, { orgId: principal(res).orgId, limit: per_page, offset: (page - 1) * per_page });
  const out: z.output<typeof listResponse> = rows.map((c) => ({
    id: c.number,
    type: c.channel,
    count: c.count,
    sessionid: c.externalId,
    firstUserMessage: c.firstUserMessage,
    firstBotMessage:
      c.firstBotMessage === null
        ? null
        : JSON.stringify({
            message: c.firstBotMessage,
            ...authorField({ role: "assistant", metadata: c.firstBotMetadata as Prisma.JsonValue }),
          }),
    createdOn: new Date(c.createdAt).toISOString(),
  }));
  const last = Math.max(1, Math.ceil(total / per_page));
  const link = (p: number, rel: string) => `<${PATH}?page=${p}&per_page=${per_page}>; rel="${rel}"`;
  const links = [
    ...(page < last ? [link(page + 1, "next")] : []),
    ...(page > 1 ? [link(Math.min(page - 1, last), "prev")] : []),
    link(1, "first"),
    link(last, "last"),
  ];
  res.set({ "X-Total-Count": String(total), Link: links.join(", ") }).json(out);
}
