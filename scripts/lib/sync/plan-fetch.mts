// The fetch planner of an incremental transfer: from a listing (sizes and hashes on the bot) and the provenance
// of the last sync, what to fetch.
import { join } from "node:path";
import { BACKED_UP, classify, isConversation } from "../openclaw/files.mts";
import type { StreamResult, StreamedFile } from "../remote/stream.mts";
import { sha256File } from "../store/content.mts";
import type { Provenance } from "../store/provenance.mts";

/** More changed files than this travel as one full stream (the fetch list is passed as arguments). */
export const MAX_FETCH_REQUESTS = 200;

export interface FetchPlan {
  /** `=name:offset:sha256-of-the-first-offset-bytes` (offset 0 and `-`: the whole file). */
  requests: string[];
  /** Files fetched from an offset: name → the local file holding their first bytes. */
  prefixes: Map<string, string>;
  /** Files the backup holds exactly as the cloud has them: not sent, marked unchanged. */
  unchanged: StreamedFile[];
}

/**
 * Files the backup holds exactly as recorded and the cloud has unchanged are not sent; a conversation that only
 * grew is fetched from the end of what the backup holds (the bot checks that the start is unchanged, the local
 * side checks the whole); anything else whole. Undefined when the plan cannot travel as arguments (then: full
 * stream).
 */
export async function planFetch(
  listing: StreamResult,
  sessionsDir: string,
  provenance: Provenance,
): Promise<FetchPlan | undefined> {
  const requests: string[] = [];
  const prefixes = new Map<string, string>();
  const unchanged: StreamedFile[] = [];
  for (const file of listing.files) {
    const info = classify(file.remoteName ?? file.name);
    if (!BACKED_UP.has(info.kind)) continue;
    const record = provenance.files[file.name];
    const localPath = join(sessionsDir, file.name);
    const localSha = record ? await sha256File(localPath).catch(() => undefined) : undefined;
    const intact = record !== undefined && localSha === record.sha256;
    if (
      record &&
      record.cloudSha256 === file.sha256 &&
      (intact || (record.prunedAt && localSha === undefined))
    ) {
      unchanged.push({ ...file, unchanged: true });
      continue;
    }
    // Names travel as the hex of their bytes (any name the bot's filesystem allows).
    const hex = (file.rawName ?? Buffer.from(file.remoteName ?? file.name)).toString("hex");
    // The stored bytes are the cloud's first bytes when nothing was redacted (a held-back line only shortens).
    if (
      intact &&
      isConversation(info.kind) &&
      !record.redactions &&
      record.size > 0 &&
      file.size > record.size
    ) {
      requests.push(`=${hex}:${record.size}:${record.sha256}`);
      prefixes.set(file.remoteName ?? file.name, localPath);
    } else {
      requests.push(`=${hex}:0:-`);
    }
  }
  // Each request is an argument of one command line (~120 bytes); past a few hundred, stream everything instead.
  return requests.length > MAX_FETCH_REQUESTS ? undefined : { requests, prefixes, unchanged };
}
