import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import type { Request } from "express";
import { readMultipart, type Upload } from "../../../adapters/rest/management/uploads";
import { HubError } from "../../../src/errors";
import { waitFor } from "../../support/processes";

// The multipart reader on a real HTTP server: the `file` part is found whatever comes before it, and a
// client that goes away mid-upload settles the read (nothing waits for the rest of a body that never comes).

describe("reading a multipart upload", () => {
  let server: Server;
  let url: string;
  const reads: { result?: Upload; error?: unknown }[] = [];
  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const read: (typeof reads)[number] = {};
      reads.push(read);
      readMultipart(req as Request, 1000).then(
        (upload) => {
          read.result = upload;
          res.writeHead(200).end();
        },
        (err) => {
          read.error = err;
          res.writeHead(400).end();
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("finds the `file` part after other file parts, which are drained unread", async () => {
    const form = new FormData();
    form.append("attachment", new Blob(["not this one"], { type: "text/plain" }), "notes.txt");
    form.append("file", new Blob(["# Menu\n\nSoup of the day."], { type: "text/markdown" }), "menu.md");
    form.append("title", "Menu");
    reads.length = 0;
    expect((await fetch(url, { method: "POST", body: form })).status).toBe(200);
    expect(reads[0].result).toMatchObject({ fileName: "menu.md", title: "Menu", contentType: "text/markdown" });
    expect(reads[0].result?.bytes.toString()).toBe("# Menu\n\nSoup of the day.");
  });

  it("answers 400 to a body that ends inside its file part", async () => {
    reads.length = 0;
    const body = '--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\ncut short';
    const res = await fetch(url, { method: "POST", headers: { "content-type": "multipart/form-data; boundary=b" }, body });
    expect(res.status).toBe(400);
    expect((reads[0].error as HubError).message).toMatch(/Malformed multipart body/);
  });

  it("settles a read whose client goes away mid-upload", async () => {
    reads.length = 0;
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 900\r\n\r\n" +
        '--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nthe first half of',
    );
    await waitFor(() => reads.length === 1, 10_000, "the upload begun");
    socket.destroy();
    const read = await waitFor(() => (reads[0].error || reads[0].result) && reads[0], 10_000, "the read settled");
    expect(read.result).toBeUndefined();
    expect(read.error).toBeInstanceOf(HubError);
    expect((read.error as HubError).message).toMatch(/interrupted/);
  });
});
