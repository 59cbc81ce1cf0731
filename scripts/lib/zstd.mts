// zstd-compressed archives (`<transcript>.deleted|reset|bak.<ts>[.<32 hex>].zst`, written by OpenClaw 2026.7.2 and
// later, docs/naming.md): reading their lines needs Node's zstd (zlib.createZstdDecompress, Node 22.15 / 23.8 and
// later). On an older Node they are still recognised and kept byte for byte; whoever reads lines says so.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { Readable, Transform, pipeline } from "node:stream";
import { pipeline as pipelineAsync } from "node:stream/promises";
import * as zlib from "node:zlib";

/** The first four bytes of every zstd frame (RFC 8878), and of a skippable frame's low nibble range. */
const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

type Decompressor = () => NodeJS.ReadWriteStream;
const createDecompress = (zlib as unknown as { createZstdDecompress?: Decompressor }).createZstdDecompress;

/** Whether this Node can decompress zstd. */
export const HAS_ZSTD = typeof createDecompress === "function";

/** What to tell a user whose Node cannot. */
export const NO_ZSTD = `Node ${process.version} cannot decompress zstd (Node 22.15 or later can)`;

/** Whether `head` (the first bytes of a file) starts a zstd frame. */
export function isZstdFrame(head: Uint8Array): boolean {
  return head.length >= 4 && MAGIC.equals(Buffer.from(head.subarray(0, 4)));
}

/**
 * The decompressed bytes of a zstd stream of chunks; undefined when this Node has no zstd. A read error or a
 * damaged frame makes the iteration throw.
 */
export function decompressChunks(chunks: AsyncIterable<Uint8Array>): Readable | undefined {
  if (!createDecompress) return undefined;
  return pipeline(Readable.from(chunks), createDecompress(), () => {}) as unknown as Readable;
}

/** A file's content as a stream: decompressed when `compressed`; undefined when this Node cannot. */
export function openContent(path: string, compressed: boolean): Readable | undefined {
  if (!compressed) return createReadStream(path);
  if (!createDecompress) return undefined;
  return pipeline(createReadStream(path), createDecompress(), () => {}) as unknown as Readable;
}

/** A compressed file's whole content, decompressed (for small files: local-state copies). */
export async function decompressFile(path: string): Promise<Buffer> {
  const content = openContent(path, true);
  if (!content) throw new Error(`cannot decompress ${path}: ${NO_ZSTD}`);
  const chunks: Buffer[] = [];
  for await (const chunk of content) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Replaces a (staged) zstd file by its decompressed bytes, streaming; returns their size and sha256. The
 * temporary is `<path>.unzst` (the staged name is a sequence number: never too long). A damaged frame or a write
 * error throws, with the file left as it was.
 */
export async function decompressInPlace(path: string): Promise<{ size: number; sha256: string }> {
  if (!createDecompress) throw new Error(NO_ZSTD);
  const temp = `${path}.unzst`;
  const hash = createHash("sha256");
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipelineAsync(
      createReadStream(path),
      createDecompress(),
      count,
      createWriteStream(temp, { mode: 0o600 }),
    );
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return { size, sha256: hash.digest("hex") };
}
