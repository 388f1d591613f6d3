import { type Response, Router } from "express";
import { z } from "zod";
import type { KeyRing } from "../../../src/auth/keys";
import type { OperatorSessions } from "../../../src/auth/operators";
import type { Db } from "../../../src/db/database";
import { fieldIssues, invalid } from "../../../src/errors";
import { caller, requireKeyOrOperator } from "../../../src/http/auth";
import { errorHandler } from "../../../src/http/body";
import { managementErrors, renderManagementError } from "../../../src/http/management-error";
import type { Operation } from "../../../src/http/openapi";
import { type FeedbackRow, feedbackPage, type Insights, insightsOf, type Period, UNANSWERED_SHOWN } from "../../../src/insights";
import type { Logger } from "../../../src/logger";

// The console's Insights (issue #15): an org's figures for a period, and the feedback visitors gave its answers
// as CSV. Any operator of the org (admin or agent) or an API key of it may read them; days are UTC.

export interface InsightsDeps {
  prisma: Db;
  keys: KeyRing;
  sessions: OperatorSessions;
  logger: Logger;
}

const DAY_MS = 86_400_000;
const MAX_DAYS = 366;
const DEFAULT_DAYS = 30;
const CSV_PAGE = 500;

const day = z.iso.date().describe("A UTC day, YYYY-MM-DD");
export const periodQuery = z.strictObject({
  from: day.optional().describe(`The first day (default: ${DEFAULT_DAYS} days up to \`to\`)`),
  to: day.optional().describe("The last day, included (default: today)"),
});

export function createInsightsApi(deps: InsightsDeps): Router {
  const api = Router();
  const reader = requireKeyOrOperator(deps.keys, deps.sessions);

  api.get("/api/console/insights", reader, async (req, res) => {
    const period = periodOf(req.query, res);
    const body: Insights & { from: string; to: string } = {
      from: dayOf(period.from),
      to: lastDay(period),
      ...(await insightsOf(deps.prisma, period)),
    };
    res.json(body);
  });

  api.get("/api/console/feedback.csv", reader, async (req, res) => {
    const period = periodOf(req.query, res);
    res.type("text/csv; charset=utf-8");
    res.set("content-disposition", `attachment; filename="feedback-${dayOf(period.from)}-to-${lastDay(period)}.csv"`);
    // A byte-order mark, so that a spreadsheet reads the file as UTF-8.
    res.write(`\ufeff${csvLine(["time", "channel", "rating", "comment", "question", "reply", "conversation"])}`);
    let last: FeedbackRow | null = null;
    for (;;) {
      const page: FeedbackRow[] = await feedbackPage(deps.prisma, period, last, CSV_PAGE);
      for (const f of page) {
        res.write(csvLine([f.at.toISOString(), f.channel, f.rating, f.comment, f.question, f.reply, f.conversationId]));
      }
      if (page.length < CSV_PAGE) break;
      last = page[page.length - 1];
    }
    res.end();
  });

  api.use(
    "/api/console",
    errorHandler(renderManagementError, (err) => deps.logger.error({ err }, "insights failed")),
  );
  return api;
}

function periodOf(query: unknown, res: Response): Period {
  const parsed = periodQuery.safeParse(query);
  if (!parsed.success) throw invalid("Invalid period", fieldIssues(parsed.error.issues));
  const to = parsed.data.to ? Date.parse(parsed.data.to) + DAY_MS : Date.parse(dayOf(new Date())) + DAY_MS;
  const from = parsed.data.from ? Date.parse(parsed.data.from) : to - DEFAULT_DAYS * DAY_MS;
  if (from >= to) throw invalid("Invalid period", [{ field: "from", message: "from must not be after to" }]);
  if (to - from > MAX_DAYS * DAY_MS) throw invalid("Invalid period", [{ field: "from", message: `${MAX_DAYS} days at most` }]);
  return { orgId: caller(res).orgId, from: new Date(from), to: new Date(to) };
}

const dayOf = (d: Date) => d.toISOString().slice(0, 10);
const lastDay = (p: Period) => dayOf(new Date(p.to.getTime() - DAY_MS));

/**
 * One CSV record (RFC 4180): a field with a quote, comma or line break is quoted, its quotes doubled. A field a
 * spreadsheet would run as a formula (a visitor's comment "=HYPERLINK(...)") gets a leading apostrophe.
 */
export function csvLine(fields: (string | null)[]): string {
  return `${fields.map((f) => csvField(f ?? "")).join(",")}\r\n`;
}

function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const insightsBody = z.object({
  from: z.string(),
  to: z.string(),
  turnsByDay: z
    .array(z.object({ day: z.string(), channel: z.string(), turns: z.number() }))
    .describe("User messages by UTC day and channel"),
  turns: z.number(),
  responseMs: z
    .object({ p50: z.number().nullable(), p95: z.number().nullable(), replies: z.number() })
    .describe("From a user's message to its reply"),
  handoff: z
    .object({ conversations: z.number(), handedOff: z.number(), rate: z.number().nullable() })
    .describe("Conversations with a user message in the period, and those of them that went to waiting in it"),
  unanswered: z
    .array(z.object({ question: z.string(), count: z.number(), lastAskedAt: z.string() }))
    .describe(
      `Questions whose answer cited no passage of the knowledge, grouped by their text (case, spaces, closing punctuation aside); the ${UNANSWERED_SHOWN} most asked`,
    ),
  feedback: z.object({ up: z.number(), down: z.number(), upRate: z.number().nullable() }).describe("Thumbs given in the widget"),
});

const errors = managementErrors({ 400: "`invalid_message`: a malformed day, or a period over 366 days" });
const auth = "An API key of the org, or the console's session cookie (an admin or an agent).";

export const insightsOperations: Operation[] = [
  {
    tag: "Console",
    method: "get",
    path: "/api/console/insights",
    operationId: "consoleInsights",
    summary: "The org's figures for a period: turns by day and channel, response times, handoff rate, unanswered questions, thumbs",
    description: auth,
    query: periodQuery,
    responses: { 200: { description: "The figures", schema: insightsBody }, ...errors(400, 401) },
  },
  {
    tag: "Console",
    method: "get",
    path: "/api/console/feedback.csv",
    operationId: "consoleFeedbackCsv",
    summary: "The feedback of a period as CSV: time, channel, rating, comment, question, reply, conversation",
    description: auth,
    query: periodQuery,
    responses: {
      200: { description: "A CSV file (RFC 4180, UTF-8 with a byte-order mark)", contentType: "text/csv", schema: z.string() },
      ...errors(400, 401),
    },
  },
];
