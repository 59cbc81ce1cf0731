// Reads the stream the remote programs send (pull.sh for the file era, export-sqlite.mjs for the SQLite era)
// and writes each file into a staging folder, checking every size and sha256 against what the remote computed.
//
//   gzip?( "OCSYNC 1 <mode>\n"
//          ("I <key> <value>\n")*
//          ("F <size> <sha256> <name>\n" <size bytes> "\n")*     (manifest mode: no bytes)
//          "E <status> <count>\n" )
//
// Nothing here trusts the stream: a missing end record, a short file, a bad hash, an unsafe name, a duplicate
// name or bytes after the end all fail the whole transfer.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { createGunzip } from "node:zlib";
import { PassThrough, type Readable } from "node:stream";

export interface StreamedFile {
  name: string;
  size: number;
  sha256: string;
  /** Sent as an append: the first `appendedFrom` bytes came from the backup's own copy. */
  appendedFrom?: number;
  /** Not sent: the listing showed the cloud's copy is the one the backup already holds. */
  unchanged?: boolean;
  /** What is stored when it differs from what was received (an index filtered by .syncignore). */
  stored?: { size: number; sha256: string };
  /** Where the bytes were written (stream mode only). */
  path?: string;
}

export interface StreamResult {
  mode: "manifest" | "stream" | "fetch";
  info: Record<string, string>;
  files: StreamedFile[];
  /** Compressed bytes received. */
  wireBytes: number;
  /** fetch mode: files asked for that no longer exist. */
  gone?: string[];
}

export class StreamError extends Error {
  constructor(
    message: string,
    readonly kind: "truncated" | "corrupt" | "mismatch" | "remote" = "corrupt",
  ) {
    super(message);
    this.name = "StreamError";
  }
}

const SAFE_NAME = /^[^/\\\0\n]+$/;

export function isSafeName(name: string): boolean {
  return SAFE_NAME.test(name) && name !== "." && name !== ".." && Buffer.byteLength(name) <= 255;
}

export interface ReadStreamOptions {
  /** Folder to write files into (stream mode). */
  stagingDir?: string;
  /** Called as bytes arrive, for progress. */
  onProgress?: (received: number, currentFile?: string) => void;
  /** fetch mode: where the first bytes of a file sent as an append (`P`) are, by name. */
  prefixes?: Map<string, string>;
}

/** Parses a remote stream; resolves when the end record has been seen and the input is exhausted. */
export async function readRemoteStream(
  input: Readable,
  options: ReadStreamOptions = {},
): Promise<StreamResult> {
  let wire = 0;
  const decoded = await decode(input, (n) => (wire += n));
  const parser = new Parser(options);
  try {
    for await (const chunk of decoded) {
      await parser.push(chunk as Buffer);
      options.onProgress?.(parser.received, parser.currentName);
    }
  } catch (error) {
    await parser.abort();
    if (error instanceof StreamError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "Z_BUF_ERROR" || code === "Z_DATA_ERROR" || /unexpected end/i.test(String(error))) {
      throw new StreamError("the compressed stream from the bot ended early or is damaged", "truncated");
    }
    throw error;
  }
  const result = await parser.finish();
  return { ...result, wireBytes: wire || parser.received };
}

/** Sniffs the first bytes: gzip magic → gunzip; otherwise the plain format. */
async function decode(input: Readable, countWire: (n: number) => void): Promise<Readable> {
  const first = await new Promise<Buffer | null>((resolve, reject) => {
    const cleanup = () => {
      input.off("readable", onReadable);
      input.off("end", onEnd);
      input.off("error", onError);
    };
    const onReadable = () => {
      const chunk = input.read() as Buffer | null;
      if (chunk === null) return;
      cleanup();
      resolve(chunk);
    };
    const onEnd = () => (cleanup(), resolve(null));
    const onError = (error: Error) => (cleanup(), reject(error));
    input.on("readable", onReadable);
    input.on("end", onEnd);
    input.on("error", onError);
  });
  if (first === null) throw new StreamError("the bot sent nothing", "truncated");
  countWire(first.length);
  const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  const output = gzip ? createGunzip() : new PassThrough();
  output.write(first);
  input.on("data", (chunk: Buffer) => {
    countWire(chunk.length);
    if (!output.write(chunk)) {
      input.pause();
      output.once("drain", () => input.resume());
    }
  });
  input.on("end", () => output.end());
  input.on("error", (error) => output.destroy(error));
  input.resume();
  return output;
}

type State = "header" | "records" | "data" | "data-newline" | "done";

class Parser {
  state: State = "header";
  mode: "manifest" | "stream" | "fetch" = "stream";
  info: Record<string, string> = {};
  gone: string[] = [];
  files: StreamedFile[] = [];
  names = new Set<string>();
  pending: Buffer = Buffer.alloc(0);
  received = 0;
  currentName?: string;
  private current?: {
    file: StreamedFile;
    remaining: number;
    hash: ReturnType<typeof createHash>;
    out?: WriteStream;
  };
  private endRecord?: { status: number; count: number };
  private writers: WriteStream[] = [];

  constructor(private options: ReadStreamOptions) {}

  async push(chunk: Buffer): Promise<void> {
    this.received += chunk.length;
    let buffer = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buffer.length > 0) {
      if (this.state === "data") {
        const current = this.current!;
        const take = Math.min(current.remaining, buffer.length);
        const piece = buffer.subarray(0, take);
        current.hash.update(piece);
        if (current.out && !current.out.write(piece)) await once(current.out, "drain");
        current.remaining -= take;
        buffer = buffer.subarray(take);
        if (current.remaining === 0) await this.closeFile();
        continue;
      }
      if (this.state === "data-newline") {
        if (buffer[0] !== 0x0a)
          throw new StreamError(`the stream is out of step after ${this.files.at(-1)?.name}`);
        buffer = buffer.subarray(1);
        this.state = "records";
        continue;
      }
      if (this.state === "done") {
        throw new StreamError("the bot sent data after the end of the stream");
      }
      const newline = buffer.indexOf(0x0a);
      if (newline < 0) {
        if (buffer.length > 8192)
          throw new StreamError("the stream holds a record line that is far too long");
        this.pending = Buffer.from(buffer);
        return;
      }
      const line = buffer.subarray(0, newline).toString("utf8");
      buffer = buffer.subarray(newline + 1);
      await this.record(line);
    }
  }

  private async record(line: string): Promise<void> {
    if (this.state === "header") {
      const match = /^OCSYNC 1 (manifest|stream|fetch)$/.exec(line);
      if (!match)
        throw new StreamError(
          "the bot's answer does not start like a sync stream (something else wrote to stdout)",
        );
      this.mode = match[1] as "manifest" | "stream" | "fetch";
      this.state = "records";
      return;
    }
    const type = line[0];
    if (type === "I") {
      const match = /^I (\S+) ?(.*)$/.exec(line);
      if (!match) throw new StreamError(`malformed info record in the stream`);
      this.info[match[1]] = match[2];
      return;
    }
    if (type === "F") {
      const match = /^F (\d+) ([0-9a-f]{64}) (.+)$/.exec(line);
      if (!match) throw new StreamError("malformed file record in the stream");
      const [, sizeText, sha256, name] = match;
      if (!isSafeName(name)) throw new StreamError(`the stream names an unsafe file ${JSON.stringify(name)}`);
      if (this.names.has(name)) throw new StreamError(`the stream sends ${name} twice`);
      this.names.add(name);
      const file: StreamedFile = { name, size: Number(sizeText), sha256 };
      this.files.push(file);
      if (this.mode === "manifest") return;
      const staging = this.options.stagingDir;
      if (!staging) throw new StreamError("no staging folder for a data stream");
      file.path = join(staging, name);
      const out = createWriteStream(file.path, { flags: "wx", mode: 0o600 });
      this.writers.push(out);
      this.current = { file, remaining: file.size, hash: createHash("sha256"), out };
      this.currentName = name;
      if (file.size === 0) await this.closeFile();
      else this.state = "data";
      return;
    }
    if (type === "G" && this.mode === "fetch") {
      const name = line.slice(2);
      if (!isSafeName(name)) throw new StreamError(`the stream names an unsafe file ${JSON.stringify(name)}`);
      this.gone.push(name);
      return;
    }
    if (type === "P" && this.mode === "fetch") {
      const match = /^P (\d+) (\d+) ([0-9a-f]{64}) (.+)$/.exec(line);
      if (!match) throw new StreamError("malformed append record in the stream");
      const [, offsetText, sizeText, sha256, name] = match;
      const offset = Number(offsetText);
      const size = Number(sizeText);
      const prefix = this.options.prefixes?.get(name);
      if (!isSafeName(name) || !prefix || offset > size) {
        throw new StreamError(`the stream sends an append to ${name} that was not asked for`);
      }
      if (this.names.has(name)) throw new StreamError(`the stream sends ${name} twice`);
      this.names.add(name);
      const file: StreamedFile = {
        name,
        size,
        sha256,
        appendedFrom: offset,
        path: join(this.options.stagingDir!, name),
      };
      this.files.push(file);
      // The first `offset` bytes come from the backup's copy; the whole is checked against the bot's hash.
      const out = createWriteStream(file.path!, { flags: "wx", mode: 0o600 });
      this.writers.push(out);
      const hash = createHash("sha256");
      let copied = 0;
      if (offset > 0) {
        for await (const chunk of createReadStream(prefix, { start: 0, end: offset - 1 })) {
          hash.update(chunk as Buffer);
          copied += (chunk as Buffer).length;
          if (!out.write(chunk)) await once(out, "drain");
        }
      }
      if (copied !== offset)
        throw new StreamError(`the backup's copy of ${name} is shorter than the append needs`);
      this.current = { file, remaining: size - offset, hash, out };
      this.currentName = name;
      if (size === offset) await this.closeFile();
      else this.state = "data";
      return;
    }
    if (type === "E") {
      const match = /^E (\d+) (\d+)$/.exec(line);
      if (!match) throw new StreamError("malformed end record in the stream");
      this.endRecord = { status: Number(match[1]), count: Number(match[2]) };
      this.state = "done";
      return;
    }
    throw new StreamError("the stream holds an unknown record (something else wrote to stdout)");
  }

  private async closeFile(): Promise<void> {
    const current = this.current!;
    this.current = undefined;
    this.currentName = undefined;
    const actual = current.hash.digest("hex");
    if (current.out) {
      current.out.end();
      await once(current.out, "finish");
    }
    if (actual !== current.file.sha256) {
      throw new StreamError(
        `${current.file.name} arrived with a different sha256 than the bot computed (it changed while being read, or the transfer corrupted it)`,
        "mismatch",
      );
    }
    this.state = "data-newline";
  }

  async finish(): Promise<StreamResult & { wireBytes: number }> {
    if (this.state === "header") throw new StreamError("the bot sent nothing", "truncated");
    if (this.state === "data" || this.state === "data-newline") {
      await this.abort();
      throw new StreamError(`the stream ended in the middle of ${this.files.at(-1)?.name}`, "truncated");
    }
    if (this.pending.length) throw new StreamError("the stream ended in the middle of a record", "truncated");
    if (!this.endRecord) throw new StreamError("the stream ended before its end record", "truncated");
    if (this.endRecord.status !== 0) {
      throw new StreamError(
        `the program on the bot's machine reported failure (status ${this.endRecord.status})`,
        "remote",
      );
    }
    if (this.endRecord.count !== this.files.length) {
      throw new StreamError(`the bot announced ${this.endRecord.count} files but sent ${this.files.length}`);
    }
    return { mode: this.mode, info: this.info, files: this.files, gone: this.gone, wireBytes: this.received };
  }

  async abort(): Promise<void> {
    for (const writer of this.writers) {
      if (!writer.closed) {
        writer.destroy();
        await once(writer, "close").catch(() => {});
      }
    }
  }
}
