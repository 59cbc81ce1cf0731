// .syncignore applied to what the memory folder already holds. A line added to `<memory>/.syncignore` keeps a
// session out of every later transfer (sync/plan-transfer.mts); this module takes it out of what is stored:
//   * its files in `sessions/` (transcripts, topics, forks, archives) are removed,
//   * its keys leave `sessions.json` and every `sessions.json.bak.*` copy (the other entries keep their bytes'
//     order and format),
//   * `sync-provenance.json` forgets its files, pruned keys and `consumed` names, `pruned.jsonl` forgets its lines.
// Sync runs it on every run (so an idle day after a new line still removes the session), and
// `sync-memory.mts --apply-syncignore` runs it alone, without reaching the bot. Earlier commits keep what they
// hold: git history is the user's to rewrite.
import { createHash } from "node:crypto";
import { readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Failure, plural, quoteName, type Reporter } from "../cli.mts";
import { classify } from "../openclaw/files.mts";
import { INDEX_FILE, parseIndex, serializeIndex, type SessionIndex } from "../openclaw/sessions-index.mts";
import { applyStaged, createStaging, openForWriting, recoverBeforeReading, type Change } from "./apply.mts";
import {
  PROVENANCE_FILE,
  SESSIONS_DIR,
  readProvenance,
  serializeProvenance,
  type Provenance,
} from "./provenance.mts";
import { LOG_FILE } from "../prune.mts";
import { SYNCIGNORE_FILE, applySyncIgnore, loadSyncIgnore, type SyncIgnore } from "./syncignore.mts";

/** An index file (sessions.json or a .bak copy) without the excluded keys. */
export interface IndexRewrite {
  name: string;
  text: string;
  size: number;
  sha256: string;
  /** The keys it drops. */
  keys: string[];
}

export interface StoredExclusion {
  /** Files in `sessions/` to remove (local names), sorted. */
  remove: string[];
  /** Index files rewritten without excluded keys. */
  rewrite: IndexRewrite[];
  /** Every key dropped, over all index files (sorted, unique). */
  keys: string[];
  /** Provenance records to forget (removed files, and pruned files of excluded sessions). */
  forget: string[];
  /** Provenance `prunedKeys` to forget. */
  forgetPrunedKeys: string[];
  /** Provenance `consumed` records to forget (the bot's names of excluded files continuity merged away). */
  forgetConsumed: string[];
  /** pruned.jsonl without the lines of excluded sessions, when any goes. */
  log?: { text: string; lines: number };
}

/** Whether applying the plan changes anything. */
export function isEmpty(plan: StoredExclusion): boolean {
  return (
    !plan.remove.length &&
    !plan.rewrite.length &&
    !plan.forget.length &&
    !plan.forgetPrunedKeys.length &&
    !plan.forgetConsumed.length &&
    !plan.log
  );
}

/**
 * An index text without the keys `drop` says go: undefined when none goes or the text is not an index. The
 * result is written the way OpenClaw (and prune) write it, with the original's trailing newline, so filtering the
 * cloud's copy and filtering a stored copy of it give the same bytes.
 */
export function filterIndexText(
  text: string,
  drop: (key: string) => boolean,
): { text: string; keys: string[] } | undefined {
  let index: SessionIndex;
  try {
    index = parseIndex(text);
  } catch {
    return undefined;
  }
  const kept: SessionIndex = {};
  const keys: string[] = [];
  for (const [key, entry] of Object.entries(index)) {
    if (drop(key)) keys.push(key);
    else kept[key] = entry;
  }
  if (!keys.length) return undefined;
  return { text: `${serializeIndex(kept)}${text.endsWith("\n") ? "\n" : ""}`, keys };
}

function rewriteOf(name: string, filtered: { text: string; keys: string[] }): IndexRewrite {
  return {
    name,
    text: filtered.text,
    keys: filtered.keys,
    size: Buffer.byteLength(filtered.text),
    sha256: createHash("sha256").update(filtered.text).digest("hex"),
  };
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * What the rules take out of the stored memory folder. `cloudIndex` (sync) adds the bot's current index to the
 * stored one for telling which transcript belongs to an excluded key; `skip` names files this run replaces anyway
 * (sync's staged files, already filtered).
 */
export async function planStoredExclusion(
  memoryDir: string,
  rules: SyncIgnore,
  options: { provenance?: Provenance; cloudIndex?: SessionIndex; skip?: ReadonlySet<string> } = {},
): Promise<StoredExclusion> {
  const sessionsDir = join(memoryDir, SESSIONS_DIR);
  const { provenance } = options;
  const skip = options.skip ?? new Set<string>();
  const names = await readdir(sessionsDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [] as string[];
    throw error;
  });

  // Index files: the stored sessions.json (and the cloud's) tell which transcripts excluded keys own; every
  // index file loses those keys.
  const rewrite: IndexRewrite[] = [];
  const indexes: SessionIndex[] = options.cloudIndex ? [options.cloudIndex] : [];
  for (const name of names.sort()) {
    const kind = classify(name).kind;
    if (kind !== "index" && kind !== "index-backup") continue;
    const text = await readText(join(sessionsDir, name));
    if (text === undefined) continue;
    if (kind === "index") {
      try {
        indexes.push(parseIndex(text));
      } catch {
        // a broken index: verify reports it; nothing to filter
      }
    }
    if (skip.has(name)) continue;
    const filtered = filterIndexText(text, (key) => rules.ignoresKey(key));
    if (filtered) rewrite.push(rewriteOf(name, filtered));
  }
  const exclusions = indexes.map((index) => applySyncIgnore(rules, index));
  const keys = new Set(rewrite.flatMap((r) => r.keys));

  // prune's log: a session whose key or file is excluded goes from the log, and its files with it.
  const loggedFiles = new Set<string>();
  let log: StoredExclusion["log"];
  const logText = await readText(join(memoryDir, LOG_FILE));
  if (logText !== undefined) {
    const kept: string[] = [];
    let dropped = 0;
    for (const line of logText.split(/(?<=\n)/)) {
      const session = parseLogLine(line);
      const files = session?.files ?? [];
      if (
        session &&
        (session.keys.some((key) => rules.ignoresKey(key)) ||
          files.some((file) => rules.ignoresFile(file) || exclusions.some((e) => e.excludesFile(file))))
      ) {
        dropped++;
        for (const file of files) loggedFiles.add(file);
      } else kept.push(line);
    }
    if (dropped) log = { text: kept.join(""), lines: dropped };
  }

  const excluded = (name: string): boolean => {
    const kind = classify(name).kind;
    if (kind === "index" || kind === "index-backup") return false;
    return loggedFiles.has(name) || rules.ignoresFile(name) || exclusions.some((e) => e.excludesFile(name));
  };
  const remoteName = (local: string) => provenance?.files[local]?.remoteName ?? local;
  const remove = names.filter((name) => !skip.has(name) && excluded(remoteName(name))).sort();
  const forget = Object.keys(provenance?.files ?? {})
    .filter((name) => !skip.has(name) && excluded(remoteName(name)))
    .sort();
  const forgetPrunedKeys = Object.keys(provenance?.prunedKeys ?? {})
    .filter((key) => rules.ignoresKey(key))
    .sort();
  for (const key of forgetPrunedKeys) keys.add(key);
  const forgetConsumed = Object.keys(provenance?.consumed ?? {})
    .filter((name) => excluded(name))
    .sort();
  return { remove, rewrite, keys: [...keys].sort(), forget, forgetPrunedKeys, forgetConsumed, log };
}

function parseLogLine(line: string): { keys: string[]; files: string[] } | undefined {
  if (!line.trim()) return undefined;
  try {
    const value = JSON.parse(line) as { keys?: unknown; files?: unknown };
    if (!value || typeof value !== "object") return undefined;
    const keys = Array.isArray(value.keys)
      ? value.keys.filter((k): k is string => typeof k === "string")
      : [];
    const files = Array.isArray(value.files)
      ? value.files
          .map((f: unknown) => (f && typeof f === "object" ? (f as { name?: unknown }).name : undefined))
          .filter((n): n is string => typeof n === "string")
      : [];
    return { keys, files };
  } catch {
    return undefined;
  }
}

/** The provenance after the plan: forgotten records and pruned keys gone, rewritten index files re-hashed. */
export function excludeFromProvenance(provenance: Provenance, plan: StoredExclusion): Provenance {
  const files = { ...provenance.files };
  for (const name of plan.forget) delete files[name];
  for (const r of plan.rewrite) {
    const record = files[r.name];
    if (!record) continue;
    files[r.name] = { ...record, size: r.size, sha256: r.sha256 };
    // The stored index now lacks keys the bot's has (the next sync re-reads the bot's index, as sync does).
    if (r.name === INDEX_FILE) files[r.name].excludedKeys = (record.excludedKeys ?? 0) + r.keys.length;
  }
  const prunedKeys = { ...provenance.prunedKeys };
  for (const key of plan.forgetPrunedKeys) delete prunedKeys[key];
  if (!provenance.consumed) return { ...provenance, files, prunedKeys };
  const consumed = { ...provenance.consumed };
  for (const name of plan.forgetConsumed) delete consumed[name];
  return { ...provenance, files, prunedKeys, consumed };
}

/**
 * Writes the plan's new files into the staging folder; returns the changes for store/apply.mts (removals first,
 * then the index copies, sessions.json, the log). The provenance is the caller's: it goes last.
 */
export async function stageStoredExclusion(
  plan: StoredExclusion,
  memoryDir: string,
  stagingDir: string,
): Promise<Change[]> {
  const changes: Change[] = plan.remove.map((name) => ({ target: join(SESSIONS_DIR, name), remove: true }));
  const ordered = [...plan.rewrite].sort(
    (a, b) => Number(a.name === INDEX_FILE) - Number(b.name === INDEX_FILE),
  );
  for (const [i, r] of ordered.entries()) {
    const staged = join(stagingDir, `exclude-${i}`);
    const mode = await stat(join(memoryDir, SESSIONS_DIR, r.name)).then((s) => s.mode & 0o777);
    await writeFile(staged, r.text, { mode });
    changes.push({ target: join(SESSIONS_DIR, r.name), staged });
  }
  if (plan.log) {
    const target = join(memoryDir, LOG_FILE);
    const staged = join(stagingDir, "exclude-log");
    if (plan.log.text === "") changes.push({ target: LOG_FILE, remove: true });
    else {
      await writeFile(staged, plan.log.text, { mode: (await stat(target)).mode & 0o777 });
      changes.push({ target: LOG_FILE, staged });
    }
  }
  return changes;
}

// ---------------------------------------------------------------------------------------------------------------
// `sync-memory.mts --apply-syncignore`: the whole command, on the memory folder alone.

export interface ApplySyncIgnoreSummary {
  ok: boolean;
  dryRun: boolean;
  memory: string;
  /** Whether a .syncignore with at least one pattern was found. */
  syncignore: boolean;
  /** Files removed from `sessions/` (local names). */
  removed: string[];
  /** Index keys dropped, over sessions.json and its .bak copies. */
  keys: string[];
  /** Index files rewritten (sessions.json, sessions.json.bak.*). */
  indexFiles: string[];
  /** Provenance records forgotten (removed files and pruned files of excluded sessions). */
  forgotten: number;
  /** pruned.jsonl lines of excluded sessions removed. */
  logLines: number;
  /** Whether anything changed (would change, for a dry run). */
  changed: boolean;
}

export async function applySyncIgnoreCommand(options: {
  memory: string;
  dryRun: boolean;
  breakLock?: boolean;
  reporter: Reporter;
}): Promise<ApplySyncIgnoreSummary> {
  const memoryDir = resolve(options.memory);
  const memoryStat = await stat(memoryDir).catch(() => undefined);
  if (!memoryStat)
    throw new Failure(`the memory folder ${options.memory} does not exist; pass --memory DIR`, 2);
  if (!memoryStat.isDirectory()) throw new Failure(`--memory ${options.memory} is not a folder`, 2);
  const summary: ApplySyncIgnoreSummary = {
    ok: true,
    dryRun: options.dryRun,
    memory: options.memory,
    syncignore: false,
    removed: [],
    keys: [],
    indexFiles: [],
    forgotten: 0,
    logLines: 0,
    changed: false,
  };
  const opened = options.dryRun
    ? undefined
    : await openForWriting(memoryDir, "sync-memory --apply-syncignore", {
        breakLock: options.breakLock,
        breakCommand: `npx tsx scripts/sync-memory.mts --memory ${options.memory} --break-lock --apply-syncignore`,
      });
  for (const note of opened?.notes ?? (await recoverBeforeReading(memoryDir, "sync-memory")))
    options.reporter.info(note);
  let staging: string | undefined;
  try {
    const rules = await loadSyncIgnore(memoryDir).catch((error: Error) => {
      throw new Failure(`${join(options.memory, SYNCIGNORE_FILE)} cannot be read: ${error.message}`);
    });
    if (!rules || !rules.patterns.length) return summary;
    summary.syncignore = true;
    const provenance = await readProvenance(memoryDir).catch((error: Error) => {
      throw new Failure(
        `${join(options.memory, PROVENANCE_FILE)} cannot be read (${error.message}); fix or remove it`,
      );
    });
    const indexText = await readText(join(memoryDir, SESSIONS_DIR, INDEX_FILE));
    if (indexText !== undefined) {
      try {
        parseIndex(indexText);
      } catch {
        throw new Failure(
          `${join(options.memory, SESSIONS_DIR, INDEX_FILE)} is not a session index (not a JSON object), so the keys .syncignore excludes cannot be told; restore it from git (git restore ${join(options.memory, SESSIONS_DIR, INDEX_FILE)}) and run this again`,
        );
      }
    }
    const plan = await planStoredExclusion(memoryDir, rules, { provenance });
    summary.removed = plan.remove;
    summary.keys = plan.keys;
    summary.indexFiles = plan.rewrite.map((r) => r.name);
    summary.forgotten = plan.forget.length;
    summary.logLines = plan.log?.lines ?? 0;
    summary.changed = !isEmpty(plan);
    if (options.dryRun || !summary.changed) return summary;
    staging = await createStaging(memoryDir);
    const changes = await stageStoredExclusion(plan, memoryDir, staging);
    if (provenance) {
      const path = join(staging, PROVENANCE_FILE);
      await writeFile(path, serializeProvenance(excludeFromProvenance(provenance, plan)), { mode: 0o644 });
      changes.push({ target: PROVENANCE_FILE, staged: path });
    }
    await applyStaged(memoryDir, staging, changes, { kind: "sync" });
    return summary;
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
    await opened?.lock.release();
  }
}

export function formatApplySyncIgnore(s: ApplySyncIgnoreSummary): string {
  const where = join(s.memory, SYNCIGNORE_FILE);
  if (!s.syncignore) return `${where} has no patterns: nothing to apply\n`;
  if (!s.changed) return `${s.memory} already leaves out everything ${where} excludes: nothing to change\n`;
  const lines = [
    `${s.dryRun ? "Dry run: applying" : "Applied"} ${where} to ${s.memory}: ${s.dryRun ? "would remove" : "removed"} ${plural(s.removed.length, "file")} and ${plural(s.keys.length, "index key")}`,
  ];
  for (const name of s.removed) lines.push(`  file:  ${quoteName(join(s.memory, SESSIONS_DIR, name))}`);
  for (const key of s.keys) lines.push(`  key:   ${quoteName(key)}`);
  if (s.indexFiles.length)
    lines.push(`  index files rewritten: ${s.indexFiles.map((name) => quoteName(name)).join(", ")}`);
  if (s.forgotten) lines.push(`  ${plural(s.forgotten, "file record")} dropped from ${PROVENANCE_FILE}`);
  if (s.logLines) lines.push(`  ${plural(s.logLines, "line")} dropped from ${LOG_FILE}`);
  if (s.dryRun) lines.push("  nothing was changed (run without --dry-run to apply)");
  else
    lines.push(
      `  next: git add ${s.memory} && git commit (earlier commits still hold these files; see README, "Excluding sessions")`,
    );
  return `${lines.join("\n")}\n`;
}
