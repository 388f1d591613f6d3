import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createOpenAIProvider, type OpenAIProviderOptions } from "../../../src/assistants/openai";
import { type AssistantRequest, type Passage, ProviderError } from "../../../src/assistants/provider";
import type { AssistantProfile } from "../../../src/types";
import { type FakeOpenAI, startFakeOpenAI } from "../../fakes/openai-server";

const API_KEY = "sk-test-key";
/** A passage of an uploaded file: no heading, page, anchor or URL. */
const NOWHERE = { heading: null, page: null, anchor: null, sourceUrl: null };
const support: AssistantProfile = {
  id: null,
  name: "Support",
  description: "",
  instructions: "Be brief.",
  provider: "openai",
  model: null,
  folderIds: [],
  suggestions: [],
};

let fake: FakeOpenAI;
beforeEach(async () => {
  fake = await startFakeOpenAI({ apiKey: API_KEY });
});
afterEach(() => fake.close());

function provider(overrides: Partial<OpenAIProviderOptions> = {}) {
  return createOpenAIProvider({
    baseUrl: fake.url,
    apiKey: API_KEY,
    model: "gpt-default",
    stream: true,
    timeoutMs: 2000,
    maxRetries: 3,
    retryBaseMs: 10,
    ...overrides,
  });
}

function ask(message: string, extra: Partial<AssistantRequest> = {}): AssistantRequest {
  return { assistant: support, history: [], message, passages: [], ...extra };
}

async function replyWithDeltas(options: Partial<OpenAIProviderOptions>, request: AssistantRequest) {
  const deltas: string[] = [];
  const reply = await provider(options).reply(request, (text) => deltas.push(text));
  return { reply, deltas };
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("openai provider", () => {
  it("streams the reply as several deltas that join into the content, with the server's usage", async () => {
    const { reply, deltas } = await replyWithDeltas({}, ask("How do I reset my password?"));

    expect(reply.content).toBe("Echo: How do I reset my password?");
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join("")).toBe(reply.content);
    expect(reply.tokensUsed).toBe(30);
    expect(fake.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("estimates tokens when a streaming server reports no usage", async () => {
    fake.setUsage(null);
    const { reply } = await replyWithDeltas({}, ask("Hello there"));

    expect(reply.content).toBe("Echo: Hello there");
    expect(reply.tokensUsed).toBeGreaterThan(0);
  });

  it("gives a whole answer asked unstreamed its own, longer time limit", async () => {
    fake.setDelay(400);
    const reply = await provider({ timeoutMs: 200, answerTimeoutMs: 5000, maxRetries: 0 }).reply(ask("Slow?"));
    expect(reply.content).toBe("Echo: Slow?");
    fake.hangNext(1);
    const error = await failure(provider({ timeoutMs: 5000, answerTimeoutMs: 200, maxRetries: 0 }).reply(ask("Anyone?")));
    expect(error.message).toContain("did not answer within 200ms");
  });

  it("asks for the whole answer at once when nobody watches it being written", async () => {
    const reply = await provider().reply(ask("Opening hours?"));
    expect(reply.content).toBe("Echo: Opening hours?");
    expect(fake.requests[0].body.stream).toBe(false);
    expect(fake.requests[0].body.stream_options).toBeUndefined();
  });

  it("answers without streaming in one delta when streaming is off", async () => {
    const { reply, deltas } = await replyWithDeltas({ stream: false }, ask("Opening hours?"));

    expect(reply).toEqual({ content: "Echo: Opening hours?", tokensUsed: 30, sources: [], citations: [] });
    expect(deltas).toEqual(["Echo: Opening hours?"]);
    expect(fake.requests[0].body.stream).toBe(false);
  });

  it("sends the default model, the key, the instructions, the passages and the history in order", async () => {
    const passages: Passage[] = [
      { documentId: "d1", documentTitle: "Password guide", content: "Click 'Forgot password' on the sign-in page.", ...NOWHERE, rank: 0.9 },
      { documentId: "d1", documentTitle: "Password guide", content: "Reset links expire after one hour.", ...NOWHERE, rank: 0.7 },
      { documentId: "d2", documentTitle: "Security FAQ", content: "We never ask for your password by email.", ...NOWHERE, rank: 0.5 },
    ];
    const history = [
      { role: "user" as const, content: "Hi" },
      { role: "assistant" as const, content: "Hello! How can I help?" },
    ];
    const { reply } = await replyWithDeltas({}, ask("How do I reset my password?", { passages, history }));

    const { headers, body } = fake.requests[0];
    expect(headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(body.model).toBe("gpt-default");
    const [system, ...rest] = body.messages;
    expect(system.role).toBe("system");
    expect(system.content).toContain("Support");
    expect(system.content).toContain("Be brief.");
    for (const p of passages) expect(system.content).toContain(p.content);
    expect(system.content).toContain("Password guide");
    expect(system.content).toContain("Security FAQ");
    expect(rest).toEqual([...history, { role: "user", content: "How do I reset my password?" }]);
    expect(reply.sources).toEqual(["Password guide", "Security FAQ"]);
    expect(system.content).not.toMatch(/No matching knowledge/);
  });

  it("tells the model outright when no knowledge matched the question", async () => {
    await replyWithDeltas({}, ask("What are your opening hours?", { passages: [] }));
    const [system] = fake.requests[0].body.messages;
    expect(system.content).toMatch(/No matching knowledge was found for this question/);
  });

  it("uses the assistant's own model over the default", async () => {
    await provider().reply(ask("Hi", { assistant: { ...support, model: "llama3.1:8b" } }), () => {});

    expect(fake.requests[0].body.model).toBe("llama3.1:8b");
  });

  it("waits as long as Retry-After says after a 429, then succeeds", async () => {
    fake.failNext(1, 429, { "retry-after": "1" });
    const started = Date.now();
    const { reply } = await replyWithDeltas({}, ask("Still there?"));

    expect(reply.content).toBe("Echo: Still there?");
    expect(fake.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("retries two server errors and then succeeds", async () => {
    fake.failNext(2, 500);
    const { reply, deltas } = await replyWithDeltas({}, ask("Are you up?"));

    expect(reply.content).toBe("Echo: Are you up?");
    expect(deltas.join("")).toBe(reply.content);
    expect(fake.requests).toHaveLength(3);
  });

  it("gives up with a ProviderError naming the status after maxRetries + 1 attempts of 500", async () => {
    fake.failNext(10, 500);
    const error = await failure(provider({ maxRetries: 2 }).reply(ask("Hello?"), () => {}));

    expect(error.status).toBe(500);
    expect(error.message).toContain("500");
    expect(error.unreachable).toBe(true);
    expect(fake.requests).toHaveLength(3);
  });

  it("fails at once on a 400, without retrying", async () => {
    fake.failNext(1, 400);
    const error = await failure(provider().reply(ask("Hello?"), () => {}));

    expect(error.status).toBe(400);
    expect(error.message).toContain("400");
    expect(error.message).toContain("Fake failure");
    // A refusal, not an outage: asking again later would be refused too.
    expect(error.unreachable).toBe(false);
    expect(fake.requests).toHaveLength(1);
  });

  it("fails at once on a wrong API key, without retrying", async () => {
    const error = await failure(provider({ apiKey: "sk-wrong" }).reply(ask("Hello?"), () => {}));

    expect(error.status).toBe(401);
    expect(error.message).toContain("Incorrect API key");
    expect(error.unreachable).toBe(false);
    expect(fake.requests).toHaveLength(1);
  });

  it("abandons an attempt the server does not answer in time and retries it", async () => {
    fake.hangNext(1);
    const { reply } = await replyWithDeltas({ timeoutMs: 200 }, ask("Anyone?"));

    expect(reply.content).toBe("Echo: Anyone?");
    expect(fake.requests).toHaveLength(2);
  });

  it("gives up with a ProviderError when the server never answers", async () => {
    fake.hangNext(10);
    const started = Date.now();
    const error = await failure(provider({ timeoutMs: 200, maxRetries: 2 }).reply(ask("Anyone?"), () => {}));

    expect(error.message).toMatch(/did not answer within 200ms/);
    expect(error.unreachable).toBe(true);
    expect(fake.requests).toHaveLength(3);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("does not retry a stream that broke after text went out, so the user never sees it twice", async () => {
    fake.breakNext(1);
    const deltas: string[] = [];
    const error = await failure(provider().reply(ask("Tell me everything"), (text) => deltas.push(text)));

    expect(error.message).toContain("broke off");
    expect(error.unreachable).toBe(true);
    expect(deltas).toEqual(["Echo: "]);
    expect(fake.requests).toHaveLength(1);
  });

  it("stops without retrying when the caller cancels", async () => {
    fake.hangNext(10);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failure(provider({ timeoutMs: 5000 }).reply(ask("Hello?", { signal: controller.signal }), () => {}));

    expect(error.message).toContain("cancelled");
    expect(fake.requests).toHaveLength(1);
  });

  it("takes a last event the server closed the stream on without a blank line after it", async () => {
    // Some servers end their stream straight after the last event's data line, with no [DONE].
    const abrupt = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "Open at nine." } }] })}\n\n`);
      res.end(`data: ${JSON.stringify({ choices: [{ delta: {}, finish_reason: "stop" }] })}`);
    });
    await new Promise<void>((resolve) => abrupt.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = abrupt.address() as AddressInfo;
      const reply = await provider({ baseUrl: `http://127.0.0.1:${port}/v1` }).reply(ask("When do you open?"), () => {});
      expect(reply.content).toBe("Open at nine.");
    } finally {
      await new Promise((resolve) => abrupt.close(resolve));
    }
  });

  it("reports a server that cannot be reached", async () => {
    await fake.close();
    const error = await failure(provider({ maxRetries: 1 }).reply(ask("Hello?"), () => {}));

    expect(error.message).toContain("gave up after 2 attempts");
    expect(error.unreachable).toBe(true);
    fake = await startFakeOpenAI();
  });
});
