import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { askBenchmarks, scalingBenchmark } from "./ask";
import { type BenchOptions, profileHubsInto, type Row } from "./harness";
import { modelBenchmark } from "./model";
import { retrievalBenchmark } from "./retrieval";
import { memoryBenchmark, wsBenchmark } from "./sockets";
import { twilioBenchmark } from "./twilio";

// `npm run bench [-- --seconds 10 --json FILE --only ws,twilio --profile DIR --retrieval-modes full-text]`: each figure is measured with its baseline in
// the same run on the same machine, and reported as a ratio, because absolute figures drift from run to run.
// The hub answers with the knowledge provider and no folders: an assistant that answers at once, so what is
// measured is the hub's own cost (HTTP, Postgres writes, the queue, the reply bus), on real Redis and Postgres.
// The `model` figure alone puts a slow streaming model (a fake) behind the hub: how many turns it keeps going at once.
// The `retrieval` figure is no load test: how well and how fast the knowledge folders find answers, over a
// labelled set of documents and questions (bench/retrieval/README.md), in this process.

const FIGURES: Record<string, (opts: BenchOptions, rows: Row[]) => Promise<void>> = {
  ask: askBenchmarks,
  ws: wsBenchmark,
  twilio: twilioBenchmark,
  memory: memoryBenchmark,
  scaling: scalingBenchmark,
  model: modelBenchmark,
  retrieval: retrievalBenchmark,
};

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    json: { type: "string" },
    connections: { type: "string", default: "64" },
    sockets: { type: "string", default: "256" },
    "idle-sockets": { type: "string", default: "10000" },
    only: { type: "string", default: Object.keys(FIGURES).join(",") },
    // Every hub process writes a V8 CPU profile here when it exits (open in Chrome DevTools or speedscope).
    profile: { type: "string" },
    // The retrieval figure's modes to run (full-text, hybrid): full-text alone takes about a minute.
    "retrieval-modes": { type: "string" },
  },
});

function print(rows: Row[]) {
  const table = [
    ["figure", "hub", "baseline", "ratio", "target", "met"],
    ...rows.map((r) => [
      r.figure,
      r.hub,
      r.baseline,
      r.ratio === null ? "" : `${r.ratio.toFixed(2)}x`,
      r.target,
      r.met === null ? "" : r.met ? "yes" : "NO",
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(table[0]));
  console.log(`| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
  for (const row of table.slice(1)) console.log(line(row));
  for (const r of rows) if (r.detail) console.log(`\n${r.figure}:\n${JSON.stringify(r.detail)}`);
}

async function main() {
  const opts: BenchOptions = {
    seconds: Number(args.seconds),
    connections: Number(args.connections),
    sockets: Number(args.sockets),
    idleSockets: Number(args["idle-sockets"]),
    retrievalModes: args["retrieval-modes"]?.split(","),
  };
  if (args.profile) profileHubsInto(args.profile);
  const only = args.only.split(",");
  const unknown = only.filter((name) => !FIGURES[name]);
  if (unknown.length) throw new Error(`--only takes ${Object.keys(FIGURES).join(",")}; not ${unknown.join(",")}`);
  const rows: Row[] = [];
  for (const [name, figure] of Object.entries(FIGURES)) if (only.includes(name)) await figure(opts, rows);
  print(rows);
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ date: new Date().toISOString(), ...opts, rows }, null, 2)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
