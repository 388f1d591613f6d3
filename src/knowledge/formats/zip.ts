import { createInflateRaw } from "node:zlib";
import JSZip from "jszip";
import { unprocessable } from "./errors";

// A DOCX is a zip archive, and a zip can hold a "bomb": a 1.5 MB file whose document.xml inflates to 1.5 GB.
// Its size once inflated is known before anything is inflated (every entry's header declares it), and checked
// by inflating without keeping anything, since a header can lie; only then does mammoth inflate it for real.

/**
 * The most a DOCX may inflate to, all its entries together: ten times the default upload limit (20 MB), more
 * than a Word file of text and pictures needs (XML compresses about tenfold, pictures not at all), and less
 * than the parse's memory limit (INGEST_PARSE_MEMORY_MB, 512 by default), which mammoth's XML tree of it
 * needs several times over.
 */
export const MAX_INFLATED_BYTES = 200 * 1024 * 1024;

/** What JSZip keeps of an entry: its private `_data` (jszip/index.d.ts describes it, commented out). */
interface Compressed {
  compressedSize: number;
  uncompressedSize: number;
  compression: { magic: string } | null;
  compressedContent: Uint8Array;
}

const DEFLATE = "\x08\x00";
const tooLarge = (bytes: number) =>
  unprocessable(`The DOCX document is too large once decompressed (more than ${bytes / 1024 / 1024} MB): split it into smaller files`);

/** Refuses (422) a zip that declares, or actually inflates to, more than `limit` bytes. */
export async function checkZipSize(bytes: Buffer, limit = MAX_INFLATED_BYTES): Promise<void> {
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(bytes, { checkCRC32: false });
  } catch (err) {
    throw unprocessable(`The DOCX document cannot be read (${(err as Error).message})`);
  }
  // Folders have no data of their own.
  const entries = Object.values(zip.files)
    .filter((file) => !file.dir)
    .map((file) => (file as unknown as { _data: Compressed })._data);
  const declared = entries.reduce((sum, e) => sum + e.uncompressedSize, 0);
  if (declared > limit) throw tooLarge(limit);
  let actual = 0;
  for (const entry of entries) {
    actual += entry.compression?.magic === DEFLATE ? await inflatedSize(entry.compressedContent, limit - actual) : entry.compressedSize;
    if (actual > limit) throw tooLarge(limit);
  }
}

/** How many bytes the raw deflate data inflates to, counted as it streams: past `limit`, it stops there. */
async function inflatedSize(data: Uint8Array, limit: number): Promise<number> {
  const inflate = createInflateRaw();
  inflate.end(data);
  let size = 0;
  try {
    for await (const chunk of inflate) {
      size += (chunk as Buffer).length;
      if (size > limit) break;
    }
  } catch (err) {
    throw unprocessable(`The DOCX document cannot be read (${(err as Error).message})`);
  } finally {
    inflate.destroy();
  }
  return size;
}
