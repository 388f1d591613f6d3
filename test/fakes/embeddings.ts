import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake of an OpenAI-compatible embeddings server, over real HTTP. It is no model: a text's vector is a
 * hashed bag of its words, lower-cased and unaccented, so texts sharing words are near each other. A few
 * words of several languages are mapped to one shared concept (below), and weigh more than other words: that
 * is the whole of its "meaning", enough for a test to show a question in one language finding a passage
 * written in another, as a real multilingual model does for any words.
 */
export interface FakeEmbeddings {
  /** Base URL ending in /v1, as EMBEDDINGS_BASE_URL takes it. */
  url: string;
  /** The inputs of each request received, failed ones included. */
  requests: string[][];
  /** The Authorization header of each request received. */
  authorizations: (string | undefined)[];
  /** The next n requests answer 503. */
  failNext(n: number): void;
  /** A request with a text longer than this answers 400, as a model's context limit does (unset: none). */
  refuseLongerThan(chars: number | null): void;
  /** Requests without this key (`Authorization: Bearer <key>`) answer 401, as a wrong key gets (null: any key). */
  requireKey(key: string | null): void;
  /** Requests are received (and counted) but not answered until release(): a slow or hanging server. */
  hold(): void;
  release(): void;
  /** Every request answers 503 until up(). */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

export const FAKE_DIMENSIONS = 256;
const CONCEPT_WEIGHT = 3;

// Words of one meaning across languages. Only what the tests ask about.
const CONCEPTS: Record<string, string[]> = {
  hours: ["hours", "opening", "horario", "horarios", "funcionamento", "offnungszeiten", "geoffnet"],
  refund: ["refund", "refunds", "reembolso", "devolucao", "ruckerstattung", "zuruckgeben"],
  password: ["password", "senha", "passwort", "kennwort"],
};
const CONCEPT_OF = new Map(Object.entries(CONCEPTS).flatMap(([concept, words]) => words.map((w) => [w, concept])));

export function fakeVector(text: string): number[] {
  const vector = new Array(FAKE_DIMENSIONS).fill(0);
  const words =
    text
      .normalize("NFD")
      .replace(/\p{M}+/gu, "")
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const word of words) {
    const concept = CONCEPT_OF.get(word);
    const token = concept ? `concept:${concept}` : word;
    const slot = createHash("sha256").update(token).digest().readUInt32BE(0) % FAKE_DIMENSIONS;
    vector[slot] += concept ? CONCEPT_WEIGHT : 1;
  }
  return vector;
}

export async function startFakeEmbeddings(): Promise<FakeEmbeddings> {
  let failing = false;
  let failures = 0;
  let maxChars: number | null = null;
  let key: string | null = null;
  let held: (() => void)[] | null = null;
  const requests: string[][] = [];
  const authorizations: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const parsed = JSON.parse(body || "{}") as { model?: string; input?: string | string[] };
      const input = typeof parsed.input === "string" ? [parsed.input] : (parsed.input ?? []);
      requests.push(input);
      authorizations.push(req.headers.authorization);
      if (held) held.push(() => answer(req, res, parsed.model, input));
      else answer(req, res, parsed.model, input);
    });
  });
  const answer = (req: IncomingMessage, res: ServerResponse, model: string | undefined, input: string[]) => {
    res.setHeader("content-type", "application/json");
    const fail = failing || failures > 0;
    if (failures > 0) failures--;
    if (fail || req.url !== "/v1/embeddings" || req.method !== "POST") {
      res.statusCode = fail ? 503 : 404;
      res.end(JSON.stringify({ error: { message: fail ? "the model is loading" : "not found" } }));
      return;
    }
    if (key !== null && req.headers.authorization !== `Bearer ${key}`) {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: { message: "Incorrect API key provided" } }));
      return;
    }
    if (maxChars !== null && input.some((text) => text.length > maxChars!)) {
      res.statusCode = 400;
      res.end(JSON.stringify({ error: { message: "This model's maximum context length was exceeded" } }));
      return;
    }
    const data = input.map((text, index) => ({ object: "embedding", index, embedding: fakeVector(text) }));
    res.end(JSON.stringify({ object: "list", model, data, usage: { prompt_tokens: 0, total_tokens: 0 } }));
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    authorizations,
    failNext: (n) => {
      failures = n;
    },
    refuseLongerThan: (chars) => {
      maxChars = chars;
    },
    requireKey: (required) => {
      key = required;
    },
    hold: () => {
      held ??= [];
    },
    release: () => {
      const answers = held ?? [];
      held = null;
      for (const respond of answers) respond();
    },
    down: () => {
      failing = true;
    },
    up: () => {
      failing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
