// Pruning the working tree: which sessions of `<memory>/sessions/` are old enough to leave it, and removing them
// together with their index entries while git keeps them in history. See `scripts/prune.mts --help`.
//
// * A session is all of its files (transcript, topic transcripts, fork, archives: grouped by the session id
//   classify() reads from each name, plus any file an index entry names in `sessionFile`) and all the index
//   entries that name it. A file stored under an escaped local name (store/names.mts: a case collision, a name
//   too long or not UTF-8) is classified by its name on the bot, which the provenance records (`remoteName`).
// * Its last activity is the newest timestamp inside its files (entry `timestamp`, `message.timestamp`), else
//   the newest `updatedAt` of its index entries, else the time written in an archive's or fork's name. Never mtime.
// * The cutoff is `--older-than` before the newest activity in the history (or before `now`, if that is earlier):
//   a bot that has been idle keeps its last stretch of conversations (restic #5193). The `--keep-last` most
//   recently active sessions are kept whatever their age.
// * In a git work tree, a session is pruned only when every one of its files is committed unchanged in HEAD, so
//   every pruned byte is recoverable; others are kept until the next commit.
// * planPrune() only reads. applyPrune() changes memory/ as one transaction of the store (store/apply.mts):
//   the removals and the new sessions.json, provenance and log are applied together, journaled; on any failure
//   everything is put back, and a kill is completed or rolled back by the next run.
// * Removed index keys are remembered in the provenance (prunedKeys, with a hash of each entry), so sync does
//   not bring them back while the cloud's entry is unchanged; a session is logged once.
import { createHash } from "node:crypto";
import { readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Failure } from "./cli.mts";
import { readActivity, timeFromName } from "./openclaw/activity.mts";
import { classify, isConversation } from "./openclaw/files.mts";
import {
  INDEX_FILE,
  IndexParseError,
  parseIndex,
  serializeIndex,
  sessionFileName,
  type IndexEntry,
  type SessionIndex,
} from "./openclaw/sessions-index.mts";
import { gitView, type GitView } from "./store/committed.mts";
import {
  applyStaged,
  createStaging,
  openForWriting,
  recoverBeforeReading,
  type Change,
} from "./store/apply.mts";
import { faultPoint } from "./store/fault.mts";
import {
  PROVENANCE_FILE,
  SESSIONS_DIR,
  botName,
  entryHash,
  localByBotName,
  readProvenance,
  serializeProvenance,
  type Provenance,
} from "./store/provenance.mts";
import { mapLimit } from "./parallel.mts";

export const LOG_FILE = "pruned.jsonl";

export interface PruneOptions {
  memoryDir: string;
  /** `--older-than` in milliseconds, and as the user wrote it. */
  olderThanMs: number;
  olderThan: string;
  keepLast: number;
  /** The clock, epoch ms. */
  now: number;
}

export type ActivitySource = "content" | "index" | "file name";
export type KeepReason = "recent" | "keep-last" | "uncommitted" | "unknown-age";

export interface FileInfo {
  /** The name under `<memory>/sessions/`. */
  name: string;
  bytes: number;
  /** The file's name on the bot, when it is stored under an escaped name. */
  remoteName?: string;
}

export interface SessionInfo {
  sessionId: string;
  /** Further session ids joined to this one because an index entry's `sessionFile` names their file. */
  alsoIds?: string[];
  keys: string[];
  /** ISO time of the last activity; null when nothing in the session carries a time. */
  lastActivity: string | null;
  activityFrom: ActivitySource | null;
  files: FileInfo[];
  bytes: number;
}

export interface KeptSession extends SessionInfo {
  reason: KeepReason;
}

export interface MalformedReport {
  file: string;
  lines: number;
  /** Line numbers (1-based) of the first malformed lines. */
  at: number[];
}

export interface PrunePlan {
  memoryDir: string;
  sessionsDir: string;
  now: string;
  olderThan: string;
  keepLast: number;
  /** Newest activity of any session with files (capped at now); null for an empty history. */
  newestActivity: string | null;
  cutoff: string;
  /** Git HEAD when memory/ is inside a git work tree with commits; null otherwise. */
  commit: string | null;
  inGit: boolean;
  prune: SessionInfo[];
  keep: KeptSession[];
  /** Index keys that a run removes from sessions.json. */
  indexEntriesRemoved: string[];
  malformed: MalformedReport[];
  /** Index entries without a usable `sessionId`: left alone. */
  unattachedKeys: string[];
  totals: {
    removed: { sessions: number; files: number; bytes: number; indexEntries: number };
    kept: { sessions: number; files: number; bytes: number };
  };
}

/** One line of `<memory>/pruned.jsonl`. */
export interface PruneLogRecord extends SessionInfo {
  prunedAt: string;
  cutoff: string;
  olderThan: string;
  /** The commit that holds the files as they were removed (`git checkout <commit> -- <path>` brings one back). */
  commit?: string;
}

interface Unit {
  ids: Set<string>;
  keys: string[];
  updatedAt?: number;
  files: { name: string; bytes: number; newest?: number; nameTime?: number; remoteName?: string }[];
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

async function readIndex(path: string): Promise<{ text: string; store: SessionIndex } | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Failure(`Cannot read ${path}: ${(error as Error).message}.`);
  }
  try {
    return { text, store: parseIndex(text) };
  } catch (error) {
    if (error instanceof IndexParseError && error.kind === "shape") {
      throw new Failure(
        `${path} is not a session index (a JSON object keyed by session key), so nothing was pruned.`,
      );
    }
    throw new Failure(`${path} is not valid JSON, so nothing was pruned; sync again or fix it first.`);
  }
}

/**
 * A whole run: plans, and unless `dryRun`, applies under sync's lock (sync and prune never run at once on one
 * memory folder). Returns the plan and any warnings (a failure is thrown as a Failure, memory/ unchanged).
 */
export async function runPrune(
  options: PruneOptions & { dryRun: boolean; breakLock?: boolean },
): Promise<{ plan: PrunePlan & { state: ApplyState }; warnings: string[]; notes: string[] }> {
  const memoryDir = resolve(options.memoryDir);
  await checkMemoryDir(memoryDir);
  if (options.dryRun) {
    const notes = await recoverBeforeReading(memoryDir, "prune");
    return { plan: await planPrune(options), warnings: [], notes };
  }
  const { lock, notes } = await openForWriting(memoryDir, "prune", {
    breakLock: options.breakLock,
    breakCommand: `npx tsx scripts/prune.mts --memory ${options.memoryDir} --break-lock`,
  });
  // Ctrl-C or SIGTERM: before the apply nothing changes; during it, the apply is finished first.
  let signal: NodeJS.Signals | undefined;
  const onSignal = (received: NodeJS.Signals) => (signal = received);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const plan = await planPrune(options);
    if (signal) throw new Failure(`interrupted by ${signal}; nothing was pruned`, 130);
    const warnings = await applyPrune(plan);
    if (signal && plan.prune.length) {
      throw new Failure(
        `interrupted by ${signal} while pruning; the prune was finished first (${plan.prune.length} session(s) removed and logged)`,
        130,
      );
    }
    return { plan, warnings, notes };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await lock.release();
  }
}

async function checkMemoryDir(memoryDir: string): Promise<void> {
  try {
    if (!(await stat(memoryDir)).isDirectory()) throw new Failure(`${memoryDir} is not a folder.`);
  } catch (error) {
    if (error instanceof Failure) throw error;
    throw new Failure(`The memory folder ${memoryDir} does not exist.`);
  }
}

/** Reads memory/ and decides what a run removes. Changes nothing. */
export async function planPrune(options: PruneOptions): Promise<PrunePlan & { state: ApplyState }> {
  const memoryDir = resolve(options.memoryDir);
  const sessionsDir = join(memoryDir, SESSIONS_DIR);
  await checkMemoryDir(memoryDir);
  let names: string[];
  try {
    names = (await readdir(sessionsDir, { withFileTypes: true }))
      .filter((d) => d.isFile())
      .map((d) => d.name);
  } catch {
    throw new Failure(`${memoryDir} has no ${SESSIONS_DIR}/ folder to prune.`);
  }
  names.sort();
  let provenance: Provenance | undefined;
  try {
    provenance = await readProvenance(memoryDir);
  } catch (error) {
    throw new Failure(
      `Cannot use ${join(memoryDir, PROVENANCE_FILE)} (${(error as Error).message}), so nothing was pruned.`,
    );
  }
  // What each file is comes from its name on the bot (an escaped local name would read as unknown or wrong).
  const info = new Map(names.map((name) => [name, classify(botName(provenance, name))]));
  const localOf = localByBotName(provenance);

  // Group conversation files by session id, joined (union-find) with the files index entries name.
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    let root = id;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!;
    if (!parent.has(root)) parent.set(root, root);
    parent.set(id, root);
    return root;
  };
  const union = (a: string, b: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(rb, ra);
  };
  const fileSession = new Map<string, string>();
  for (const name of names) {
    const { kind, sessionId } = info.get(name)!;
    if (isConversation(kind) && sessionId) {
      fileSession.set(name, sessionId);
      find(sessionId);
    }
  }

  const index = await readIndex(join(sessionsDir, INDEX_FILE));
  const unattachedKeys: string[] = [];
  const entryIds = new Map<string, string>();
  if (index) {
    for (const [key, value] of Object.entries(index.store)) {
      const entry = value as IndexEntry | null;
      if (
        !entry ||
        typeof entry !== "object" ||
        typeof entry.sessionId !== "string" ||
        entry.sessionId === ""
      ) {
        unattachedKeys.push(key);
        continue;
      }
      entryIds.set(key, entry.sessionId);
      find(entry.sessionId);
      if (typeof entry.sessionFile === "string" && entry.sessionFile !== "") {
        const file = sessionFileName(entry.sessionFile)!;
        const named = fileSession.get(localOf.get(file) ?? file);
        if (named) union(entry.sessionId, named);
      }
    }
  }

  const units = new Map<string, Unit>();
  const unitOf = (id: string): Unit => {
    const root = find(id);
    let unit = units.get(root);
    if (!unit) units.set(root, (unit = { ids: new Set(), keys: [], files: [] }));
    unit.ids.add(id);
    return unit;
  };
  for (const [key, id] of entryIds) {
    const unit = unitOf(id);
    unit.keys.push(key);
    const updatedAt = index!.store[key].updatedAt;
    if (typeof updatedAt === "number" && Number.isFinite(updatedAt) && updatedAt > 0) {
      unit.updatedAt = Math.max(unit.updatedAt ?? 0, updatedAt);
    }
  }

  // Read every conversation file's content for its newest timestamp (streamed; two cores, a few at a time).
  const malformed: MalformedReport[] = [];
  const files = [...fileSession.keys()];
  const scanned = await mapLimit(files, 4, async (name) => {
    const path = join(sessionsDir, name);
    try {
      return {
        name,
        activity: await readActivity(path, { compressed: info.get(name)!.compressed === "zstd" }),
      };
    } catch (error) {
      throw new Failure(`Cannot read ${path}: ${(error as Error).message}.`);
    }
  });
  for (const { name, activity } of scanned) {
    const file = info.get(name)!;
    if (activity.malformed)
      malformed.push({ file: name, lines: activity.malformed, at: activity.malformedLines });
    unitOf(fileSession.get(name)!).files.push({
      name,
      bytes: activity.bytes,
      newest: activity.newest,
      nameTime: timeFromName(file.archivedAt ?? file.forkedAt),
      ...(file.name !== name ? { remoteName: file.name } : {}),
    });
  }

  // Each session's last activity: content, then the index, then the name.
  const sessions: (SessionInfo & { last?: number })[] = [];
  for (const [root, unit] of units) {
    const content = unit.files.map((f) => f.newest).filter((t): t is number => t !== undefined);
    const named = unit.files.map((f) => f.nameTime).filter((t): t is number => t !== undefined);
    let last: number | undefined;
    let from: ActivitySource | null = null;
    if (content.length) [last, from] = [Math.max(...content), "content"];
    else if (unit.updatedAt !== undefined) [last, from] = [unit.updatedAt, "index"];
    else if (named.length) [last, from] = [Math.max(...named), "file name"];
    const ids = [...unit.ids].sort();
    // Name the session by the id its index entries use, else by the group's root.
    const primary = ids.find((id) => [...entryIds.values()].includes(id)) ?? root;
    const fileList = unit.files
      .map(({ name, bytes, remoteName }) => ({ name, bytes, ...(remoteName ? { remoteName } : {}) }))
      .sort((a, b) => a.name.localeCompare(b.name));
    sessions.push({
      sessionId: primary,
      ...(ids.length > 1 ? { alsoIds: ids.filter((id) => id !== primary) } : {}),
      keys: unit.keys.sort(),
      lastActivity: iso(last),
      activityFrom: from,
      files: fileList,
      bytes: fileList.reduce((sum, f) => sum + f.bytes, 0),
      last,
    });
  }

  const withFiles = sessions.filter((s) => s.files.length > 0);
  const newestMs = withFiles.reduce<number | undefined>(
    (max, s) => (s.last !== undefined && (max === undefined || s.last > max) ? s.last : max),
    undefined,
  );
  const anchor = newestMs === undefined ? options.now : Math.min(options.now, newestMs);
  const cutoff = anchor - options.olderThanMs;

  // The --keep-last most recently active sessions that hold files (an index entry alone preserves no history).
  const ranked = withFiles
    .filter((s) => s.last !== undefined)
    .sort((a, b) => b.last! - a.last! || a.sessionId.localeCompare(b.sessionId));
  const keepLast = new Set(ranked.slice(0, options.keepLast).map((s) => s.sessionId));

  const git = await gitView(sessionsDir).catch((): GitView | undefined => undefined);
  const prune: SessionInfo[] = [];
  const keep: KeptSession[] = [];
  for (const session of sessions) {
    const { last, ...info } = session;
    let reason: KeepReason | undefined;
    if (last === undefined) reason = "unknown-age";
    else if (last >= cutoff) reason = "recent";
    else if (keepLast.has(info.sessionId)) reason = "keep-last";
    else if (git && !info.files.every((f) => git.committed.has(join(git.dir, f.name))))
      reason = "uncommitted";
    if (reason) keep.push({ ...info, reason });
    else prune.push(info);
  }
  const order = (a: SessionInfo, b: SessionInfo) =>
    (a.lastActivity ?? "").localeCompare(b.lastActivity ?? "") || a.sessionId.localeCompare(b.sessionId);
  prune.sort(order);
  keep.sort(order);

  const indexEntriesRemoved = prune.flatMap((s) => s.keys).sort();
  const count = (list: SessionInfo[]) => ({
    sessions: list.length,
    files: list.reduce((n, s) => n + s.files.length, 0),
    bytes: list.reduce((n, s) => n + s.bytes, 0),
  });
  return {
    memoryDir,
    sessionsDir,
    now: new Date(options.now).toISOString(),
    olderThan: options.olderThan,
    keepLast: options.keepLast,
    newestActivity: newestMs === undefined ? null : new Date(anchor).toISOString(),
    cutoff: new Date(cutoff).toISOString(),
    commit: git?.head ?? null,
    inGit: git !== undefined,
    prune,
    keep,
    indexEntriesRemoved,
    malformed,
    unattachedKeys,
    totals: {
      removed: { ...count(prune), indexEntries: indexEntriesRemoved.length },
      kept: count(keep),
    },
    state: { index },
  };
}

interface ApplyState {
  index?: { text: string; store: SessionIndex };
}

/** Public view of a plan (what --json prints), without the internal state. */
export function publicPlan(plan: PrunePlan & { state?: ApplyState }): PrunePlan {
  const { state: _state, ...rest } = plan;
  return rest;
}

/**
 * Removes what the plan says, as one transaction of the store (../store/apply.mts): the new sessions.json,
 * provenance and log are staged, then the pruned files' removals and the replacements are applied together.
 * On any failure memory/ is left as it was and a Failure is thrown; a kill is completed or rolled back by the
 * next run. Appends one record per newly pruned session to `<memory>/pruned.jsonl`, marks pruned files in the
 * provenance and remembers removed index keys there, so sync does not bring them back unchanged.
 */
export async function applyPrune(plan: PrunePlan & { state: ApplyState }): Promise<string[]> {
  const warnings: string[] = [];
  if (plan.prune.length === 0 && plan.indexEntriesRemoved.length === 0) return warnings;
  const { memoryDir, sessionsDir } = plan;
  const indexPath = join(sessionsDir, INDEX_FILE);
  const provenancePath = join(memoryDir, PROVENANCE_FILE);
  const logPath = join(memoryDir, LOG_FILE);

  let provenance: Provenance | undefined;
  try {
    provenance = await readProvenance(memoryDir);
  } catch (error) {
    throw new Failure(`Cannot use ${provenancePath} (${(error as Error).message}), so nothing was pruned.`);
  }
  const staging = await createStaging(memoryDir);
  try {
    await faultPoint("staging folder created");
    const changes: Change[] = [];
    const prunedFiles = [...new Set(plan.prune.flatMap((s) => s.files.map((f) => f.name)))].sort();
    for (const name of prunedFiles) changes.push({ target: join(SESSIONS_DIR, name), remove: true });

    let newIndex: { size: number; sha256: string } | undefined;
    const index = plan.state.index;
    try {
      if (index && plan.indexEntriesRemoved.length) {
        const removed = new Set(plan.indexEntriesRemoved);
        const store: SessionIndex = {};
        for (const [key, value] of Object.entries(index.store)) if (!removed.has(key)) store[key] = value;
        const text = `${serializeIndex(store)}${index.text.endsWith("\n") ? "\n" : ""}`;
        const staged = join(staging, INDEX_FILE);
        await writeFile(staged, text, { mode: (await stat(indexPath)).mode & 0o777 });
        newIndex = { size: Buffer.byteLength(text), sha256: createHash("sha256").update(text).digest("hex") };
        changes.push({ target: join(SESSIONS_DIR, INDEX_FILE), staged });
      }

      // The log: the old lines, then one line per session not logged before with the same files.
      let old = "";
      try {
        old = await readFile(logPath, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      const logged = loggedSessions(old);
      const lines = plan.prune
        .filter((session) => !logged.has(logSignature(session)))
        .map((session) => {
          const record: PruneLogRecord = {
            prunedAt: plan.now,
            ...session,
            cutoff: plan.cutoff,
            olderThan: plan.olderThan,
            ...(plan.commit ? { commit: plan.commit } : {}),
          };
          return `${JSON.stringify(record)}\n`;
        });
      if (lines.length) {
        const staged = join(staging, LOG_FILE);
        await writeFile(staged, `${old}${old && !old.endsWith("\n") ? "\n" : ""}${lines.join("")}`, {
          mode: 0o644,
        });
        changes.push({ target: LOG_FILE, staged });
      }

      // The provenance last: pruned files marked, the index's record now describes the pruned index, the
      // removed keys remembered with their entries' hashes.
      if (provenance) {
        for (const name of prunedFiles) {
          const record = provenance.files[name];
          if (record) record.prunedAt = plan.now;
        }
        const indexRecord = provenance.files[INDEX_FILE];
        if (indexRecord && newIndex) Object.assign(indexRecord, newIndex);
        if (index && plan.indexEntriesRemoved.length) {
          provenance.prunedKeys ??= {};
          for (const key of plan.indexEntriesRemoved) {
            provenance.prunedKeys[key] = { entrySha256: entryHash(index.store[key]), prunedAt: plan.now };
          }
        }
        const staged = join(staging, PROVENANCE_FILE);
        await writeFile(staged, serializeProvenance(provenance), { mode: 0o644 });
        changes.push({ target: PROVENANCE_FILE, staged });
      }
    } catch (error) {
      throw new Failure(
        `Could not prepare the new index, provenance and log (${(error as Error).message}); nothing was pruned.`,
      );
    }
    await faultPoint("prune staged");
    await applyStaged(memoryDir, staging, changes, { kind: "prune" });
  } finally {
    await rm(staging, { recursive: true, force: true }).catch((error: Error) => {
      warnings.push(`could not remove the staging folder ${staging}: ${error.message}`);
    });
  }
  return warnings;
}

/** What makes two log lines the same pruning: the session and its files (names and sizes). */
function logSignature(session: Pick<SessionInfo, "sessionId" | "files">): string {
  return JSON.stringify([session.sessionId, session.files.map((f) => [f.name, f.bytes])]);
}

function loggedSessions(text: string): Set<string> {
  const seen = new Set<string>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const record = JSON.parse(line) as PruneLogRecord;
      if (typeof record.sessionId === "string" && Array.isArray(record.files)) {
        seen.add(logSignature(record));
        // A session logged with its files is the same session when it comes back with only its index keys.
        seen.add(logSignature({ sessionId: record.sessionId, files: [] }));
      }
    } catch {
      // a damaged line is kept as it is and matches nothing
    }
  }
  return seen;
}
