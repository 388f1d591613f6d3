import { createServer, type Socket, connect as tcpConnect } from "node:net";

/** A command as a client sends it: its name, then its arguments. */
export type Command = string[];

export interface RedisProxyOptions {
  /**
   * From the first command this matches, all its client sends on that connection is swallowed: forwarded
   * nowhere, answered by nothing. The client waits, as it would for a Redis that stopped answering.
   */
  swallowFrom: (command: Command) => boolean;
  /**
   * Redis's answers to a connection are held back from the first command it sends that `matches`, until
   * `count` such commands were sent (on all connections): the callers waiting on them all go on at once.
   * A command that `releasedBy` matches lets out what is held first: callers that must have its answer
   * before they can send theirs would otherwise wait behind the held answers for ever. Holding starts again
   * at the next command that matches.
   */
  gather?: { matches: (command: Command) => boolean; count: number; releasedBy?: (command: Command) => boolean };
}

export interface RedisProxy {
  /** redis:// URL of the proxy, to give a hub as its REDIS_URL. */
  url: string;
  /** How many connections started swallowing. */
  swallowed(): number;
  /** How many commands `gather` matched so far. */
  gathered(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a real Redis, to stop a client at one exact command. It reads the client's
 * stream as whole commands (RESP arrays of bulk strings, the only form clients send), so a command split
 * over two TCP chunks is still recognized before any of it reaches Redis.
 */
export async function startRedisProxy(target: string, opts: RedisProxyOptions): Promise<RedisProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let swallowed = 0;
  let gathered = 0;
  // Connections whose answers are held, with what is held for each.
  const holding = new Map<Socket, Buffer[]>();
  const release = () => {
    for (const [client, held] of holding) client.write(Buffer.concat(held));
    holding.clear();
  };

  const server = createServer((client) => {
    const upstream = tcpConnect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      holding.delete(client);
    };
    client.on("error", done).on("close", done);
    upstream.on("error", done).on("close", done);
    upstream.on("data", (chunk: Buffer) => {
      const held = holding.get(client);
      if (held) held.push(chunk);
      else client.write(chunk);
    });

    const reader = new CommandReader();
    let swallowing = false;
    client.on("data", (chunk: Buffer) => {
      if (swallowing) return;
      for (const { raw, command } of reader.push(chunk)) {
        if (opts.swallowFrom(command)) {
          swallowing = true;
          swallowed++;
          return;
        }
        if (holding.has(client) && opts.gather?.releasedBy?.(command)) release();
        if (opts.gather?.matches(command) && gathered < opts.gather.count) {
          gathered++;
          if (!holding.has(client)) holding.set(client, []);
        }
        upstream.write(raw);
      }
      // All in: what is held goes back, and the answers still on their way are no longer held.
      if (opts.gather && gathered >= opts.gather.count) release();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port: own } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${own}`,
    swallowed: () => swallowed,
    gathered: () => gathered,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Cuts a client's byte stream into whole commands: `*<n>\r\n` then n times `$<len>\r\n<bytes>\r\n`. */
class CommandReader {
  private buf = Buffer.alloc(0);

  push(chunk: Buffer): { raw: Buffer; command: Command }[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: { raw: Buffer; command: Command }[] = [];
    for (let next = this.next(); next; next = this.next()) {
      out.push({ raw: this.buf.subarray(0, next.end), command: next.command });
      this.buf = this.buf.subarray(next.end);
    }
    return out;
  }

  /** The first whole command in the buffer and where it ends; null until all of it is in. */
  private next(): { command: Command; end: number } | null {
    const line = (from: number) => {
      const eol = this.buf.indexOf("\r\n", from);
      return eol < 0 ? null : { text: this.buf.toString("latin1", from, eol), next: eol + 2 };
    };
    const head = line(0);
    if (!head) return null;
    if (!head.text.startsWith("*")) throw new Error(`not a RESP command: ${JSON.stringify(head.text.slice(0, 40))}`);
    const command: Command = [];
    let at = head.next;
    for (let i = 0; i < Number(head.text.slice(1)); i++) {
      const len = line(at);
      if (!len) return null;
      const size = Number(len.text.slice(1));
      if (this.buf.length < len.next + size + 2) return null;
      command.push(this.buf.toString("latin1", len.next, len.next + size));
      at = len.next + size + 2;
    }
    return { command, end: at };
  }
}
