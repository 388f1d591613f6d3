import { assistantTotals } from "./ask";
import type { ConversationsResult, ConversationsSpec } from "./conversations";
import type { FakeModelSpec } from "./fake-model";
import { type BenchOptions, type Row, runChild, startLayout, startScript } from "./harness";

// A real model at scale: the hub with its default settings, in front of a model that takes about 2 s to write
// each answer (the fake OpenAI-compatible server: streamed word by word when asked to stream, else sent whole
// once written), while 1,000 conversations each ask again as soon as they are answered. What is measured is
// whether the hub keeps that many turns going at once: ideally 1,000 / 2 s. The ask API's JSON answer has no
// watcher of the reply being written, so the hub asks for whole answers.

const MODEL: FakeModelSpec = { firstPieceMs: 400, pieces: 32, pieceMs: 50 };
const ANSWER_SECONDS = (MODEL.firstPieceMs + MODEL.pieces * MODEL.pieceMs) / 1000;
const CONVERSATIONS = 1000;
const IDEAL = CONVERSATIONS / ANSWER_SECONDS;

export async function modelBenchmark(opts: BenchOptions, rows: Row[]) {
  const model = await startScript<{ url: string }>("fake-model.ts", MODEL);
  // The provider and where it is; nothing tuned.
  const layout = await startLayout("all", {
    ASSISTANT_PROVIDER: "openai",
    OPENAI_BASE_URL: model.ready.url,
    OPENAI_API_KEY: "bench-fake-model-key",
    OPENAI_STREAM: "true",
  });
  try {
    const hub = layout.gateways[0];
    const spec: ConversationsSpec = {
      url: `${hub.url}/api/ai-hub/assistant/ask`,
      key: layout.key,
      conversations: CONVERSATIONS,
      seconds: opts.seconds,
      // The model's, to tell whether it kept up: it shares the machine's cores with the hub.
      pids: { hub: hub.proc.pid as number, model: model.proc.pid as number },
    };
    const result = await runChild<ConversationsResult>("conversations.ts", spec);
    // How long the model took as the hub saw it, over the whole run: the rest of a turn's latency is the hub's.
    const calls = await assistantTotals(hub.url as string, "openai");
    const cpuMs = (result.cpuSeconds.hub / Math.max(1, result.turns)) * 1000;
    const { p50, p99 } = result.latencyMs;
    rows.push({
      figure: `real model (writes each answer over ${ANSWER_SECONDS} s), 1,000 conversations, default settings: turns/s`,
      hub: `${result.perSecond.toFixed(0)} turns/s, ${cpuMs.toFixed(1)} ms CPU/turn, p50/p99 ${p50.toFixed(0)}/${p99.toFixed(0)} ms`,
      baseline: `${IDEAL}/s (ideal: 1,000 conversations / ${ANSWER_SECONDS} s)`,
      ratio: result.perSecond / IDEAL,
      target: ">= 300 turns/s",
      met: result.perSecond >= 300,
      detail: { ...result, modelMeanMs: Math.round((calls.seconds / Math.max(1, calls.count)) * 1000) },
    });
  } finally {
    await layout.stop();
    model.proc.kill();
  }
}
