// Byte-level helpers over files on disk, all streaming (transcripts reach hundreds of MB).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, stat, truncate } from "node:fs/promises";

export async function sha256File(path: string, limit?: number): Promise<string> {
  const hash = createHash("sha256");
  if (limit === 0) return hash.digest("hex");
  const stream = createReadStream(path, limit === undefined ? {} : { start: 0, end: limit - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Git's blob id of a file's bytes (sha1 of "blob <size>\0" and the bytes), as `git hash-object` gives it. */
export async function gitBlobId(path: string): Promise<string> {
  const hash = createHash("sha1");
  hash.update(`blob ${(await stat(path)).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Length of the file up to and including its last "\n" (0 when it has none). Reads backwards in blocks. */
export async function completeLength(path: string): Promise<number> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const block = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - block.length);
      const { bytesRead } = await handle.read(block, 0, end - start, start);
      const at = block.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (at >= 0) return start + at + 1;
      end = start;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

/** Cuts an unfinished last line (no trailing "\n") off a file; returns how many bytes were held back. */
export async function trimUnfinishedLine(path: string): Promise<number> {
  const { size } = await stat(path);
  const keep = await completeLength(path);
  if (keep < size) await truncate(path, keep);
  return size - keep;
}

/** Counts "\n" in a file. */
export async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path)) {
    const buffer = chunk as Buffer;
    let at = buffer.indexOf(0x0a);
    while (at >= 0) {
      lines++;
      at = buffer.indexOf(0x0a, at + 1);
    }
  }
  return lines;
}
