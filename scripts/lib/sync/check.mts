// Stage 7, check, trim and redact, all in staging: drop what .syncignore excludes, sort the staged files into new,
// updated and unchanged, hold back a transcript's unfinished last line, replace secrets by markers, and refuse a
// cloud that lost every conversation the backup has.
import { createHash } from "node:crypto";
import { readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Failure, plural, quoteName, type Reporter } from "../cli.mts";
import { BACKED_UP, classify, isConversation } from "../openclaw/files.mts";
import { INDEX_FILE } from "../openclaw/sessions-index.mts";
import type { StreamResult, StreamedFile } from "../remote/stream.mts";
import type { SecretScanner } from "../secrets.mts";
import { countLines, sha256File, trimUnfinishedLine } from "../store/content.mts";
import { botName, type Provenance } from "../store/provenance.mts";
import { leaveOutPrunedKeys } from "../store/pruned-keys.mts";
import { NO_ZSTD, decompressInPlace } from "../zstd.mts";
import { filterIndexText } from "../store/exclude.mts";
import type { TransferPlan } from "./plan-transfer.mts";
import { redactFile } from "./redact.mts";
import type { FileChange, SyncSummary } from "./types.mts";

/**
 * Only regular files with one link are read on the bot: a symlink or a hard link named like a transcript could be
 * a second name of openclaw.json (the channel tokens). One warning per entry left out.
 */
export function notReadWarnings(result: StreamResult): string[] {
  return notReadFiles(result).map(
    (entry) =>
      `${quoteName(entry.name)} in the bot's sessions folder is ${entry.reason}: not read; only regular files with one link are backed up`,
  );
}

/** The same entries, as `skippedFiles` of the summary (kinds `hard-link`, `symlink`, `not-a-file`). */
export function notReadFiles(result: StreamResult): { name: string; kind: string; reason: string }[] {
  const files: { name: string; kind: string; reason: string }[] = [];
  const seen = new Set<string>();
  for (const entry of result.skipped ?? []) {
    if (seen.has(entry.name)) continue;
    seen.add(entry.name);
    files.push(
      entry.why === "hardlink"
        ? {
            name: entry.name,
            kind: "hard-link",
            reason: "a hard link (a second name of a file that may live outside the sessions folder)",
          }
        : entry.why === "symlink"
          ? { name: entry.name, kind: "symlink", reason: "a symbolic link" }
          : { name: entry.name, kind: "not-a-file", reason: "not a regular file" },
    );
  }
  return files;
}

export interface Excluded {
  result: StreamResult;
  /** Keys of the bot's index left out, files on the bot left out (never transferred, or dropped on arrival). */
  excluded: { keys: number; files: number };
}

/**
 * Drops the files .syncignore excludes, and the excluded keys from the staged index and its `.bak` copies. The
 * index is the copy fetched before the transfer whenever there is one, also when the bot's index did not change
 * since the last sync: the stored index is made from it on every run, with the current .syncignore.
 */
export async function dropExcluded(
  result: StreamResult,
  plan: Pick<TransferPlan, "exclusion" | "rules" | "index" | "excludedOnBot">,
  reporter: Reporter,
): Promise<Excluded> {
  const { exclusion, rules } = plan;
  const excluded = { keys: 0, files: plan.excludedOnBot };
  let files = result.files;
  if (plan.index) {
    const fresh = plan.index.file;
    files = files.map((file) =>
      file.name === INDEX_FILE && !file.path ? { ...fresh, name: file.name } : file,
    );
  }
  if (!exclusion || !rules) return { result: { ...result, files }, excluded };
  const kept: StreamedFile[] = [];
  for (const file of files) {
    if (file.name !== INDEX_FILE && exclusion.excludesFile(file.remoteName ?? file.name)) {
      excluded.files++;
      if (file.path) await rm(file.path, { force: true });
      continue;
    }
    kept.push(file);
    const kind = classify(file.remoteName ?? file.name).kind;
    if ((kind !== "index" && kind !== "index-backup") || !file.path) continue;
    // The stored copy drops the excluded keys (provenance keeps the cloud's hash of the whole file).
    const filtered = filterIndexText(await readFile(file.path, "utf8"), (key) => rules.ignoresKey(key));
    if (!filtered) continue;
    if (kind === "index") excluded.keys = filtered.keys.length;
    await writeFile(file.path, filtered.text);
    file.stored = {
      size: Buffer.byteLength(filtered.text),
      sha256: createHash("sha256").update(filtered.text).digest("hex"),
    };
  }
  reporter.info(
    `.syncignore: left out ${plural(excluded.keys, "index key")} and ${plural(excluded.files, "file")} on the bot`,
  );
  return { result: { ...result, files: kept }, excluded };
}

export interface Plan {
  changes: FileChange[];
  staged: { name: string; path: string }[];
  cloud: Map<
    string,
    { file: StreamedFile; size: number; sha256: string; heldBackBytes: number; redactions: number }
  >;
  // What the summary reports of them, in its types (types.mts).
  heldBack: SyncSummary["heldBack"];
  redactions: SyncSummary["redactions"];
  skipped: SyncSummary["skipped"];
  skippedFiles: SyncSummary["skippedFiles"];
  unknownFiles: SyncSummary["unknownFiles"];
  renamed: SyncSummary["renamed"];
  warnings: string[];
  /** Keys prune had removed whose entries changed in the cloud: they are back. */
  revivedKeys: string[];
}

/** Checks the staged files against the backup; refuses an empty cloud over a non-empty backup. */
export async function check(
  result: StreamResult,
  context: {
    memoryDir: string;
    sessionsDir: string;
    provenance?: Provenance;
    agentId: string;
    /** Warnings from earlier stages (the era's reconciliation), listed first. */
    warnings: string[];
    /** Entries of the bot's sessions folder that were not read (links, folders): named as skipped. */
    notRead?: { name: string; kind: string; reason: string }[];
    /** The secret scanner that redacts the staged transcripts; none with --no-redact. */
    scanner: SecretScanner | undefined;
  },
  options: { memory: string; dryRun: boolean; allowEmpty: boolean },
): Promise<Plan> {
  const plan = await planChanges(
    result,
    context.sessionsDir,
    context.provenance,
    options.dryRun,
    context.scanner,
  );
  plan.warnings.unshift(...context.warnings);
  for (const entry of context.notRead ?? []) {
    plan.skipped[entry.kind] = (plan.skipped[entry.kind] ?? 0) + 1;
    plan.skippedFiles.push(entry);
  }
  const cloudConversations = result.files.filter((f) =>
    isConversation(classify(f.remoteName ?? f.name).kind),
  ).length;
  const localCount = await localConversations(context.sessionsDir, context.provenance);
  if (cloudConversations === 0 && localCount > 0 && !options.allowEmpty) {
    throw new Failure(
      `the cloud has no transcripts for agent ${context.agentId} while ${options.memory} holds ${localCount}: the instance was probably recreated or the state dir is wrong; nothing was changed (pass --allow-empty to sync anyway)`,
    );
  }
  return plan;
}

/** Local files under memory/sessions that hold conversations (for the empty-cloud guard). */
async function localConversations(sessionsDir: string, provenance?: Provenance): Promise<number> {
  const names = await readdir(sessionsDir).catch(() => [] as string[]);
  return names.filter((name) => isConversation(classify(botName(provenance, name)).kind)).length;
}

/**
 * A dry run has only the listing: the file era's names each transcript's unfinished last line (pull.sh's U record),
 * which the real run would hold back. Counts it for a file the run would write; returns the size written and the
 * bytes held back. (A SQLite-era export writes whole lines only.)
 */
function listedHeldBack(plan: Plan, file: StreamedFile, kind: string, size: number): [number, number] {
  const held = kind === "transcript" ? (file.unfinishedBytes ?? 0) : 0;
  if (!held) return [size, 0];
  plan.heldBack.lines++;
  plan.heldBack.bytes += held;
  return [size - held, held];
}

export async function planChanges(
  result: StreamResult,
  sessionsDir: string,
  provenance: Provenance | undefined,
  dryRun: boolean,
  scanner: SecretScanner | undefined,
): Promise<Plan> {
  const plan: Plan = {
    changes: [],
    staged: [],
    cloud: new Map(),
    heldBack: { lines: 0, bytes: 0 },
    redactions: { total: 0, files: 0, kinds: {} },
    skipped: {},
    skippedFiles: [],
    unknownFiles: [],
    renamed: [],
    warnings: [],
    revivedKeys: [],
  };
  // What the sessions folder holds, read once: an unchanged file is only looked up (a stat each is most of an idle
  // day's planning on a bot with thousands); a name not listed is still stat'ed (a case-insensitive folder).
  const listed = new Set(await readdir(sessionsDir).catch(() => []));
  for (const file of result.files) {
    const info = classify(file.remoteName ?? file.name);
    if (!BACKED_UP.has(info.kind)) {
      // The remote programs leave these out by the same rules; one that arrives anyway is named, not kept.
      plan.skipped[info.kind] = (plan.skipped[info.kind] ?? 0) + 1;
      plan.skippedFiles.push({ name: file.name, kind: info.kind, reason: `a ${info.kind} file` });
      if (file.path) await rm(file.path, { force: true });
      continue;
    }
    if (info.kind === "unknown") plan.unknownFiles.push(file.name);
    if (file.remoteName !== undefined) {
      plan.renamed.push({ name: file.name, remoteName: file.remoteName, reason: file.nameReason ?? "" });
    }
    const known = provenance?.files[file.name];
    if (file.unchanged && known) {
      const present =
        listed.has(file.name) || (await stat(join(sessionsDir, file.name)).catch(() => undefined));
      plan.cloud.set(file.name, {
        file,
        size: known.size,
        sha256: known.sha256,
        heldBackBytes: known.heldBackBytes ?? 0,
        redactions: known.redactions ?? 0,
      });
      plan.changes.push({
        name: file.name,
        change: present ? "unchanged" : "pruned-unchanged",
        size: known.size,
      });
      continue;
    }
    let size = file.stored?.size ?? file.size;
    let sha256 = file.stored?.sha256 ?? file.sha256;
    // A zstd-compressed archive: stored decompressed where this Node can (store/names.mts named it without
    // `.zst`), so its lines are redacted, verified and readable in git; else kept as it is, and said so.
    if (info.compressed === "zstd" && file.path) {
      if (!file.name.endsWith(".zst")) {
        try {
          ({ size, sha256 } = await decompressInPlace(file.path));
        } catch (error) {
          plan.skipped["damaged-zstd"] = (plan.skipped["damaged-zstd"] ?? 0) + 1;
          plan.skippedFiles.push({
            name: file.remoteName ?? file.name,
            kind: "damaged-zstd",
            reason: `its zstd frame cannot be decompressed (${(error as Error).message})`,
          });
          plan.renamed = plan.renamed.filter((r) => r.name !== file.name);
          await rm(file.path, { force: true });
          continue;
        }
      } else if (scanner) {
        plan.warnings.push(
          `${quoteName(file.name)} is zstd-compressed and ${NO_ZSTD}: stored compressed and not scanned for secrets; sync with Node 22.15 or later to store it decompressed and redacted`,
        );
      }
    }
    // A live transcript may end in a line the bot is still writing: hold it back, it comes complete next time.
    let heldBackBytes = 0;
    if (info.kind === "transcript" && file.path) {
      heldBackBytes = await trimUnfinishedLine(file.path);
      if (heldBackBytes) {
        size -= heldBackBytes;
        sha256 = await sha256File(file.path);
        plan.heldBack.lines++;
        plan.heldBack.bytes += heldBackBytes;
      }
    }
    // Secrets never reach memory/: each detected value becomes [REDACTED:<kind>], lines stay valid JSON.
    let redactions = 0;
    if (scanner && file.path) {
      const redacted = await redactFile(
        file.path,
        scanner,
        info.kind === "index" || info.kind === "index-backup",
      );
      if (redacted.total) {
        redactions = redacted.total;
        size = redacted.size;
        sha256 = redacted.sha256;
        plan.redactions.total += redacted.total;
        plan.redactions.files++;
        for (const [kind, count] of Object.entries(redacted.kinds)) {
          plan.redactions.kinds[kind] = (plan.redactions.kinds[kind] ?? 0) + count;
        }
      }
    }
    // Keys prune removed stay out while their entries are unchanged (store/pruned-keys.mts).
    if (info.kind === "index" && file.path) {
      const out = await leaveOutPrunedKeys(file.path, provenance?.prunedKeys);
      if (out.sha256 !== undefined) [size, sha256] = [out.size!, out.sha256];
      plan.revivedKeys.push(...out.revived);
    }
    plan.cloud.set(file.name, { file, size, sha256, heldBackBytes, redactions });
    const record = provenance?.files[file.name];
    const localPath = join(sessionsDir, file.name);
    const local = await stat(localPath).catch(() => undefined);
    if (!local && record?.prunedAt && record.cloudSha256 === file.sha256) {
      plan.changes.push({ name: file.name, change: "pruned-unchanged", size });
      if (file.path) await rm(file.path, { force: true });
      continue;
    }
    if (!local) {
      if (dryRun) [size, heldBackBytes] = listedHeldBack(plan, file, info.kind, size);
      plan.changes.push({ name: file.name, change: "new", size, heldBackBytes });
      if (file.path) plan.staged.push({ name: file.name, path: file.path });
      continue;
    }
    if (dryRun) {
      // Only sizes and hashes travelled: compare with what the last sync recorded, else with the local bytes.
      const same = record
        ? record.cloudSha256 === file.sha256
        : (await sha256File(localPath)) === file.sha256;
      if (!same) [size, heldBackBytes] = listedHeldBack(plan, file, info.kind, size);
      plan.changes.push({ name: file.name, change: same ? "unchanged" : "updated", size, heldBackBytes });
      continue;
    }
    // Something that is not a regular file (a folder, a socket) is in the way: the apply will fail and undo.
    const localSha = local.isFile() ? await sha256File(localPath) : "";
    if (localSha === sha256) {
      plan.changes.push({ name: file.name, change: "unchanged", size, heldBackBytes });
      await rm(file.path!, { force: true });
      continue;
    }
    plan.changes.push({ name: file.name, change: "updated", size, heldBackBytes });
    plan.staged.push({ name: file.name, path: file.path! });
    if (isConversation(info.kind) && local.isFile()) {
      // Appends are the normal case; anything else is worth a word (git keeps the old version).
      const appended = local.size <= size && (await sha256File(file.path!, local.size)) === localSha;
      if (!appended) {
        const before = await countLines(localPath);
        const after = await countLines(file.path!);
        plan.warnings.push(
          local.size > size
            ? `${file.name} shrank in the cloud (${before} → ${after} lines, ${local.size} → ${size} bytes); the old version stays in git`
            : `${file.name} changed in the middle in the cloud (${before} → ${after} lines); the old version stays in git`,
        );
      }
    }
  }
  for (const change of plan.changes) {
    if ((change.change === "new" || change.change === "updated") && plan.unknownFiles.includes(change.name)) {
      plan.warnings.push(
        `${quoteName(change.name)} is not a file name OpenClaw is known to write (docs/naming.md); backed up as is, as an unknown kind`,
      );
    }
  }
  return plan;
}
