import busboy from "busboy";
import type { Request } from "express";
import { HubError, invalid } from "../../../src/errors";

// A document's file as it arrives: a multipart/form-data `file` field (with an optional `title` field) or
// the raw body. Either is read up to the size limit; past it the rest is drained, so that the client reads
// the 413, and nothing is kept. Other file parts of a form (before or after `file`) are drained unread.

export interface Upload {
  bytes: Buffer;
  contentType: string;
  fileName?: string;
  title?: string;
}

export const tooLarge = (maxBytes: number) =>
  new HubError(413, "payload_too_large", `The document is larger than ${maxBytes} bytes (INGEST_MAX_BYTES)`);

/** A title given as a form field or a query parameter: trimmed, and absent when empty. */
export function titleOf(value: unknown): string | undefined {
  if (typeof value !== "string" || !value.trim()) return undefined;
  if (value.trim().length > 300) throw invalid("Invalid document", [{ field: "title", message: "At most 300 characters" }]);
  return value.trim();
}

/** File parts a form may have besides `file` (drained, not read): more are a malformed form. */
const MAX_FILE_PARTS = 10;

export function readMultipart(req: Request, maxBytes: number): Promise<Upload> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { fileSize: maxBytes, files: MAX_FILE_PARTS, fields: 10, fieldSize: 4096 } });
  } catch (err) {
    return Promise.reject(invalid(`Malformed multipart body: ${(err as Error).message}`));
  }
  return new Promise((resolve, reject) => {
    let file: Omit<Upload, "title"> | null = null;
    let truncated = false;
    let title: unknown;
    let seen = false;
    const malformed = (err: Error) => reject(invalid(`Malformed multipart body: ${err.message}`));
    parser.on("file", (name, stream, info) => {
      // A body that ends inside a part fails the part's stream too: unheard, that error would end the process.
      stream.on("error", malformed);
      if (name !== "file" || seen) return stream.resume();
      seen = true;
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () => {
        truncated = true;
        chunks.length = 0;
      });
      stream.on("end", () => {
        if (!truncated) file = { bytes: Buffer.concat(chunks), contentType: info.mimeType, fileName: info.filename || undefined };
      });
    });
    parser.on("field", (name, value) => {
      if (name === "title") title = value;
    });
    parser.on("error", malformed);
    // A client gone mid-upload: the parser would wait for the rest for ever, and the handler with it.
    const interrupted = () => {
      if (req.complete) return;
      req.unpipe(parser);
      parser.destroy();
      reject(invalid("The upload was interrupted"));
    };
    req.on("close", interrupted);
    req.on("error", interrupted);
    parser.on("close", () => {
      if (truncated) return reject(tooLarge(maxBytes));
      if (!file) return reject(invalid("Invalid document", [{ field: "file", message: "A `file` field is required" }]));
      try {
        resolve({ ...file, title: titleOf(title) });
      } catch (err) {
        reject(err);
      }
    });
    req.pipe(parser);
  });
}
