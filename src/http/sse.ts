import type { Response } from "express";

// Server-sent events, as the ask API and the Conversation Service stream a reply: `event:` and one JSON `data:`.

/** Starts the event stream: status and headers go out at once, so the client sees the stream open. */
export function openEventStream(res: Response): void {
  if (res.headersSent) return;
  // No buffering by a proxy (X-Accel-Buffering, nginx's): each event must reach the client as it is written.
  res
    .status(200)
    .set({ "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive", "X-Accel-Buffering": "no" });
  res.flushHeaders();
}

/** Writes one event, opening the stream first if it is not open yet. */
export function sendEvent(res: Response, event: string, data: unknown): void {
  openEventStream(res);
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
