import { crc32, createDeflate, createDeflateRaw } from "node:zlib";
import { PDFDocument, PDFName } from "pdf-lib";

// Files made to explode once decompressed, built as they stream (a megabyte of input at a time) so that
// building one costs the test little memory: a DOCX whose document.xml inflates to hundreds of megabytes,
// and a PDF whose one content stream does.

const MB = 1024 * 1024;

/** `megabytes` of spaces (between `head` and `tail`) through a deflate stream; the compressed bytes and the CRC-32 of the input. */
async function deflated(deflate: ReturnType<typeof createDeflate>, head: string, megabytes: number, tail: string) {
  const out: Buffer[] = [];
  deflate.on("data", (chunk: Buffer) => out.push(chunk));
  const finished = new Promise((resolve, reject) => deflate.on("end", resolve).on("error", reject));
  const spaces = Buffer.alloc(MB, " ");
  let crc = 0;
  let size = 0;
  const write = async (chunk: Buffer) => {
    crc = crc32(chunk, crc);
    size += chunk.length;
    if (!deflate.write(chunk)) await new Promise((resolve) => deflate.once("drain", resolve));
  };
  await write(Buffer.from(head));
  for (let i = 0; i < megabytes; i++) await write(spaces);
  await write(Buffer.from(tail));
  deflate.end();
  await finished;
  return { data: Buffer.concat(out), crc, size };
}

/**
 * A DOCX (a zip archive of [Content_Types].xml and word/document.xml) whose document.xml is `megabytes` of
 * spaces in a paragraph. `lie`: its headers declare a kilobyte instead of its real size.
 */
export async function makeDocxBomb(megabytes: number, lie = false): Promise<Buffer> {
  const types = `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`;
  const head = `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Boom`;
  const entries = [
    { name: "[Content_Types].xml", ...(await deflated(createDeflateRaw(), types, 0, "")) },
    {
      name: "word/document.xml",
      ...(await deflated(createDeflateRaw({ level: 9 }), head, megabytes, "</w:t></w:r></w:p></w:body></w:document>")),
    },
  ];
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const size = lie ? 1024 : e.size;
    // Local file header (30 bytes) and central directory header (46 bytes), as APPNOTE.TXT 4.3.7 and 4.3.12 lay them out.
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(e.crc >>> 0, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(e.crc >>> 0, 16);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, e.data);
    centrals.push(central, name);
    offset += local.length + name.length + e.data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A one-page PDF whose content stream (FlateDecode) is `megabytes` of spaces around a line of text. */
export async function makePdfBomb(megabytes: number): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const page = doc.addPage();
  const { data } = await deflated(createDeflate({ level: 9 }), "BT /F1 12 Tf 50 700 Td (Boom) Tj ", megabytes, " ET");
  page.node.set(PDFName.of("Contents"), doc.context.register(doc.context.stream(data, { Filter: "FlateDecode" })));
  return Buffer.from(await doc.save());
}
