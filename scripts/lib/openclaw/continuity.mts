// Continuity across the file-era → SQLite-era upgrade: makes a SQLite-era export land on the same files a file-era
// backup already has, so memory/sessions stays one history (docs/sqlite-era.md, "Continuity").
//
// The real migration (OpenClaw 2026.9.6 `doctor --fix`) imports transcripts as session ids: a forked transcript
// `<time>_<id>.jsonl` and a topic transcript `<id>-topic-<n>.jsonl` come back from the database as `<id>.jsonl`,
// and a transcript without a header is rewritten (header added, entry ids renumbered). The sync calls
// reconcileSqliteExport on the staged files, after the transfer and before planning, so that:
//   * one file per session id: the database's `<id>.jsonl` is written into the file the backup already keeps for
//     that id (or that the export carries under its file-era name) when that file's complete lines are a prefix of
//     it; other staged copies holding only lines the database's transcript already has are dropped;
//   * file-era transcripts the database does not have are kept (nothing is ever deleted; they stay as they are);
//   * lines that differ are reported, and the backup's old version is kept as `<name>.bak.<time>` unless the
//     export already carries an identical copy.
// The index (sessions.json) is the database's, one key per session; keys the migration rewrote are reported.
import { createReadStream } from "node:fs";
import { copyFile, readFile, rm, stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { join } from "node:path";
import type { StreamResult, StreamedFile } from "../remote/stream.mts";
import { completeLength, sha256File } from "../store/content.mts";
import { classify } from "./files.mts";
import { INDEX_FILE, parseIndex } from "./sessions-index.mts";

export interface ContinuityReport {
  /** The staged files after reconciliation. */
  result: StreamResult;
  /** What was renamed, dropped or kept, one sentence each. */
  notes: string[];
  /** Lines that differ between the backup and the database, one sentence per file. */
  warnings: string[];
}

interface Candidate {
  name: string;
  path: string;
  where: "memory" | "staged";
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** Whether all complete lines of `prefixPath` are the first bytes of `fullPath`. */
async function isLinePrefix(prefixPath: string, fullPath: string): Promise<boolean> {
  const length = await completeLength(prefixPath);
  if (length === 0) return false;
  const full = await stat(fullPath);
  if (full.size < length) return false;
  return (await sha256File(prefixPath, length)) === (await sha256File(fullPath, length));
}

async function lineSet(path: string): Promise<Set<string>> {
  const lines = new Set<string>();
  const reader = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of reader) if (line) lines.add(line);
  return lines;
}

/** Lines of `oldPath` (complete ones) that `newPath` does not contain. */
async function missingLines(oldPath: string, newPath: string): Promise<number> {
  const have = await lineSet(newPath);
  const text = (await readFile(oldPath, "utf8")).slice(0, await completeLength(oldPath));
  return text.split("\n").filter((line) => line && !have.has(line)).length;
}

function stamp(at: string): string {
  return new Date(at).toISOString().replace(/:/g, "-");
}

export async function reconcileSqliteExport(
  result: StreamResult,
  sessionsDir: string,
  options: { at: string },
): Promise<ContinuityReport> {
  const notes: string[] = [];
  const warnings: string[] = [];
  // A listing has nothing staged; a fetch has only what changed (the rest is unchanged, with no path).
  if (result.mode === "manifest") return { result, notes, warnings };
  const files = new Map<string, StreamedFile>(result.files.map((f) => [f.name, f]));
  const consumed = { ...result.consumed };
  const drop = async (name: string, why: string) => {
    const file = files.get(name);
    if (file?.path) await rm(file.path, { force: true });
    if (file && !file.unchanged)
      consumed[file.remoteName ?? file.name] = { size: file.size, sha256: file.sha256 };
    files.delete(name);
    notes.push(`${name}: ${why}`);
  };

  const { readdir } = await import("node:fs/promises");
  const local = (await readdir(sessionsDir).catch(() => [] as string[])).map((name) => ({
    name,
    info: classify(name),
  }));
  const bySession = (names: { name: string; info: ReturnType<typeof classify> }[]) => {
    const map = new Map<string, string[]>();
    for (const { name, info } of names) {
      if (info.kind !== "transcript" || !info.sessionId) continue;
      const id = info.sessionId.toLowerCase();
      map.set(id, [...(map.get(id) ?? []), name]);
    }
    return map;
  };
  const localById = bySession(local);
  const stagedById = bySession([...files.keys()].map((name) => ({ name, info: classify(name) })));

  for (const [id, stagedNames] of stagedById) {
    const plain = stagedNames.find((name) => name.toLowerCase() === `${id}.jsonl`);
    const db = plain ? files.get(plain) : undefined;
    if (!plain || !db?.path) continue;
    // Where this session's history lives in the backup: its plain file, else a file-era name whose complete
    // lines the database's transcript starts with (in memory first, then among the staged leftovers).
    let home = plain;
    if (!(localById.get(id) ?? []).includes(plain)) {
      const candidates: Candidate[] = [
        ...(localById.get(id) ?? []).map((name) => ({
          name,
          path: join(sessionsDir, name),
          where: "memory" as const,
        })),
        ...stagedNames
          .filter((n) => n !== plain && files.get(n)!.path)
          .map((name) => ({ name, path: files.get(name)!.path!, where: "staged" as const })),
      ];
      for (const candidate of candidates) {
        if (await isLinePrefix(candidate.path, db.path)) {
          home = candidate.name;
          break;
        }
      }
    }
    if (home !== plain) {
      const replaced = files.get(home);
      if (replaced?.path) await rm(replaced.path, { force: true });
      if (replaced)
        consumed[replaced.remoteName ?? replaced.name] = { size: replaced.size, sha256: replaced.sha256 };
      files.delete(plain);
      files.set(home, { ...db, name: home, exportedAs: db.remoteName ?? plain });
      notes.push(
        `${plain}: written into ${home}, the file this session already has in the backup (one file per session id)`,
      );
    }
    // Other staged copies of this session that hold nothing the database's transcript lacks are duplicates.
    for (const name of stagedNames) {
      if (name === plain || name === home) continue;
      const file = files.get(name);
      if (file?.path && (await isLinePrefix(file.path, db.path))) {
        await drop(name, `dropped: the same lines as ${home}`);
      }
    }
    // Lines the backup has that the database's version lacks: report, and keep the old version.
    const localPath = join(sessionsDir, home);
    if (await exists(localPath)) {
      if (!(await isLinePrefix(localPath, db.path)) && (await completeLength(localPath)) > 0) {
        const lost = await missingLines(localPath, db.path);
        const oldSum = await sha256File(localPath);
        const copies = [...files.values()]
          .filter((f) => f.name !== home && f.sha256 === oldSum)
          .map((f) => f.name);
        let keptAs = copies[0];
        if (!keptAs && lost > 0) {
          keptAs = `${classify(home).transcript ?? home}.bak.${stamp(options.at)}`;
          const staged = join(db.path + ".continuity");
          await copyFile(localPath, staged);
          const info = await stat(staged);
          files.set(keptAs, {
            name: keptAs,
            size: info.size,
            sha256: oldSum,
            path: staged,
            keptLocally: true,
          });
        }
        warnings.push(
          `${home}: ${lost} line(s) of the backup's version are not in the database's transcript` +
            (keptAs
              ? `; the backup's version is kept as ${keptAs}`
              : " (only rewritten ids or an unfinished line)"),
        );
      }
    }
  }

  // The index: the database's, one key per session. Report keys the migration rewrote.
  const index = files.get(INDEX_FILE);
  const oldIndexPath = join(sessionsDir, INDEX_FILE);
  if (index?.path && (await exists(oldIndexPath))) {
    try {
      const now = parseIndex(await readFile(index.path, "utf8"));
      const before = parseIndex(await readFile(oldIndexPath, "utf8"));
      const keysById = new Map<string, string[]>();
      for (const [key, entry] of Object.entries(now)) {
        const id = String(entry?.sessionId ?? "").toLowerCase();
        keysById.set(id, [...(keysById.get(id) ?? []), key]);
      }
      const rekeyed = Object.entries(before).filter(([key, entry]) => {
        const keys = keysById.get(String(entry?.sessionId ?? "").toLowerCase());
        return keys && !keys.includes(key) && !(key in now);
      });
      if (rekeyed.length) {
        notes.push(
          `sessions.json: ${rekeyed.length} index key(s) were renamed by the migration (e.g. ${rekeyed[0][0]} → ${keysById.get(String(rekeyed[0][1].sessionId).toLowerCase())![0]}); the database's keys replace them`,
        );
      }
    } catch {
      // an unreadable old index is the sync's concern, not continuity's
    }
  }
  return { result: { ...result, files: [...files.values()], consumed }, notes, warnings };
}
