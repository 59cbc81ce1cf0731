// Stage 5, plan the transfer: what the backup already holds (provenance) and what .syncignore keeps out. With a
// .syncignore the index travels first and the bot lists its files, so that excluded sessions are never transferred:
// each excluded file becomes an exact-name `-name` filter for the remote program.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Failure, type Reporter } from "../cli.mts";
import { REMOTE_EXCLUDE, remoteFilterArgs } from "../openclaw/files.mts";
import type { EraStrategy } from "../openclaw/era.mts";
import { INDEX_FILE, parseIndex, type SessionIndex } from "../openclaw/sessions-index.mts";
import { PROVENANCE_FILE, readProvenance, type Provenance } from "../store/provenance.mts";
import { SYNCIGNORE_FILE, applySyncIgnore, loadSyncIgnore, type Exclusion } from "../store/syncignore.mts";
import type { Fetch } from "./fetch.mts";

export interface TransferPlan {
  /** The last sync's record of the backup; undefined before the first sync. */
  provenance?: Provenance;
  /** What .syncignore leaves out; undefined without one. */
  exclusion?: Exclusion;
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
  const excludeArgs: string[] = [];
  if (rules && rules.patterns.length) {
    options.reporter.progress("reading the index for .syncignore…");
    const onlyIndex = ["-*.jsonl", "-*.jsonl.*", "-sessions.json.bak.*", "+sessions.json"];
    const first = await fetch(
      "stream",
      era.args(where.stateDir, where.agentId, [...REMOTE_EXCLUDE.map((p) => `-${p}`), ...onlyIndex]),
      "index transfer",
    );
    const indexFile = first.files.find((f) => f.name === INDEX_FILE);
    const index = indexFile?.path ? botIndex(await readFile(indexFile.path, "utf8")) : {};
    exclusion = applySyncIgnore(rules, index);
    // Decided here, before any content travels: the bot lists names, sizes and hashes, the matcher verify uses
    // (gitignore semantics: `!`, `/`, `**`, classes, any case) picks the excluded files, and each one goes back
    // to the bot as an exact-name exclusion, so the transfer never reads it.
    options.reporter.progress("listing the bot's sessions for .syncignore…");
    const listing = await fetch(
      "manifest",
      era.args(where.stateDir, where.agentId, remoteFilterArgs()),
      "listing for .syncignore",
    );
    for (const file of listing.files) {
      if (file.name === INDEX_FILE || !exclusion.excludesFile(file.name)) continue;
      excludeArgs.push(`-${globEscape(file.name)}`);
    }
  }
  return {
    provenance,
    exclusion,
    args: era.args(where.stateDir, where.agentId, [...excludeArgs, ...remoteFilterArgs()]),
    where: era.args(where.stateDir, where.agentId, []),
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
function globEscape(name: string): string {
  return name.replace(/[*?[\]\\]/g, "\\$&");
}
