// Where verify's files come from: the work tree, or git's index (`--staged`, what the next commit will hold). A
// Source lists the files under some paths and hands out each file's bytes once, as a stream; the checks in
// ../verify.mts know nothing of the file system or git.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { open, readFile, readdir, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { UsageError } from "../cli.mts";
import { runProcess } from "../proc.mts";

export interface FileRef {
  /** Path as shown to the user (relative to cwd, '/' separators). */
  path: string;
  size?: number;
  /** Git blob id, for staged files. */
  blob?: string;
}

export interface Source {
  /** All files under the given paths. */
  list(paths: string[]): Promise<FileRef[]>;
  /** The file's bytes as a stream (reads only once). */
  open(file: FileRef): AsyncIterable<Buffer>;
  /** A small file's bytes, or undefined when it does not exist. */
  read(path: string): Promise<Buffer | undefined>;
  /** File names directly inside a folder. */
  names(dir: string): Promise<string[]>;
  close(): Promise<void>;
}

const SKIP_DIRS = new Set([".git", "node_modules"]);
const CHUNK_BYTES = 512 * 1024;

export function toDisplay(path: string): string {
  return path.split(sep).join("/").replace(/^\.\//, "");
}

class WorkTree implements Source {
  constructor(private readonly cwd: string) {}

  async list(paths: string[]): Promise<FileRef[]> {
    const out: FileRef[] = [];
    for (const path of paths) {
      let info;
      try {
        info = await stat(resolve(this.cwd, path));
      } catch {
        throw new UsageError(`${path} does not exist`);
      }
      if (info.isDirectory()) await this.walk(path, out);
      else out.push({ path: toDisplay(path), size: info.size });
    }
    return out;
  }

  private async walk(dir: string, out: FileRef[]): Promise<void> {
    const entries = await readdir(resolve(this.cwd, dir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIP_DIRS.has(entry.name)) await this.walk(path, out);
      } else if (entry.isFile()) {
        out.push({ path: toDisplay(path), size: (await stat(resolve(this.cwd, path))).size });
      }
    }
  }

  /**
   * Reads into two reused buffers, one chunk ahead: the next read (on libuv's thread pool) runs while the caller
   * checks the current chunk. A chunk is valid until the next one is requested (consumers copy what they keep):
   * the read ahead goes into the buffer of the chunk before, which the caller has finished with.
   */
  async *open(file: FileRef): AsyncIterable<Buffer> {
    const handle = await open(resolve(this.cwd, file.path), "r");
    const buffers = (this.buffers ??= [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)]);
    let pending: Promise<{ bytesRead: number }> | undefined;
    try {
      let which = 0;
      pending = handle.read(buffers[which], 0, CHUNK_BYTES, null);
      for (;;) {
        const { bytesRead } = await pending;
        pending = undefined;
        if (bytesRead === 0) break;
        const current = buffers[which];
        which ^= 1;
        // A short read is not the end of the file (a pipe or a growing file); the next read tells.
        pending = handle.read(buffers[which], 0, CHUNK_BYTES, null);
        yield current.subarray(0, bytesRead);
      }
    } finally {
      // A read still in flight must finish before the handle closes (and before its buffer is reused).
      if (pending) await pending.catch(() => {});
      await handle.close();
    }
  }

  private buffers?: Buffer[];

  async read(path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(resolve(this.cwd, path));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return undefined;
      throw error;
    }
  }

  async names(dir: string): Promise<string[]> {
    try {
      const entries = await readdir(resolve(this.cwd, dir), { withFileTypes: true });
      return entries.filter((entry) => entry.isFile()).map((entry) => entry.name);
    } catch {
      return [];
    }
  }

  async close(): Promise<void> {}
}

/** Git's index: `git ls-files -s` lists the staged blobs, one `git cat-file --batch` streams them. */
class StagedIndex implements Source {
  private catFile?: ChildProcessWithoutNullStreams;
  private reader?: StreamReader;
  private staged = new Map<string, FileRef>();
  /** Every entry of the folders listed so far (symlinks too), so read() needs no git command of its own. */
  private entries = new Map<string, string>();
  private listed: string[] = [];

  constructor(private readonly cwd: string) {}

  async list(paths: string[]): Promise<FileRef[]> {
    const output = await gitOutput(this.cwd, ["ls-files", "-s", "-z", "--", ...paths]);
    for (const path of paths) {
      const plain = path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
      // Only plain folder or file names are known to be listed completely (no pathspec magic or globs).
      if (plain && plain !== "." && !/[*?[\]:\\]/.test(plain) && !plain.split("/").includes(".."))
        this.listed.push(plain);
    }
    const out: FileRef[] = [];
    for (const record of output.split("\0")) {
      if (!record) continue;
      const tab = record.indexOf("\t");
      const [mode, blob, stage] = record.slice(0, tab).split(" ");
      const path = record.slice(tab + 1);
      if (!this.entries.has(path) || stage === "0") this.entries.set(path, blob);
      if (mode === "160000" || mode === "120000") continue; // submodules, symlinks
      if (stage !== "0" && this.staged.has(path)) continue;
      const ref: FileRef = { path, blob };
      this.staged.set(path, ref);
      out.push(ref);
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private start(): StreamReader {
    if (!this.reader) {
      this.catFile = spawn("git", ["cat-file", "--batch"], {
        cwd: this.cwd,
        stdio: ["pipe", "pipe", "pipe"],
      });
      this.catFile.stderr.resume();
      this.catFile.stdin.on("error", () => {});
      this.reader = new StreamReader(this.catFile.stdout);
    }
    return this.reader;
  }

  async *open(file: FileRef): AsyncIterable<Buffer> {
    const reader = this.start();
    this.catFile!.stdin.write(`${file.blob}\n`);
    const header = await reader.line();
    const [, type, size] = header.split(" ");
    if (type !== "blob") throw new Error(`git cat-file could not read ${file.path}: ${header}`);
    file.size = Number(size);
    yield* reader.exactly(file.size);
    await reader.line(); // the "\n" after the content
  }

  async read(path: string): Promise<Buffer | undefined> {
    let ref = this.staged.get(path);
    if (!ref && this.entries.has(path)) ref = { path, blob: this.entries.get(path)! };
    if (!ref && this.listed.some((root) => path === root || path.startsWith(`${root}/`))) return undefined;
    if (!ref) {
      const output = await gitOutput(this.cwd, ["ls-files", "-s", "-z", "--", path]);
      const record = output.split("\0")[0];
      if (!record) return undefined;
      ref = { path, blob: record.slice(0, record.indexOf("\t")).split(" ")[1] };
    }
    const chunks: Buffer[] = [];
    for await (const chunk of this.open(ref)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async names(dir: string): Promise<string[]> {
    const output = await gitOutput(this.cwd, ["ls-files", "-z", "--", dir]);
    const prefix = dir.endsWith("/") ? dir : `${dir}/`;
    return output
      .split("\0")
      .filter((path) => path.startsWith(prefix) && !path.slice(prefix.length).includes("/"))
      .map((path) => path.slice(prefix.length));
  }

  async close(): Promise<void> {
    if (!this.catFile) return;
    this.catFile.stdin.end();
    await new Promise((resolve) => this.catFile!.once("close", resolve));
  }
}

/**
 * HEAD's blob id of every file under `paths` (`git ls-tree -r`: one command, no file contents read; paths relative
 * to cwd like `git ls-files`), or undefined before the first commit (everything staged is new).
 */
export async function headBlobs(cwd: string, paths: string[]): Promise<Map<string, string> | undefined> {
  // One command in the usual case; only when it fails, a second one tells "no commit yet" from a real failure.
  const listing = await runProcess(["git", "ls-tree", "-r", "-z", "HEAD", "--", ...paths], { cwd });
  if (listing.code !== 0 || listing.spawnError) {
    const head = await runProcess(["git", "rev-parse", "--verify", "--quiet", "HEAD^{tree}"], { cwd });
    if (head.code !== 0 && !head.spawnError) return undefined;
  }
  const output =
    listing.code === 0
      ? listing.stdout
      : await gitOutput(cwd, ["ls-tree", "-r", "-z", "HEAD", "--", ...paths]);
  const blobs = new Map<string, string>();
  for (const record of output.split("\0")) {
    if (!record) continue;
    const tab = record.indexOf("\t");
    const [, type, blob] = record.slice(0, tab).split(" ");
    if (type === "blob") blobs.set(record.slice(tab + 1), blob);
  }
  return blobs;
}

/** A git command's stdout; a missing git or a failed command is a UsageError (exit 2). */
async function gitOutput(cwd: string, args: string[]): Promise<string> {
  const result = await runProcess(["git", ...args], { cwd });
  if (result.spawnError) throw new UsageError(`--staged needs git: ${result.spawnError.message}`);
  if (result.code !== 0 && /not a git repository/i.test(result.stderr))
    throw new UsageError(
      `--staged checks git's index, but ${cwd} is not inside a git repository; run verify without --staged to check the files themselves`,
    );
  if (result.code !== 0)
    throw new UsageError(`git ${args[0]} failed: ${result.stderr.trim() || `exit ${result.code}`}`);
  return result.stdout;
}

/** The files verify reads: git's index with `staged`, else the work tree under `cwd`. */
export function openSource(cwd: string, staged: boolean): Source {
  return staged ? new StagedIndex(cwd) : new WorkTree(cwd);
}

/** Pull-style reads over a readable stream: a line, or exactly n bytes as chunks. */
class StreamReader {
  private buffered: Buffer[] = [];
  private size = 0;
  private ended = false;
  private waiting?: () => void;

  constructor(stream: NodeJS.ReadableStream) {
    stream.on("data", (chunk: Buffer) => {
      this.buffered.push(chunk);
      this.size += chunk.length;
      if (this.size > 4 * 1024 * 1024) stream.pause();
      this.wake();
    });
    stream.on("end", () => {
      this.ended = true;
      this.wake();
    });
    this.resume = () => stream.resume();
  }

  private resume: () => void;

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }

  private async more(): Promise<void> {
    if (this.ended) throw new Error("git cat-file ended early");
    this.resume();
    await new Promise<void>((resolve) => (this.waiting = resolve));
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.size = rest.length;
    return head;
  }

  async line(): Promise<string> {
    for (;;) {
      let seen = 0;
      for (const chunk of this.buffered) {
        const at = chunk.indexOf(0x0a);
        if (at >= 0) {
          const line = this.take(seen + at + 1);
          return line.toString("utf8", 0, line.length - 1);
        }
        seen += chunk.length;
      }
      await this.more();
    }
  }

  async *exactly(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.size === 0) await this.more();
      const chunk = this.buffered.shift()!;
      this.size -= chunk.length;
      if (chunk.length > left) {
        this.buffered.unshift(chunk.subarray(left));
        this.size += chunk.length - left;
        yield chunk.subarray(0, left);
        left = 0;
      } else {
        left -= chunk.length;
        yield chunk;
      }
    }
  }
}
