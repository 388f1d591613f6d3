import { once } from "node:events";
import { rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import type { CommandLine } from "./cli-commands";
import type { Db } from "./db/database";
import type { Logger } from "./logger";

// PGlite is single-process: while a hub holds the embedded database, `npm run cli` cannot open it, so it
// sends its command to the hub over a Unix socket beside the database's files, and the hub runs it. Only
// the socket's owner may connect: the same people who could open the files themselves.
// One JSON line each way per message: the command, then its output lines and how it ended.

type Request = { argv: string[]; cwd: string };
type Reply = { line: string } | { error: string } | { done: true };

// A Unix socket's path has room for 107 bytes on Linux and 103 on macOS; Node cuts a longer one short, so
// the hub would listen where the CLI does not look (or where another hub's cut-short path is).
const MAX_SOCKET_PATH = 103;

const socketPath = (dir: string) => path.join(dir, "hub.sock");

/** A hub on the embedded database in `dir` can take commands: the socket's path is not too long. */
export const takesCommands = (dir: string) => Buffer.byteLength(socketPath(dir)) <= MAX_SOCKET_PATH;

export interface CommandServer {
  /** Takes no more commands; resolves once every connection has ended. */
  close(): Promise<void>;
  /** Cuts off the connections still open (a client that stopped reading), so they do not hold the hub up. */
  destroy(): void;
}

/**
 * Takes commands for the embedded database in `dir`, which this process holds (its lock is ours). Best
 * effort: without the socket the hub runs all the same, and the CLI refuses while it holds the directory.
 */
export async function serveCommands(prisma: Db, dir: string, logger: Logger, commands: CommandLine): Promise<CommandServer | null> {
  const file = socketPath(dir);
  if (!takesCommands(dir)) {
    logger.warn({ socket: file }, "npm run cli cannot reach this hub: the socket's path is too long, give DATA_DIR a shorter one");
    return null;
  }
  // Left by a process that died; no one else listens on it, since this process holds the directory.
  rmSync(file, { force: true });
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => {});
    createInterface({ input: socket }).once("line", (line) => answer(prisma, commands, socket, line));
  });
  try {
    await listenPrivately(server, file);
  } catch (err) {
    logger.warn({ socket: file, err: (err as Error).message }, "npm run cli cannot reach this hub: its socket cannot be opened");
    return null;
  }
  return {
    close: () => new Promise((resolve) => server.close(() => resolve())),
    destroy() {
      for (const socket of open) socket.destroy();
    },
  };
}

/**
 * Listens on a socket created for its owner only. Not chmod after listening: until then others could
 * connect. The umask is the process's, but listen binds before it returns, so it is put back at once.
 */
function listenPrivately(server: Server, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const umask = process.umask(0o077);
    try {
      server.listen(file, resolve);
    } finally {
      process.umask(umask);
    }
  });
}

async function answer(prisma: Db, commands: CommandLine, socket: Socket, line: string) {
  const send = (reply: Reply) => socket.write(`${JSON.stringify(reply)}\n`);
  try {
    const { argv, cwd } = JSON.parse(line) as Request;
    await commands.run(prisma, argv, { cwd, out: (text) => send({ line: text }) });
    send({ done: true });
  } catch (err) {
    send({ error: err instanceof Error ? err.message : String(err) });
  }
  socket.end();
}

/**
 * Runs the command in the process serving the embedded database in `dir`. False when none does (no hub,
 * one that died and left its socket, or a `dir` too long for one): the caller may then open the database itself.
 */
export async function sendCommand(dir: string, argv: string[], out: (line: string) => void): Promise<boolean> {
  if (!takesCommands(dir)) return false;
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
