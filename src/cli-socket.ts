import { once } from "node:events";
import { chmodSync, rmSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { runCommand } from "./cli-commands";
import type { Db } from "./db/database";

// PGlite is single-process: while a hub holds the embedded database, `npm run cli` cannot open it, so it
// sends its command to the hub over a Unix socket beside the database's files, and the hub runs it. Only
// the socket's owner may connect (mode 0600): the same people who could open the files themselves.
// One JSON line each way per message: the command, then its output lines and how it ended.

type Request = { argv: string[]; cwd: string };
type Reply = { line: string } | { error: string } | { done: true };

const socketPath = (dir: string) => path.join(dir, "hub.sock");

/** Takes commands for the embedded database in `dir`, which this process holds (its lock is ours). */
export async function serveCommands(prisma: Db, dir: string): Promise<{ close(): Promise<void> }> {
  const file = socketPath(dir);
  // Left by a process that died; no one else listens on it, since this process holds the directory.
  rmSync(file, { force: true });
  const server = createServer((socket) => {
    socket.on("error", () => {});
    createInterface({ input: socket }).once("line", (line) => answer(prisma, socket, line));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(file, resolve);
  });
  chmodSync(file, 0o600);
  return { close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function answer(prisma: Db, socket: Socket, line: string) {
  const send = (reply: Reply) => socket.write(`${JSON.stringify(reply)}\n`);
  try {
    const { argv, cwd } = JSON.parse(line) as Request;
    await runCommand(prisma, argv, { cwd, out: (text) => send({ line: text }) });
    send({ done: true });
  } catch (err) {
    send({ error: err instanceof Error ? err.message : String(err) });
  }
  socket.end();
}

/**
 * Runs the command in the process serving the embedded database in `dir`. False when none does (no hub,
 * or one that died and left its socket): the caller may then open the database itself.
 */
export async function sendCommand(dir: string, argv: string[], out: (line: string) => void): Promise<boolean> {
  const socket = createConnection(socketPath(dir));
  try {
    await once(socket, "connect");
  } catch (err) {
    if (["ENOENT", "ECONNREFUSED"].includes((err as NodeJS.ErrnoException).code ?? "")) return false;
    throw err;
  }
  socket.write(`${JSON.stringify({ argv, cwd: process.cwd() } satisfies Request)}\n`);
  try {
    for await (const line of createInterface({ input: socket })) {
      const reply = JSON.parse(line) as Reply;
      if ("line" in reply) out(reply.line);
      else if ("error" in reply) throw new Error(reply.error);
      else return true;
    }
  } finally {
    socket.destroy();
  }
  throw new Error("the hub stopped before the command finished; run it again");
}
