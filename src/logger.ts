import pino from "pino";

export type Logger = pino.Logger;

// JSON lines on stdout: what log shippers read. A turn's lines carry its `turn` id (the user message id).
export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
