// Builds a state dir that a local OpenClaw gateway can use to browse the synced history, without ever
// touching memory/ (see "Pointing a local gateway at synced history" in shared/reference/openclaw-storage.md):
//   * OUT/agents/<agent>/sessions/ gets COPIES of the history (a gateway appends, rewrites and prunes what it
//     reads), sessions.json with every sessionFile rewritten to a bare file name, and one index entry for
//     every synced conversation the cloud's index no longer names (old transcripts, .reset/.deleted/.bak
//     archives), so that the gateway lists all of them.
//   * OUT/openclaw.json: the user's config (when given) with session maintenance in `warn` mode; every setting
//     changed is reported, never silently.
//   * The local OpenClaw's version decides the rest: a SQLite-era build (2026.7.2 and later) imports the files
//     only through its own `doctor --fix`, which this module runs with OPENCLAW_STATE_DIR=OUT.
//   * OUT/.local-state.json records what was written, so that --refresh can tell what the local gateway
//     changed since (new local conversations) and keep it.
import { createHash } from "node:crypto";
import { constants, existsSync, rmSync } from "node:fs";
import {
  copyFile,
  mkdir,
  readFile,
  readdir,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { classify } from "./openclaw/files.mts";
import { INDEX_FILE, parseIndex, serializeIndex, sessionFileName } from "./openclaw/sessions-index.mts";
import { isSqliteEra, parseVersion } from "./openclaw/version.mts";
import { runProcess, shellQuote } from "./proc.mts";
import { readProvenance, SESSIONS_DIR } from "./store/provenance.mts";

export const MANIFEST = ".local-state.json";

type Entry = Record<string, unknown> & { sessionId?: string; sessionFile?: string; updatedAt?: number };

export interface LocalStateOptions {
  memory: string;
  out: string;
  agent?: string;
  /** The OpenClaw command as argv (e.g. ["openclaw"] or ["/path/node", "/path/openclaw.mjs"]). */
  openclaw: string[];
  /** A user's openclaw.json to merge into OUT/openclaw.json. */
  config?: string;
  refresh: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
  warn?: (message: string) => void;
}

export interface SessionReport {
  key: string;
  sessionId: string;
  /** Its transcript's name in OUT's sessions folder. */
  file: string;
  /** The file in the memory folder it was copied from (none for a session kept from the local gateway). */
  source?: string;
  /** "index": from the cloud's sessions.json; "history": an entry added for a conversation the index no
   * longer names; "local": kept from the local gateway by --refresh. */
  origin: "index" | "history" | "local";
}

export interface LocalStateReport {
  out: string;
  memory: string;
  agent: string;
  sessionsDir: string;
  files: number;
  sessions: SessionReport[];
  configChanges: string[];
  openclaw: {
    command: string;
    found: boolean;
    version?: string;
    era?: "files" | "sqlite";
    /** SQLite era: what the build's doctor imported. */
    imported?: { sessions?: number; transcriptEvents?: number; listed?: number; issues: string[] };
  };
  refresh?: { keptLocalChanges: string[]; previousOut?: string };
  /** What is left to do before the gateway can use OUT (empty when nothing). */
  remaining: string[];
  startCommand: string;
  warnings: string[];
}

interface Manifest {
  format: 1;
  builtAt: string;
  memory: string;
  agent: string;
  era?: "files" | "sqlite";
  /** Files written into the sessions folder: name → sha256 of what was written. */
  files: Record<string, string>;
  /** SQLite era: the sessions the build listed after the import, key → updatedAt. */
  listed?: Record<string, number>;
}

const fail = (message: string): never => {
  throw new LocalStateError(message);
};

export class LocalStateError extends Error {}

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return (
    rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep) && rel !== ".." && !/^[a-zA-Z]:/.test(rel))
  );
}

async function realOrResolved(path: string): Promise<string> {
  // The deepest existing ancestor's real path plus the rest: OUT may not exist yet.
  let head = resolve(path);
  const tail: string[] = [];
  while (!existsSync(head)) {
    tail.unshift(basename(head));
    const up = dirname(head);
    if (up === head) break;
    head = up;
  }
  return join(await realpath(head), ...tail);
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** A session id shaped like a UUID, derived from a name, so rebuilds give the same ids. */
function derivedId(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Splits `--openclaw` on whitespace: "openclaw", "/opt/node24 /opt/openclaw/openclaw.mjs". */
export function splitCommand(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  missing?: boolean;
}

async function run(argv: string[], env: NodeJS.ProcessEnv, timeoutMs = 300_000): Promise<Run> {
  const result = await runProcess(argv, { env, timeoutMs });
  if (result.spawnError)
    return { code: null, stdout: "", stderr: result.spawnError.message, missing: result.missing };
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}

const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

function openclawEnv(out: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    OPENCLAW_STATE_DIR: out,
    OPENCLAW_CONFIG_PATH: join(out, "openclaw.json"),
    NO_COLOR: "1",
  };
  return env;
}

/** `openclaw sessions --json`: key → updatedAt, or undefined when it could not run. */
async function listSessions(
  cmd: string[],
  out: string,
  agent: string,
  env: NodeJS.ProcessEnv,
): Promise<Record<string, number> | undefined> {
  const result = await run(
    [...cmd, "sessions", "--json", "--limit", "all", "--agent", agent],
    openclawEnv(out, env),
  );
  if (result.code !== 0) return undefined;
  try {
    const json = JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as {
      sessions?: { key: string; updatedAt?: number }[];
    };
    const listed: Record<string, number> = {};
    for (const session of json.sessions ?? []) listed[session.key] = session.updatedAt ?? 0;
    return listed;
  } catch {
    return undefined;
  }
}

interface Copy {
  source: string;
  headerId?: string;
}

interface Plan {
  /** name in OUT's sessions folder → source path in memory/, and the session id to write into the copy's
   * header when it differs from the original's. */
  copies: Map<string, Copy>;
  index: Record<string, Entry>;
  sessions: SessionReport[];
  warnings: string[];
}

/** Decides what goes into OUT's sessions folder: copies, the rewritten index, and entries for the rest. */
async function planSessions(memorySessions: string, agent: string): Promise<Plan> {
  const names = (await readdir(memorySessions)).sort();
  const copies = new Map<string, Copy>();
  const warnings: string[] = [];
  const sessions: SessionReport[] = [];
  const present = new Set(names);
  let cloudIndex: Record<string, Entry> = {};
  if (present.has(INDEX_FILE)) {
    try {
      cloudIndex = parseIndex(await readFile(join(memorySessions, INDEX_FILE), "utf8")) as Record<
        string,
        Entry
      >;
    } catch (error) {
      fail(
        `${join(memorySessions, INDEX_FILE)} is not a readable session index (${(error as Error).message}).`,
      );
    }
  }

  // 1. The cloud's index, with bare file names. Entries sharing a session id across different transcripts
  //    (a SQLite-era build keys transcripts by session id and would import only one) get their own ids.
  const index: Record<string, Entry> = {};
  const referenced = new Set<string>();
  const usedIds = new Set<string>();
  for (const [key, value] of Object.entries(cloudIndex)) {
    if (!value || typeof value !== "object" || typeof value.sessionId !== "string") {
      warnings.push(`index entry ${key} has no session id; left out`);
      continue;
    }
    const entry: Entry = { ...value };
    let file: string | undefined;
    if (typeof entry.sessionFile === "string") file = sessionFileName(entry.sessionFile.trim());
    if (
      (!file || !present.has(file)) &&
      present.has(`${entry.sessionId}.jsonl`) &&
      !file?.includes("-topic-")
    )
      file = `${entry.sessionId}.jsonl`;
    if (file && present.has(file) && classify(file).kind === "transcript") {
      entry.sessionFile = file;
      referenced.add(file);
      copies.set(file, { source: join(memorySessions, file) });
    } else {
      if (file) entry.sessionFile = file;
      warnings.push(
        `index entry ${key} names a transcript that is not in the memory folder (${file ?? `${entry.sessionId}.jsonl`})`,
      );
    }
    index[key] = entry;
  }
  // Session ids: the entry whose file is `<sessionId>.jsonl` (or the first) keeps its id.
  const keys = Object.keys(index).sort((a, b) => {
    const own = (k: string) => (index[k].sessionFile === `${index[k].sessionId}.jsonl` ? 0 : 1);
    return own(a) - own(b);
  });
  const fileOfId = new Map<string, string | undefined>();
  for (const key of keys) {
    const entry = index[key];
    const id = entry.sessionId as string;
    if (fileOfId.has(id) && fileOfId.get(id) !== entry.sessionFile) {
      // A SQLite-era build takes a transcript's identity from its header and its file name: the copy gets
      // the new id in both (`<id>.jsonl`, or `<id>-topic-<thread>.jsonl` for a topic).
      const newId = derivedId(`${agent}/${entry.sessionFile ?? key}`);
      entry.sessionId = newId;
      const old = entry.sessionFile;
      if (old && copies.has(old)) {
        const topic = /-topic-(.+)\.jsonl$/.exec(old);
        const file = topic ? `${newId}-topic-${topic[1]}.jsonl` : `${newId}.jsonl`;
        copies.set(file, { source: copies.get(old)!.source, headerId: newId });
        copies.delete(old);
        entry.sessionFile = file;
      }
    } else fileOfId.set(id, entry.sessionFile);
    usedIds.add(entry.sessionId as string);
    const source = entry.sessionFile ? copies.get(entry.sessionFile)?.source : undefined;
    sessions.push({
      key,
      sessionId: entry.sessionId as string,
      file: entry.sessionFile ?? "",
      source: source ? basename(source) : undefined,
      origin: "index",
    });
  }

  // 2. Every other conversation: transcripts the index no longer names, and archives (copied under a
  //    transcript name, because a gateway reads only transcripts). Each gets an index entry.
  for (const name of names) {
    const info = classify(name);
    if (info.kind !== "transcript" && info.kind !== "archive") continue;
    if (referenced.has(name)) continue;
    const path = join(memorySessions, name);
    const stem = (info.transcript ?? name).replace(/\.jsonl$/, "");
    let key = `agent:${agent}:history:${stem}`;
    if (info.kind === "archive")
      key = `agent:${agent}:history:${info.archive}:${stem}:${info.archivedAt}${info.archiveNonce ? `:${info.archiveNonce}` : ""}`;
    key = key.toLowerCase();
    // An unindexed transcript keeps its name and id when no other entry uses the id; an archive, or a
    // transcript whose id is taken, becomes `<new id>.jsonl` with that id in its header.
    let file = name;
    let sessionId =
      info.kind === "transcript" && info.sessionId && !usedIds.has(info.sessionId)
        ? info.sessionId
        : undefined;
    let headerId: string | undefined;
    if (!sessionId) {
      sessionId = derivedId(`${agent}/${name}`);
      while (usedIds.has(sessionId)) sessionId = derivedId(`${sessionId}/again`);
      file =
        info.topic !== undefined
          ? `${sessionId}-topic-${stem.slice(stem.indexOf("-topic-") + 7)}.jsonl`
          : `${sessionId}.jsonl`;
      headerId = sessionId;
    }
    usedIds.add(sessionId);
    const updatedAt = await lastActivity(path);
    const label =
      info.kind === "archive"
        ? `${info.archive} archive ${info.archivedAt} of ${stem}`
        : `synced transcript ${stem}`;
    index[key] = { sessionId, updatedAt, sessionFile: file, label, displayName: label, chatType: "direct" };
    copies.set(file, { source: path, headerId });
    sessions.push({ key, sessionId, file, source: name, origin: "history" });
  }
  return { copies, index, sessions, warnings };
}

/** Copies a transcript, setting the `id` of its `session` header line (when it has one) to `id`. */
async function copyWithHeaderId(source: string, target: string, id: string): Promise<void> {
  const bytes = await readFile(source);
  const end = bytes.indexOf(10);
  const first = bytes.subarray(0, end < 0 ? bytes.length : end).toString("utf8");
  let header: Record<string, unknown> | undefined;
  try {
    header = JSON.parse(first) as Record<string, unknown>;
  } catch {
    header = undefined;
  }
  if (!header || header.type !== "session") {
    await writeFile(target, bytes, { flag: "wx" });
    return;
  }
  header.id = id;
  const rest = end < 0 ? Buffer.alloc(0) : bytes.subarray(end);
  await writeFile(target, Buffer.concat([Buffer.from(JSON.stringify(header)), rest]), { flag: "wx" });
}

/** The newest timestamp in a transcript (ISO `timestamp` of its last parseable line), else the file's mtime. */
async function lastActivity(path: string): Promise<number> {
  const text = await readFile(path, "utf8");
  const lines = text.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const line = JSON.parse(lines[i]) as { timestamp?: unknown };
      const ms = typeof line.timestamp === "string" ? Date.parse(line.timestamp) : NaN;
      if (Number.isFinite(ms)) return ms;
    } catch {
      // not a whole line
    }
  }
  return Math.floor((await stat(path)).mtimeMs);
}

/** OUT/openclaw.json: the base config plus what a local browsing gateway needs; returns what it changed. */
function localConfig(
  base: Record<string, unknown>,
  origin: string,
): { config: Record<string, unknown>; changes: string[] } {
  const config = structuredClone(base);
  const changes: string[] = [];
  const obj = (parent: Record<string, unknown>, key: string): Record<string, unknown> => {
    const value = parent[key];
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
    parent[key] = {};
    return parent[key] as Record<string, unknown>;
  };
  const session = obj(config, "session");
  const maintenance = obj(session, "maintenance");
  if (maintenance.mode !== "warn") {
    changes.push(
      maintenance.mode === undefined
        ? `set session.maintenance.mode to "warn" (the gateway must not prune or delete the history copy)`
        : `changed session.maintenance.mode from ${JSON.stringify(maintenance.mode)} (in ${origin}) to "warn" (the gateway must not prune or delete the history copy)`,
    );
    maintenance.mode = "warn";
  }
  if (session.store !== undefined) {
    changes.push(
      `removed session.store ${JSON.stringify(session.store)} (in ${origin}): the gateway must read the copied index in OUT`,
    );
    delete session.store;
  }
  const gateway = obj(config, "gateway");
  if (gateway.mode === undefined) {
    changes.push(`set gateway.mode to "local" (unset, a gateway refuses to start)`);
    gateway.mode = "local";
  }
  return { config, changes };
}

async function readJsonObject(path: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return fail(
      `Cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
    );
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return fail(
    `${what} ${path} is not a plain JSON object (JSON5 comments and trailing commas are not supported here).`,
  );
}

async function readManifest(out: string): Promise<Manifest | undefined> {
  try {
    const value = JSON.parse(await readFile(join(out, MANIFEST), "utf8")) as Manifest;
    return value?.format === 1 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** What the local gateway changed in a file-era OUT since the last build: new or modified files. */
async function localFileChanges(
  sessionsDir: string,
  manifest: Manifest,
): Promise<{ added: string[]; modified: string[] }> {
  const added: string[] = [];
  const modified: string[] = [];
  let names: string[] = [];
  try {
    names = await readdir(sessionsDir);
  } catch {
    return { added, modified };
  }
  for (const name of names.sort()) {
    const info = classify(name);
    if (info.kind !== "transcript" && info.kind !== "archive") continue;
    const written = manifest.files[name];
    if (written === undefined) added.push(name);
    else if (written !== (await sha256(join(sessionsDir, name)))) modified.push(name);
  }
  return { added, modified };
}

async function carryOver(from: string, to: string, agent: string): Promise<void> {
  for (const name of await readdir(from)) {
    if (name === MANIFEST || name === "openclaw.json") continue;
    if (name !== "agents") {
      await rename(join(from, name), join(to, name));
      continue;
    }
    for (const id of await readdir(join(from, "agents"))) {
      if (id !== agent) {
        await rename(join(from, "agents", id), join(to, "agents", id));
        continue;
      }
      for (const part of await readdir(join(from, "agents", id))) {
        if (part !== "sessions") await rename(join(from, "agents", id, part), join(to, "agents", id, part));
      }
    }
  }
}

export async function buildLocalState(options: LocalStateOptions): Promise<LocalStateReport> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.warn?.(message);
  };

  // Guards: memory must hold a sessions folder; OUT must be neither inside memory/ nor around it.
  const memory = await realOrResolved(options.memory);
  const out = await realOrResolved(options.out);
  const memorySessions = join(memory, SESSIONS_DIR);
  if (!existsSync(memorySessions))
    fail(`${memorySessions} does not exist: run the sync first, or pass --memory.`);
  if (inside(out, memory))
    fail(
      `--out ${out} is inside the memory folder ${memory}; a gateway writes where it reads, so choose a folder outside it.`,
    );
  if (inside(memory, out))
    fail(`--out ${out} contains the memory folder ${memory}; choose a folder outside it.`);
  const provenance = await readProvenance(memory).catch(() => undefined);
  const agent = (options.agent ?? provenance?.lastSync.agent ?? "main").trim();
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(agent))
    fail(`--agent ${JSON.stringify(agent)} is not a valid agent id.`);
  if (options.agent && provenance && provenance.lastSync.agent !== options.agent) {
    warn(
      `the memory folder holds agent ${provenance.lastSync.agent}'s sessions; placing them under agent ${options.agent} as asked`,
    );
  }

  const previous = existsSync(out) ? await readManifest(out) : undefined;
  if (existsSync(out)) {
    const entries = await readdir(out);
    if (!previous && entries.length > 0)
      fail(`${out} exists and was not built by local-state; choose another --out or remove it.`);
    if (previous && !options.refresh)
      fail(`${out} already holds a local state dir; pass --refresh to rebuild it from the current history.`);
  }

  // The local OpenClaw: its version decides what happens after the copy.
  const command = options.openclaw.join(" ");
  const openclaw: LocalStateReport["openclaw"] = { command, found: false };
  const versionRun = await run([...options.openclaw, "--version"], openclawEnv(out, env), 60_000);
  if (!versionRun.missing && versionRun.code === 0) {
    const parsed = parseVersion(versionRun.stdout);
    if (parsed) {
      openclaw.found = true;
      openclaw.version = parsed.version;
      openclaw.era = isSqliteEra(parsed.parts) ? "sqlite" : "files";
    } else
      warn(
        `${command} --version printed no OpenClaw version (${versionRun.stdout.trim().slice(0, 80)}); treating OpenClaw as not installed`,
      );
  } else if (!versionRun.missing) {
    warn(
      `${command} --version failed (exit ${versionRun.code}): ${stripAnsi(versionRun.stderr).trim().split("\n").pop() ?? ""}`,
    );
  }

  // --refresh: find what the local gateway changed since the last build.
  const sessionsRel = join("agents", agent, "sessions");
  let keepAside = false;
  const keptLocalChanges: string[] = [];
  let carry: { added: string[]; modified: string[] } = { added: [], modified: [] };
  let oldIndex: Record<string, Entry> = {};
  const oldIsSqlite =
    previous !== undefined &&
    (previous.era === "sqlite" || existsSync(join(out, "agents", agent, "agent", "openclaw-agent.sqlite")));
  if (previous) {
    const oldSessions = join(out, sessionsRel);
    if (oldIsSqlite) {
      // The history lives in the build's database now: compare what it lists with what it listed after the import.
      const listed = openclaw.found ? await listSessions(options.openclaw, out, agent, env) : undefined;
      if (!listed || !previous.listed) {
        keepAside = true;
        keptLocalChanges.push(
          "the local gateway's session database (could not compare it with the last build)",
        );
      } else {
        for (const [key, updatedAt] of Object.entries(listed)) {
          if (previous.listed[key] === undefined) keptLocalChanges.push(`new session ${key}`);
          else if (previous.listed[key] !== updatedAt) keptLocalChanges.push(`changed session ${key}`);
        }
        keepAside = keptLocalChanges.length > 0;
      }
    } else {
      carry = await localFileChanges(oldSessions, previous);
      keptLocalChanges.push(
        ...carry.added.map((n) => `new file ${n}`),
        ...carry.modified.map((n) => `changed file ${n}`),
      );
      if (existsSync(join(oldSessions, INDEX_FILE))) {
        oldIndex = parseIndex(await readFile(join(oldSessions, INDEX_FILE), "utf8")) as Record<string, Entry>;
      }
    }
  }

  // Build into a sibling folder, then swap it in: OUT is never half-built.
  const plan = await planSessions(memorySessions, agent);
  for (const message of plan.warnings) warn(message);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const building = `${out}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  // A build that fails half way leaves nothing behind (on success the folder has become OUT).
  process.once("exit", () => rmSync(building, { recursive: true, force: true }));
  const newSessions = join(building, sessionsRel);
  await mkdir(newSessions, { recursive: true });
  const written: Record<string, string> = {};
  for (const [name, copy] of plan.copies) {
    // A real copy (never a link into memory/): the gateway appends to and rewrites these files.
    if (copy.headerId) await copyWithHeaderId(copy.source, join(newSessions, name), copy.headerId);
    else await copyFile(copy.source, join(newSessions, name), constants.COPYFILE_EXCL);
    written[name] = await sha256(join(newSessions, name));
  }

  // Local file-era changes carried into the new build: new files as they are (with their index entries);
  // a changed copy stays in place when the history did not change it, else it is kept beside it.
  if (previous && !keepAside && (carry.added.length || carry.modified.length)) {
    const oldSessions = join(out, sessionsRel);
    const fileEntries = new Map<string, [string, Entry]>();
    for (const [key, entry] of Object.entries(oldIndex))
      if (typeof entry?.sessionFile === "string") fileEntries.set(entry.sessionFile, [key, entry]);
    for (const name of [...carry.added, ...carry.modified]) {
      const historyUnchanged = written[name] !== undefined && previous.files[name] === written[name];
      let target = name;
      if (written[name] !== undefined && !historyUnchanged) {
        target = `${name.replace(/\.jsonl$/, "")}.local-${stamp}.jsonl`;
      }
      await copyFile(join(oldSessions, name), join(newSessions, target));
      const old = fileEntries.get(name);
      let key: string;
      if (target === name && old) {
        key = old[0];
        plan.index[key] = old[1];
      } else {
        key = `agent:${agent}:local:${target.replace(/\.jsonl$/, "")}`.toLowerCase();
        const updatedAt = await lastActivity(join(newSessions, target));
        plan.index[key] = {
          ...(old?.[1] ?? {}),
          sessionId: derivedId(`${agent}/${target}`),
          sessionFile: target,
          updatedAt,
          label: `kept local copy of ${name}`,
        };
      }
      plan.sessions = plan.sessions.filter((session) => session.key !== key);
      plan.sessions.push({
        key,
        sessionId: String(plan.index[key].sessionId),
        file: target,
        origin: "local",
      });
    }
  }
  await writeFile(join(newSessions, INDEX_FILE), serializeIndex(plan.index), { mode: 0o600 });

  // Config: the user's, else the previous build's (it may hold local settings), else empty.
  let base: Record<string, unknown> = {};
  let origin = "the new config";
  if (options.config) {
    base = await readJsonObject(resolve(options.config), "The config");
    origin = resolve(options.config);
  } else if (previous && existsSync(join(out, "openclaw.json"))) {
    base = await readJsonObject(join(out, "openclaw.json"), "The previous local config");
    origin = join(out, "openclaw.json");
  }
  const { config, changes } = localConfig(base, origin);
  await writeFile(join(building, "openclaw.json"), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });

  // Swap: the old OUT is removed, or kept beside it when the local gateway changed its database.
  let previousOut: string | undefined;
  if (previous) {
    if (keepAside) {
      previousOut = `${out}.before-refresh-${stamp}`;
      await rename(out, previousOut);
    } else {
      // Everything the local gateway keeps outside this agent's sessions folder (its own state database,
      // credentials, workspace, other agents) moves into the new build unchanged.
      // A SQLite-era state dir without local changes is rebuilt from scratch: its database would clash with
      // the new import.
      if (!oldIsSqlite) await carryOver(out, building, agent);
      const trash = `${out}.old-${process.pid}`;
      await rename(out, trash);
      await rm(trash, { recursive: true, force: true });
    }
  } else if (existsSync(out)) {
    await rmdir(out); // an empty folder (checked above)
  }
  await mkdir(dirname(out), { recursive: true });
  await rename(building, out);
  log(`Copied ${plan.copies.size} files into ${join(out, sessionsRel)}`);

  const remaining: string[] = [];
  const quotedOut = shellQuote(out);
  const manifest: Manifest = {
    format: 1,
    builtAt: new Date().toISOString(),
    memory,
    agent,
    era: openclaw.era,
    files: written,
  };

  if (openclaw.era === "sqlite") {
    // The build imports legacy files only through its doctor, which moves them into its database.
    log(`OpenClaw ${openclaw.version} keeps sessions in SQLite: running its import (doctor --fix)`);
    const doctor = await run(
      [...options.openclaw, "doctor", "--fix", "--yes", "--non-interactive"],
      openclawEnv(out, env),
      600_000,
    );
    const text = stripAnsi(`${doctor.stdout}\n${doctor.stderr}`);
    const issues: string[] = [];
    const entries = /Legacy entries:\s*(\d+);\s*SQLite entries:\s*(\d+)/.exec(text);
    const events = /Transcript events:\s*imported=(\d+)/.exec(text);
    for (const match of text.matchAll(
      /\[(historical_transcript_deferred|transcript_malformed|[a-z_]+_(?:failed|conflict|error))\][\s│]*([^\n]*)/g,
    )) {
      issues.push(`${match[1]} ${match[2].replace(/[│\s]+$/, "").trim()}`);
    }
    if (doctor.code !== 0) {
      warn(`${command} doctor --fix exited with ${doctor.code}; the import may be incomplete`);
      remaining.push(`OPENCLAW_STATE_DIR=${quotedOut} ${command} doctor --fix --yes --non-interactive`);
    }
    const listed = await listSessions(options.openclaw, out, agent, env);
    manifest.listed = listed;
    openclaw.imported = {
      sessions: entries ? Number(entries[2]) : undefined,
      transcriptEvents: events ? Number(events[1]) : undefined,
      listed: listed ? Object.keys(listed).length : undefined,
      issues,
    };
    for (const issue of issues) warn(`doctor: ${issue}`);
  } else if (!openclaw.found) {
    remaining.push(
      `with a SQLite-era OpenClaw (2026.7.2 and later) run \`OPENCLAW_STATE_DIR=${quotedOut} openclaw doctor --fix --yes --non-interactive\` once before starting the gateway; a file-era OpenClaw (2026.7.1 and earlier) needs nothing more`,
    );
  }
  await writeFile(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

  const startCommand = `OPENCLAW_STATE_DIR=${quotedOut} ${openclaw.found ? command : "openclaw"} gateway`;
  return {
    out,
    memory,
    agent,
    sessionsDir: join(out, sessionsRel),
    files: plan.copies.size,
    sessions: plan.sessions,
    configChanges: changes,
    openclaw,
    refresh: previous ? { keptLocalChanges, previousOut } : undefined,
    remaining,
    startCommand,
    warnings,
  };
}
