import net from "node:net";
import fc from "fast-check";
import { MAX_CONTENT_CHARS, parseFrame } from "../../adapters/ws/frames";
import { connect, type Frame, isType } from "../adapters/ws/client";
import { startTestHub, type TestHub } from "../support/hub";
import { waitFor } from "../support/processes";

// Hostile input on the /ws protocol: the frame parser on its own, then the live endpoint. Whatever a client
// sends (text, binary, oversized, not UTF-8, frames with any field values, any query on the upgrade URL,
// any request target), it gets an error frame or a close code that says why, the hub never crashes or leaves
// an unhandled rejection, and the same hub goes on serving other clients.

const ERROR_CODES = ["invalid_message", "unauthorized", "forbidden", "not_found", "rate_limited", "unavailable"];
const FIELDS = ["type", "content", "session_id", "id", "assistant_id"] as const;
type Field = (typeof FIELDS)[number];

/** Any code point, lone surrogates and NUL included. */
const anyText = (maxLength: number, minLength = 0) => fc.string({ unit: "binary", minLength, maxLength });
const nonBlank = anyText(200, 1).filter((s) => s.trim().length > 0);

/** A frame the protocol accepts, with unknown fields alongside the known ones. */
const validFrame = fc
  .record(
    {
      content: fc.oneof(
        nonBlank,
        nonBlank.map((s) => ` \n${s}\t `),
        fc.constant("x".repeat(MAX_CONTENT_CHARS)),
      ),
      session_id: anyText(100),
      id: anyText(200, 1),
      assistant_id: anyText(200, 1),
    },
    { requiredKeys: ["content"] },
  )
  .chain((frame) =>
    fc
      .dictionary(
        fc.string({ minLength: 1, maxLength: 10 }).filter((k) => !(FIELDS as readonly string[]).includes(k)),
        fc.jsonValue({ maxDepth: 2 }),
        { maxKeys: 3 },
      )
      .map((extra) => ({ ...extra, ...frame, type: "message" as const })),
  );

/** Values each field refuses (the frame is otherwise valid). */
const refused: Record<Field, fc.Arbitrary<unknown>> = {
  type: fc.constantFrom("Message", "typing", "status", "", null, 1, ["message"]),
  content: fc.oneof(
    fc.constantFrom("", "   ", "\n\t ", null, 0, true, [], {}, undefined),
    fc.integer({ min: MAX_CONTENT_CHARS + 1, max: MAX_CONTENT_CHARS + 50 }).map((n) => "y".repeat(n)),
  ),
  session_id: fc.oneof(
    anyText(20).map((s) => s + "s".repeat(101)),
    fc.constantFrom(null, 7, false, {}),
  ),
  id: fc.oneof(
    fc.constant(""),
    anyText(20).map((s) => s + "i".repeat(201)),
    fc.constantFrom(null, 7, []),
  ),
  assistant_id: fc.oneof(fc.constant(""), fc.constant("a".repeat(201)), fc.constantFrom(null, 7, {})),
};

/** A valid frame with exactly one field broken, and the field's name. */
const nearValid = fc.constantFrom(...FIELDS).chain((field) =>
  fc.tuple(validFrame, refused[field]).map(([frame, value]) => {
    const broken: Record<string, unknown> = { ...frame };
    if (value === undefined) delete broken[field];
    else broken[field] = value;
    return { field, raw: JSON.stringify(broken) };
  }),
);

/** Checks a parse verdict is one of the two shapes, and returns it. */
function verdict(raw: string) {
  const out = parseFrame(raw);
  expect(Object.keys(out)).toHaveLength(1);
  if ("frame" in out) {
    const { frame } = out;
    if (frame.type === "feedback") {
      expect(["up", "down"]).toContain(frame.rating);
      return out;
    }
    expect(frame.type).toBe("message");
    expect(frame.content).toBe(frame.content.trim());
    // zod counts characters (code points), not UTF-16 units.
    expect([...frame.content].length).toBeGreaterThan(0);
    expect([...frame.content].length).toBeLessThanOrEqual(MAX_CONTENT_CHARS);
  } else {
    const { problem } = out;
    expect(problem).toMatchObject({ type: "error", code: "invalid_message", message: expect.any(String) });
    for (const issue of problem.issues ?? []) expect(issue).toEqual({ field: expect.any(String), message: expect.any(String) });
  }
  return out;
}

describe("parseFrame", () => {
  it("answers any string with a frame or an invalid_message error frame, and never throws", () => {
    fc.assert(
      fc.property(fc.oneof(anyText(300), fc.string({ maxLength: 300 })), (raw) => {
        verdict(raw);
      }),
      { numRuns: 500 },
    );
  });

  it("refuses any JSON that is not an object, naming the body", () => {
    const notObject = fc.jsonValue().filter((v) => v === null || typeof v !== "object" || Array.isArray(v));
    fc.assert(
      fc.property(notObject, (value) => {
        const out = verdict(JSON.stringify(value));
        expect("problem" in out && out.problem.issues).toContainEqual({ field: "body", message: expect.any(String) });
      }),
      { numRuns: 300 },
    );
  });

  it("answers any JSON object with a frame or an error frame", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        verdict(JSON.stringify(value));
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips a valid frame's fields, trimming the content and dropping unknown fields", () => {
    fc.assert(
      fc.property(validFrame, fc.constantFrom(undefined, 2, "\t"), (frame, indent) => {
        const out = verdict(JSON.stringify(frame, null, indent));
        const { type, content, session_id, id, assistant_id } = frame;
        const expected = Object.fromEntries(
          Object.entries({ type, content: content.trim(), session_id, id, assistant_id }).filter(([, v]) => v !== undefined),
        );
        expect(out).toEqual({ frame: expected });
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a frame nested deeper than 32 levels, naming the field", () => {
    const nested = (levels: number) => `{"type":"message","content":"hi","extra":${"[".repeat(levels)}${"]".repeat(levels)}}`;
    expect(verdict(nested(50_000))).toEqual({
      problem: expect.objectContaining({ issues: [{ field: "extra", message: expect.stringContaining("32 levels") }] }),
    });
    expect(verdict(nested(31))).toEqual({ frame: { type: "message", content: "hi" } });
  });

  it("refuses a frame with one broken field, naming that field", () => {
    fc.assert(
      fc.property(nearValid, ({ field, raw }) => {
        const out = verdict(raw);
        expect("problem" in out && out.problem.issues?.map((i) => i.field)).toContain(field);
      }),
      { numRuns: 300 },
    );
  });
});

describe("hostile clients on a live /ws", () => {
  const MAX_FRAME = 16 * 1024;
  let hub: TestHub;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    process.on("unhandledRejection", onRejection);
    hub = await startTestHub("postgres", { WS_MAX_FRAME_BYTES: String(MAX_FRAME), RATE_LIMIT_PER_MINUTE: "100000" });
  });
  afterAll(async () => {
    process.off("unhandledRejection", onRejection);
    await hub?.stop();
  });

  /** The hub still serves: a new socket's message is answered, and the health endpoints say ok. */
  async function stillServing() {
    const socket = await connect(hub.url);
    await socket.next(isType("status"));
    socket.send({ type: "message", content: "still there?" });
    expect(await socket.next((f) => f.type === "message" && f.sender === "bot")).toMatchObject({ content: expect.any(String) });
    await socket.close();
    for (const path of ["/healthz", "/readyz"]) expect((await fetch(hub.url + path)).status).toBe(200);
    expect(rejections).toEqual([]);
  }

  const isError = (f: Frame) => f.type === "error";
  const expectErrorFrame = (f: Frame, code?: string) => {
    expect(f).toMatchObject({ type: "error", message: expect.any(String) });
    expect(ERROR_CODES).toContain(f.code);
    if (code) expect(f.code).toBe(code);
  };

  /** Text the parser refuses, small enough for one frame. */
  const badText = fc
    .oneof(
      anyText(300),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      nearValid.map((n) => n.raw),
    )
    .filter((s) => Buffer.byteLength(s) < MAX_FRAME && "problem" in parseFrame(s));
  const badFrame = fc.oneof(
    badText.map((text) => ({ text })),
    fc.uint8Array({ maxLength: 2000 }).map((bytes) => ({ binary: Buffer.from(bytes) })),
  );

  it("answers each malformed text or binary frame with one invalid_message error and keeps the socket usable", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(badFrame, { minLength: 1, maxLength: 4 }), async (frames) => {
        const socket = await connect(hub.url);
        await socket.next(isType("status"));
        for (const f of frames) {
          if ("text" in f) socket.ws.send(f.text);
          else socket.ws.send(f.binary, { binary: true });
        }
        for (const _ of frames) expectErrorFrame(await socket.next(isError, 5000), "invalid_message");
        socket.send({ type: "message", content: "after the noise" });
        await socket.next((f) => f.type === "message" && f.content === "after the noise");
        expect(socket.frames.filter(isError)).toHaveLength(frames.length);
        await socket.close();
      }),
      { numRuns: 30 },
    );
    await stillServing();
  });

  it("answers a frame nested 8,000 levels deep with invalid_message and keeps the socket usable", async () => {
    const socket = await connect(hub.url);
    await socket.next(isType("status"));
    socket.ws.send(`{"type":"message","content":"deep","extra":${"[".repeat(8000)}${"]".repeat(8000)}}`);
    expectErrorFrame(await socket.next(isError), "invalid_message");
    socket.send({ type: "message", content: "after the deep one" });
    await socket.next((f) => f.type === "message" && f.content === "after the deep one");
    await socket.close();
    await stillServing();
  });

  it("answers a valid frame with any field values with its message or an error frame in the seed's table", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(validFrame, fc.boolean(), fc.boolean(), async (frame, ownSession, anyAssistant) => {
        const socket = await connect(hub.url);
        const status = await socket.next(isType("status"));
        // A unique id, so no run resends another's message; the socket's own session and the default
        // assistant at times, so that frames get past those checks too.
        const sent = {
          ...frame,
          ...(frame.id === undefined ? {} : { id: `${n++}:${frame.id}` }),
          ...(frame.session_id !== undefined && ownSession ? { session_id: status.session_id } : {}),
          ...(frame.assistant_id !== undefined && !anyAssistant ? { assistant_id: "default" } : {}),
        };
        socket.send(sent);
        const outcome = await socket.next((f) => isError(f) || (f.type === "message" && f.sender === "user"), 5000);
        if (outcome.type === "message") expect(outcome.content).toBe(sent.content.trim());
        else {
          expectErrorFrame(outcome);
          expect(outcome.code).not.toBe("unavailable");
        }
        await socket.close();
      }),
      // U+0000 is valid JSON and a valid frame, but no Postgres text can hold it.
      {
        numRuns: 25,
        examples: [
          [{ type: "message", content: "a\u0000b" }, false, true],
          [{ type: "message", content: "hi", assistant_id: "\u0000" }, false, true],
        ],
      },
    );
    await stillServing();
  });

  it("closes with 1009 on a text or binary frame over the maximum size", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.integer({ min: MAX_FRAME + 1, max: MAX_FRAME * 4 }), async (binary, size) => {
        const socket = await connect(hub.url);
        await socket.next(isType("status"));
        socket.ws.send(Buffer.alloc(size, binary ? 0xab : 0x61), { binary });
        expect((await socket.closed).code).toBe(1009);
      }),
      { numRuns: 6 },
    );
    const edge = await connect(hub.url);
    await edge.next(isType("status"));
    edge.ws.send("z".repeat(MAX_FRAME));
    expectErrorFrame(await edge.next(isError), "invalid_message");
    await edge.close();
    await stillServing();
  });

  it("closes with 1007 on a text frame that is not UTF-8", async () => {
    const notUtf8 = fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]);
    await fc.assert(
      fc.asyncProperty(notUtf8, fc.string({ maxLength: 20 }), async (bad, around) => {
        const socket = await connect(hub.url);
        await socket.next(isType("status"));
        socket.ws.send(Buffer.concat([Buffer.from(around), Buffer.from(bad), Buffer.from(around)]), { binary: false });
        expect((await socket.closed).code).toBe(1007);
      }),
      { numRuns: 8 },
    );
    await stillServing();
  });

  it("opens a session or refuses with an error frame and a 4xxx close, whatever the upgrade URL's query", async () => {
    const keys = ["assistant_id", "session_id", "org", "token", "user_id", "stream", "last_message_id"];
    const value = fc.oneof(
      anyText(60),
      fc.uuid(),
      fc.constantFrom("default", "1", "true", hub?.orgId ?? ""),
      fc.tuple(anyText(20), anyText(20), anyText(20)).map((parts) => parts.join(".")),
    );
    const query = fc.dictionary(fc.oneof(fc.constantFrom(...keys), fc.string({ maxLength: 8 })), value, { maxKeys: 5 });
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const socket = await connect(hub.url, q);
        const first = await socket.next(() => true, 5000);
        if (first.type === "status") {
          expect(first).toMatchObject({ status: "connected", session_id: expect.any(String) });
          await socket.close();
          return;
        }
        expectErrorFrame(first);
        const { code } = await socket.closed;
        expect(first.code).not.toBe("unavailable");
        expect(code).toBeGreaterThanOrEqual(4400);
        expect(code).toBeLessThan(4500);
      }),
      { numRuns: 40, examples: [[{ assistant_id: "\u0000" }], [{ token: "a.b.c" }], [{ org: "\u0000" }]] },
    );
    await stillServing();
  });

  it("answers any request target on an upgrade with an HTTP status, never by failing", async () => {
    // Raw requests: a WebSocket client only ever sends well-formed paths.
    const target = fc.oneof(
      fc.constantFrom("/ws", "//", "//[", "//ws", "///ws", "*", "/ws?%", "/ws?%%00", "http://gateway/ws", "/ws#frag", "/%2e%2e/ws"),
      // Only what a request line can carry: printable ASCII without spaces.
      fc.string({ unit: "binary-ascii", maxLength: 40 }).map((s) => `/ws?${s.replace(/[^!-~]/g, "")}`),
      fc.string({ unit: "binary-ascii", minLength: 1, maxLength: 40 }).map((s) => s.replace(/[^!-~]/g, "") || "/"),
    );
    await fc.assert(
      fc.asyncProperty(target, async (path) => {
        const status = await rawUpgrade(hub.url, path);
        expect(status).toMatch(/^HTTP\/1\.1 (101|[34]\d\d) /);
      }),
      { numRuns: 40, examples: [["//"], ["//["]] },
    );
    await stillServing();
  });

  it("keeps nothing of a client that leaves before its session is open", async () => {
    const prisma = hub.runtime.db.prisma;
    const before = await prisma.chatSession.count();
    for (let i = 0; i < 10; i++) expect(await rawUpgrade(hub.url, "/ws")).toMatch(/^HTTP\/1\.1 101 /);
    await waitFor(async () => (await prisma.chatSession.count()) >= before + 10, 5000, "the sessions being opened");
    await new Promise((r) => setTimeout(r, 100));
    // Listeners are the bus's own business; a leaked one shows nowhere else until memory runs out.
    expect((hub.runtime.bus as unknown as { listeners: Map<string, unknown> }).listeners.size).toBe(0);
  });
});

/** Sends an upgrade request for `path` on a raw socket; resolves with the response's status line. */
function rawUpgrade(baseUrl: string, path: string): Promise<string> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let got = "";
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to an upgrade of ${JSON.stringify(path)}`)));
    socket.on("data", (chunk) => {
      got += chunk.toString("latin1");
      if (got.includes("\r\n")) {
        socket.destroy();
        resolve(got.slice(0, got.indexOf("\r\n")));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(got.split("\r\n")[0] ?? ""));
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
  });
}
