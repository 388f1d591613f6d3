/** The media type alone, lower-case, without parameters. */
export const mediaType = (contentType: string | undefined) => (contentType ?? "").split(";")[0].trim().toLowerCase();

/**
 * Text in the charset its Content-Type declares, re-encoded as UTF-8, so that what is stored needs no
 * header to be read. Anything else (no charset, not text, a charset unknown) is returned as it is.
 */
export function asUtf8(bytes: Buffer, contentType: string): Buffer {
  const charset = /;\s*charset="?([\w.:-]+)/i.exec(contentType)?.[1];
  if (!charset || /^utf-?8$/i.test(charset) || !/^text\/|xhtml/i.test(contentType)) return bytes;
  try {
    return Buffer.from(new TextDecoder(charset).decode(bytes), "utf8");
  } catch {
    return bytes;
  }
}
