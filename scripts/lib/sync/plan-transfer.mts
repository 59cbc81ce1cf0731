// Stage 5, plan the transfer: what the backup already holds (provenance) and what .syncignore keeps out. With a
// .syncignore the index travels first and the bot lists its files, so that excluded sessions are never transferred:
// each excluded file becomes an exact-name `-name` filter for the remote program. The index copy fetched here is
// also what the stored sessions.json is made from on every run (check.mts), so a line added on a day the bot's
// index did not change still takes its keys out, and a line removed brings them back.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Failure, type Reporter } from "../cli.mts";
import { REMOTE_EXCLUDE, remoteFilterArgs } from "../openclaw/files.mts";
import type { EraStrategy } from "../openclaw/era.mts";
import { INDEX_FILE, parseIndex, type SessionIndex } from "../openclaw/sessions-index.mts";
import type { StreamedFile } from "../remote/stream.mts";
import { PROVENANCE_FILE, SESSIONS_DIR, readProvenance, type Provenance } from "../store/provenance.mts";
import {
  SYNCIGNORE_FILE,
  applySyncIgnore,
  loadSyncIgnore,
  type Exclusion,
  type SyncIgnore,
} from "../store/syncignore.mts";
import type { Fetch } from "./fetch.mts";
import type { RemoteCall } from "../remote/bundle.mts";

export interface TransferPlan {
  /** The last sync's record of the backup; undefined before the first sync. */
  provenance?: Provenance;
  /** What .syncignore leaves out; undefined without one. */
  exclusion?: Exclusion;
  /** The .syncignore rules (undefined without a pattern). */
  rules?: SyncIgnore;
  /** The bot's index as fetched before the transfer (with .syncignore, or when the stored one was filtered). */
  index?: { file: StreamedFile; entries: SessionIndex };
  /** Files on the bot that .syncignore excludes: never transferred. */
  excludedOnBot: number;
  /** The era program's arguments for `manifest` and `stream`: where, then name filters. */
  args: string[];
  /** Where only (state dir and agent), for `fetch`, whose arguments are the requests. */
  where: string[];
}

export async function planTransfer(
  era: EraStrategy,
  where: { stateDir: string; agentId: string },
  memoryDir: string,
  fetch: Fetch,
  options: { memory: string; reporter: Reporter },
): Promise<TransferPlan> {
  const provenance = await readProvenance(memoryDir).catch((error: Error) => {
    throw new Failure(
      `${join(options.memory, PROVENANCE_FILE)} cannot be read (${error.message}); fix or remove it`,
    );
  });
  const rules = await loadSyncIgnore(memoryDir).catch((error: Error) => {
    throw new Failure(`${join(options.memory, SYNCIGNORE_FILE)} cannot be read: ${error.message}`);
  });
  let exclusion: Exclusion | undefined;
  let index: TransferPlan["index"];
  const excludeArgs: string[] = [];
  const patterns = rules && rules.patterns.length ? rules : undefined;
  // The stored index was filtered by an earlier .syncignore: the bot's copy is needed to bring keys back.
  const filtered = Boolean(provenance?.files[INDEX_FILE]?.excludedKeys);
  if (patterns || filtered) {
    options.reporter.progress("reading the index for .syncignore…");
    const [mode, ...args] = indexCall(era, where).args;
    const first = await fetch(mode as "stream", args, "index transfer");
    const indexFile = first.files.find((f) => f.name === INDEX_FILE);
    const entries = indexFile?.path ? botIndex(await readFile(indexFile.path, "utf8")) : {};
    if (indexFile?.path) index = { file: indexFile, entries };
  }
  if (patterns) {
    // Which transcripts excluded keys own: by the bot's index, and by the stored one (a key the bot dropped since).
    const exclusions = [applySyncIgnore(patterns, index?.entries ?? {})];
    const stored = await readFile(join(memoryDir, SESSIONS_DIR, INDEX_FILE), "utf8").catch(() => undefined);
    if (stored !== undefined) {
      try {
        exclusions.push(applySyncIgnore(patterns, parseIndex(stored)));
      } catch {
        // a broken stored index is replaced by the bot's
      }
    }
    exclusion = {
      keys: exclusions[0].keys,
      excludesFile: (name) => exclusions.some((e) => e.excludesFile(name)),
    };
    // Decided here, before any content travels: the bot lists names, sizes and hashes, the matcher verify uses
    // (gitignore semantics: `!`, `/`, `**`, classes, any case) picks the excluded files, and each one goes back
    // to the bot as an exact-name exclusion, so the transfer never reads it.
    options.reporter.progress("listing the bot's sessions for .syncignore…");
    const listing = await fetch("manifest", namesCall(era, where).args.slice(1), "listing for .syncignore");
    for (const file of listing.files) {
      if (file.name === INDEX_FILE || !exclusion.excludesFile(file.name)) continue;
      excludeArgs.push(`-${globEscape(file.name)}`);
    }
  }
  return {
    provenance,
    exclusion,
    rules: patterns,
    index,
    excludedOnBot: excludeArgs.length,
    args: era.args(where.stateDir, where.agentId, [...excludeArgs, ...remoteFilterArgs()]),
    where: era.args(where.stateDir, where.agentId, []),
  };
}

/** The call that brings the bot's index alone (for .syncignore). */
export function indexCall(era: EraStrategy, where: { stateDir: string; agentId: string }): RemoteCall {
  const onlyIndex = ["-*.jsonl", "-*.jsonl.*", "-sessions.json.bak.*", "+sessions.json"];
  return {
    program: era.program,
    args: [
      "stream",
      ...era.args(where.stateDir, where.agentId, [...REMOTE_EXCLUDE.map((p) => `-${p}`), ...onlyIndex]),
    ],
  };
}

/** The call that lists the bot's file names for .syncignore: only names are needed, so the quick listing (nothing
 * read or hashed on the bot) where the era has one. */
export function namesCall(era: EraStrategy, where: { stateDir: string; agentId: string }): RemoteCall {
  const quick = era.listing === "quick" ? ["%quick"] : [];
  return {
    program: era.program,
    args: ["manifest", ...era.args(where.stateDir, where.agentId, remoteFilterArgs()), ...quick],
  };
}

function botIndex(text: string): SessionIndex {
  try {
    return parseIndex(text);
  } catch {
    throw new Failure("the bot's sessions.json is not a JSON object; it cannot be filtered by .syncignore");
  }
}

/** A file name as an exact `case` pattern for the bot (the argument is shell-quoted on the way). */
export function globEscape(name: string): string {
  return name.replace(/[*?[\]\\]/g, "\\$&");
}
