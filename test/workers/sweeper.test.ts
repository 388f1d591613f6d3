import { UnrecoverableError, Worker } from "bullmq";
import { ASK_QUEUE, bullPrefix } from "../../src/queue";
import { FALLBACK_REPLY } from "../../src/turns";
import { sweepOnce } from "../../workers/sweeper";
import { startTestHub, type TestHub } from "../support/hub";
import { waitFor } from "../support/processes";

// The sweeper decides what becomes of a message whose job failed for good: run again when the job failed
// only because the database was away, the fallback reply otherwise.

describe("the pending-message sweeper", () => {
  let hub: TestHub;
  beforeAll(async () => {
    // A gateway alone: nothing answers, so the test decides how each job ends.
    hub = await startTestHub("postgres", { ROLE: "gateway", ASK_TIMEOUT_MS: "100" });
  });
  afterAll(() => hub?.stop());

  /** Accepts a message, then fails its job for good with `reason`, as a worker would have. */
  async function failedTurn(id: string, reason: string) {
    const res = await hub.api("/api/ai-hub/assistant/ask", {
      body: { message: { id, role: "user", content: "hi" }, id: `conv-${id}`, assistantId: "default" },
    });
    expect(res.status).toBe(202);
    const worker = new Worker(
      ASK_QUEUE,
      async () => {
        throw new UnrecoverableError(reason);
      },
      { connection: hub.runtime.connect(), prefix: bullPrefix(hub.env.QUEUE_PREFIX) },
    );
    await waitFor(async () => (await hub.runtime.askQueue.getJobState(res.body.message_id)) === "failed", 10_000, "the job to fail");
    await worker.close();
    return res.body.message_id as string;
  }

  it("runs a turn again whose job failed because the database could not be reached", async () => {
    const id = await failedTurn("db-away", "Can't reach database server at 127.0.0.1:5432");
    expect(await sweepOnce(hub.runtime.db.prisma, hub.runtime.askQueue, hub.runtime.turns, 0)).toBeGreaterThanOrEqual(1);
    expect(await hub.runtime.askQueue.getJobState(id)).toBe("waiting");
    expect((await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id } })).status).toBe("pending");
  });

  it("ends with the fallback reply a turn whose job failed for any other reason", async () => {
    const id = await failedTurn("bug", "Cannot read properties of undefined");
    await sweepOnce(hub.runtime.db.prisma, hub.runtime.askQueue, hub.runtime.turns, 0);
    const turn = await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { id } });
    expect(turn.status).toBe("failed");
    const reply = await hub.runtime.db.prisma.message.findUniqueOrThrow({ where: { inReplyToId: id } });
    expect(reply.content).toBe(FALLBACK_REPLY);
  });
});
