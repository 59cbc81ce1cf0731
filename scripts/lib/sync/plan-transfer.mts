// Stage 5, plan the transfer: what the backup already holds (provenance) and what .syncignore keeps out. With a
// .syncignore the index travels first, so that excluded sessions are never transferred: their transcripts become
// `-name` filters for the remote program; what a remote `case` pattern cannot express is applied after transfer.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Failure, type Reporter } from "../cli.mts";
import { REMOTE_EXCLUDE, remoteFilterArgs } from "../openclaw/files.mts";
import type { EraStrategy } from "../openclaw/era.mts";
import { INDEX_FILE, parseIndex, transcriptOf, type SessionIndex } from "../openclaw/sessions-index.mts";
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
    for (const key of exclusion.keys) {
      const transcript = transcriptOf(index[key] ?? {});
      if (transcript && exclusion.excludesFile(transcript) && isPlainName(transcript)) {
        excludeArgs.push(`-${globEscape(transcript)}`, `-${globEscape(transcript)}.*`);
      }
    }
    // Plain name globs mean the same to the remote's `case` as to gitignore; the rest is applied here.
    if (!rules.patterns.some((p) => /^!|\/|\*\*/.test(p))) {
      excludeArgs.push(
        ...rules.patterns.filter((p) => isPlainName(p.replace(/[*?]/g, "x"))).map((p) => `-${p}`),
      );
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

/** A name that can travel to the remote as a `case` pattern argument. */
export function isPlainName(name: string): boolean {
  return /^[A-Za-z0-9._%@+=:,~!()-]+$/.test(name) && !name.startsWith("-");
}

function globEscape(name: string): string {
  return name.replace(/[*?[\]\\]/g, "\\$&");
}
