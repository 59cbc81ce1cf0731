// Reads the stream the remote programs send (pull.sh for the file era, export-sqlite.mjs for the SQLite era)
// and writes each file into a staging folder, checking every size and sha256 against what the remote computed.
//
//   gzip?( "OCSYNC 2 " ("manifest" | "stream" | "fetch") "\n"
//          ("I <key> <value>\n")*
//          ( "F <size> <sha256> <hexname>\n" <size bytes> "\n"        (manifest mode: the line only, no bytes,
//                                         and after a transcript "U <bytes>\n" when it ends in an unfinished
//                                         line that long)
//          | "Q <size> <mtime> <inode> <hexname>\n"  (manifest %quick: a file's stat, nothing read, its sha256
//                                         unknown; stream %quick: the stat of the next F's file)
//          | "P <offset> <size> <sha256> <hexname>\n" <size - offset bytes> "\n"
//                                        (fetch mode: an append; the first <offset> bytes are the backup's own
//                                         copy (ReadStreamOptions.prefixes), <sha256> is of all <size> bytes)
//          | "G <hexname>\n"              (fetch mode: a file asked for is gone; it is left out of the result)
//          | "S <why> <hexname>\n" )*    (not read on the bot: a symlink, a hard link, not a regular file)
//          "E <status> <count>\n" )
// The manifest is sent uncompressed; the reader tells by gzip's magic bytes.
//
// <hexname> is the file name's bytes in lowercase hex, so any name the bot's filesystem allows (up to 255 bytes,
// any byte but "/" and NUL: backslashes, carriage returns, newlines, bytes that are not UTF-8) travels exactly.
// Staged files are written under their sequence number (`1`, `2`, ...), never under the bot's name: a long
// legal name cannot become too long in staging, and what the local filesystem can hold is decided later
// (store/names.mts).
//
// Nothing here trusts the stream: a missing end record, a short file, a bad hash, a name with "/" or NUL, a
// duplicate name or bytes after the end all fail the whole transfer. A staging write that fails (disk full,
// permission, I/O error) fails it with a StreamError of kind "write" that says so in one sentence.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { once } from "node:events";
import { writeFailure } from "../cli.mts";
import { PassThrough, type Readable } from "node:stream";

export interface StreamedFile {
  /** The name as text: the bot's bytes decoded as UTF-8, or, when they are not UTF-8, their escaped form. */
  name: string;
  /** The name's exact bytes on the bot, when they are not valid UTF-8 (otherwise `name` is exact). */
  rawName?: Buffer;
  /** Set once the file has a local name that differs from the bot's: the bot's name as text (and `name` is
   * then the local one, see store/names.mts). */
  remoteName?: string;
  nameReason?: string;
  size: number;
  sha256: string;
  /** Sent as an append: the first `appendedFrom` bytes came from the backup's own copy. */
  appendedFrom?: number;
  /** Not sent: the listing showed the cloud's copy is the one the backup already holds. */
  unchanged?: boolean;
  /** From a quick listing (`Q`): "<size> <mtime> <inode>" on the bot; `sha256` is then "" (not computed). */
  quick?: string;
  /** The bot's name for these bytes, when the backup keeps them under `name` (see FileRecord.exportedAs). */
  exportedAs?: string;
  /** Not the bot's: a copy this side made (continuity keeps the backup's version of a rewritten transcript). Its
   * record says it is not in the cloud, so that the bot is never asked about it (openclaw/known.mts). */
  keptLocally?: boolean;
  /** What is stored when it differs from what was received (an index filtered by .syncignore). */
  stored?: { size: number; sha256: string };
  /** Where the bytes were written (stream mode only). */
  path?: string;
  /** Manifest mode: the file ends in an unfinished last line this long (no final "\n"), which a real run holds
   * back. */
  unfinishedBytes?: number;
}

export interface StreamResult {
  mode: "manifest" | "stream" | "fetch";
  info: Record<string, string>;
  files: StreamedFile[];
  /** Compressed bytes received. */
  wireBytes: number;
  /** Entries of the sessions folder the bot did not read: anything but a regular file with one link. */
  skipped?: Array<{ name: string; why: "symlink" | "hardlink" | "other" }>;
  /** Bot files deliberately left out of `files`: merged into another file (Provenance.consumed), by bot name. */
  consumed?: Record<string, { size: number; sha256: string }>;
}

export class StreamError extends Error {
  constructor(
    message: string,
    readonly kind: "truncated" | "corrupt" | "mismatch" | "remote" | "write" = "corrupt",
  ) {
    super(message);
    this.name = "StreamError";
  }
}

/** A name a POSIX filesystem allows in one folder: 1-255 bytes, no "/" or NUL, not "." or "..". */
export function isSafeName(name: string | Buffer): boolean {
  const bytes = typeof name === "string" ? Buffer.from(name) : name;
  return (
    bytes.length > 0 &&
    bytes.length <= 255 &&
    !bytes.includes(0x2f) &&
    !bytes.includes(0) &&
    !(bytes.length === 1 && bytes[0] === 0x2e) &&
    !(bytes.length === 2 && bytes[0] === 0x2e && bytes[1] === 0x2e)
  );
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** The name as text: exact when the bytes are UTF-8; otherwise each byte outside valid UTF-8 becomes `%XX` and
 * each "%" becomes `%25` (reversible; `rawName` keeps the bytes). */
export function nameText(bytes: Buffer): { name: string; rawName?: Buffer } {
  try {
    return { name: utf8.decode(bytes) };
  } catch {
    let name = "";
    let at = 0;
    while (at < bytes.length) {
      const length = utf8Length(bytes, at);
      if (length > 0) {
        const text = bytes.subarray(at, at + length).toString("utf8");
        name += text === "%" ? "%25" : text;
        at += length;
      } else {
        name += `%${bytes[at].toString(16).toUpperCase().padStart(2, "0")}`;
        at++;
      }
    }
    return { name, rawName: Buffer.from(bytes) };
  }
}

/** Length of the valid UTF-8 sequence starting at `at`, or 0. */
function utf8Length(bytes: Buffer, at: number): number {
  const b = bytes[at];
  const length =
    b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
  if (length <= 1) return length;
  if (at + length > bytes.length) return 0;
  try {
    utf8.decode(bytes.subarray(at, at + length));
    return length;
  } catch {
    return 0;
  }
}

/** A path inside a folder with at most one sub-folder (`memory/x.md`, the workspace's memory files). */
export function isSafePath(name: Buffer): boolean {
  const slash = name.indexOf(0x2f);
  return slash < 0
    ? isSafeName(name)
    : isSafeName(name.subarray(0, slash)) && isSafeName(name.subarray(slash + 1));
}

/** A hex name field → its bytes, or undefined when it is not hex. */
function hexName(field: string): Buffer | undefined {
  return /^(?:[0-9a-f]{2})+$/.test(field) ? Buffer.from(field, "hex") : undefined;
}

export interface ReadStreamOptions {
  /** Folder to write files into (stream mode). */
  stagingDir?: string;
  /** Called as bytes arrive, for progress. */
  onProgress?: (received: number, currentFile?: string) => void;
  /** fetch mode: where the first bytes of a file sent as an append (`P`) are, by name. */
  prefixes?: Map<string, string>;
  /** Names may be paths with one sub-folder (workspace.sh: `memory/2026-11-30.md`). */
  paths?: boolean;
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
    if (code) throw new StreamError(writeFailure(error, "the staging folder"), "write");
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
  // A stream that arrived in one piece may have ended while the first bytes were awaited.
  if (input.readableEnded) output.end();
  else input.on("end", () => output.end());
  input.on("error", (error) => output.destroy(error));
  input.resume();
  return output;
}

type State = "header" | "records" | "data" | "data-newline" | "done";

class Parser {
  state: State = "header";
  mode: "manifest" | "stream" | "fetch" = "stream";
  info: Record<string, string> = {};
  skipped: NonNullable<StreamResult["skipped"]> = [];
  files: StreamedFile[] = [];
  names = new Set<string>();
  private writeError?: unknown;
  pending: Buffer = Buffer.alloc(0);
  received = 0;
  currentName?: string;
  /** Manifest mode: the file of the F record just read, which a U record may follow. */
  private justListed?: StreamedFile;
  private current?: {
    file: StreamedFile;
    remaining: number;
    hash: ReturnType<typeof createHash>;
    out?: WriteStream;
  };
  private endRecord?: { status: number; count: number };
  private stamp?: { hex: string; quick: string };
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
        if (current.out && !current.out.write(piece)) await this.drain(current.out);
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
      const match = /^OCSYNC 2 (manifest|stream|fetch)$/.exec(line);
      if (!match)
        throw new StreamError(
          "the bot's answer does not start like a sync stream (something else wrote to stdout)",
        );
      this.mode = match[1] as "manifest" | "stream" | "fetch";
      this.state = "records";
      return;
    }
    const type = line[0];
    // A U record belongs to the F record right before it.
    const justListed = this.justListed;
    this.justListed = undefined;
    if (type === "I") {
      const match = /^I (\S+) ?(.*)$/.exec(line);
      if (!match) throw new StreamError(`malformed info record in the stream`);
      this.info[match[1]] = match[2];
      return;
    }
    if (type === "F") {
      const match = /^F (\d+) ([0-9a-f]{64}) (\S+)$/.exec(line);
      if (!match) throw new StreamError("malformed file record in the stream");
      const [, sizeText, sha256, hex] = match;
      const name = this.checkName(hex);
      const file: StreamedFile = { ...nameText(Buffer.from(hex, "hex")), size: Number(sizeText), sha256 };
      if (this.stamp?.hex === hex) file.quick = this.stamp.quick;
      this.stamp = undefined;
      this.files.push(file);
      if (this.mode === "manifest") {
        this.justListed = file;
        return;
      }
      const staging = this.options.stagingDir;
      if (!staging) throw new StreamError("no staging folder for a data stream");
      file.path = join(staging, String(this.files.length));
      const out = this.open(file.path);
      this.current = { file, remaining: file.size, hash: createHash("sha256"), out };
      this.currentName = name;
      if (file.size === 0) await this.closeFile();
      else this.state = "data";
      return;
    }
    if (type === "Q" && this.mode !== "fetch") {
      const match = /^Q (\d+) (\d+) (\d+) (\S+)$/.exec(line);
      if (!match) throw new StreamError("malformed quick-check record in the stream");
      const [, sizeText, mtime, inode, hex] = match;
      if (this.mode === "stream") {
        // The stat of the file whose F record comes next, taken before it was read.
        this.stamp = { hex, quick: `${sizeText} ${mtime} ${inode}` };
        return;
      }
      this.checkName(hex);
      this.files.push({
        ...nameText(Buffer.from(hex, "hex")),
        size: Number(sizeText),
        sha256: "",
        quick: `${sizeText} ${mtime} ${inode}`,
      });
      return;
    }
    if (type === "S") {
      const match = /^S (\S+) (symlink|hardlink|other)$/.exec(line);
      const bytes = match ? hexName(match[1]) : undefined;
      if (!match || !bytes || !this.safe(bytes))
        throw new StreamError("malformed skipped record in the stream");
      this.skipped.push({ name: nameText(bytes).name, why: match[2] as "symlink" | "hardlink" | "other" });
      return;
    }
    if (type === "G" && this.mode === "fetch") {
      const bytes = hexName(line.slice(2));
      if (!bytes || !isSafeName(bytes)) throw new StreamError("malformed gone record in the stream");
      return;
    }
    if (type === "P" && this.mode === "fetch") {
      const match = /^P (\d+) (\d+) ([0-9a-f]{64}) (\S+)$/.exec(line);
      if (!match) throw new StreamError("malformed append record in the stream");
      const [, offsetText, sizeText, sha256, hex] = match;
      const offset = Number(offsetText);
      const size = Number(sizeText);
      const name = this.checkName(hex);
      const prefix = this.options.prefixes?.get(name);
      if (!prefix || offset > size) {
        throw new StreamError(`the stream sends an append to ${name} that was not asked for`);
      }
      const file: StreamedFile = {
        ...nameText(Buffer.from(hex, "hex")),
        size,
        sha256,
        appendedFrom: offset,
        path: join(this.options.stagingDir!, String(this.files.length + 1)),
      };
      this.files.push(file);
      // The first `offset` bytes come from the backup's copy; the whole is checked against the bot's hash.
      const out = this.open(file.path!);
      const hash = createHash("sha256");
      let copied = 0;
      if (offset > 0) {
        for await (const chunk of createReadStream(prefix, { start: 0, end: offset - 1 })) {
          hash.update(chunk as Buffer);
          copied += (chunk as Buffer).length;
          if (!out.write(chunk)) await this.drain(out);
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
    if (type === "U" && this.mode === "manifest") {
      const match = /^U (\d+)$/.exec(line);
      const file = justListed;
      if (!match || !file || Number(match[1]) > file.size)
        throw new StreamError("malformed unfinished-line record in the stream");
      file.unfinishedBytes = Number(match[1]);
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

  private safe(bytes: Buffer): boolean {
    return this.options.paths ? isSafePath(bytes) : isSafeName(bytes);
  }

  /** Checks a hex name field: the name's bytes are a legal file name and arrive once. Returns it as text. */
  private checkName(hex: string): string {
    const bytes = hexName(hex);
    if (!bytes) throw new StreamError("the stream holds a file record whose name is not hex");
    const { name } = nameText(bytes);
    if (!this.safe(bytes)) throw new StreamError(`the stream names an unsafe file ${JSON.stringify(name)}`);
    if (this.names.has(hex)) throw new StreamError(`the stream sends ${name} twice`);
    this.names.add(hex);
    return name;
  }

  /** A staging file; a write error is kept and turned into one sentence at the next await. */
  private open(path: string): WriteStream {
    const out = createWriteStream(path, { flags: "wx", mode: 0o600 });
    out.on("error", (error) => (this.writeError ??= error));
    this.writers.push(out);
    return out;
  }

  private checkWrite(): void {
    if (this.writeError !== undefined)
      throw new StreamError(writeFailure(this.writeError, "the staging folder"), "write");
  }

  private async drain(out: WriteStream): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = () => {
        out.off("drain", done);
        out.off("error", done);
        out.off("close", done);
        resolve();
      };
      out.on("drain", done);
      out.on("error", done);
      out.on("close", done);
    });
    this.checkWrite();
  }

  private async closeFile(): Promise<void> {
    const current = this.current!;
    this.current = undefined;
    this.currentName = undefined;
    const actual = current.hash.digest("hex");
    if (current.out) {
      const out = current.out;
      this.checkWrite();
      await new Promise<void>((resolve) => {
        out.once("finish", resolve);
        out.once("error", () => resolve());
        out.end();
      });
      this.checkWrite();
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
    return {
      mode: this.mode,
      info: this.info,
      files: this.files,
      skipped: this.skipped,
      wireBytes: this.received,
    };
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
