import { createServer, type OutgoingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** What the fake answers at one path. */
export interface Page {
  status?: number;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Never answered (until the server closes). */
  hang?: boolean;
}

export interface FakeWebServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Serves `page` at `path` from now on (a page set again replaces the old one). */
  set(path: string, page: Page): void;
  /** Requests received per path. */
  hits(path: string): number;
  close(): Promise<void>;
}

/** A web site on 127.0.0.1, real HTTP: the pages a knowledge folder imports. Unknown paths answer 404. */
export async function startFakeWebServer(): Promise<FakeWebServer> {
  const pages = new Map<string, Page>();
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const page = pages.get(path);
    if (!page) return res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    if (page.hang) return;
    res.writeHead(page.status ?? 200, page.headers ?? { "content-type": "text/html; charset=utf-8" }).end(page.body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set: (path, page) => pages.set(path, page),
    hits: (path) => counts.get(path) ?? 0,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
