import pino from "pino";

export type Logger = pino.Logger;

// JSON lines on stdout: what log shippers read. A turn's lines carry its `turn` id (the user message id).
// Written synchronously, as process.stdout writes to files and pipes: pino's default hands every line to a
// thread of libuv's pool, whose wake-ups cost the event loop more than the write itself.
export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 1, sync: true }));
}
