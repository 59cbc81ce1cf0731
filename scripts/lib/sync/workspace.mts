// Stage 8, the agent's workspace: its memory files (MEMORY.md, memory/*.md, USER.md, SOUL.md, IDENTITY.md,
// AGENTS.md, TOOLS.md) into <memory>/workspace/, with the sessions' checks: sizes and sha256 from the bot
// (workspace.sh, through remote/workspace.mts), secrets redacted, a provenance record per file (`workspace` in
// sync-provenance.json), and only the files whose bytes changed transferred. Its renames join the sessions' in
// the one journaled apply (plan-apply.mts). Where the workspace is comes from --workspace, openclaw.json or the
// version's default (openclaw/workspace.mts); one that is missing or cannot be told is a warning, never a
// failure, and absence deletes nothing (a file the bot no longer has stays in the backup).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { Failure, plural, type Reporter } from "../cli.mts";
import { WORKSPACE_DIR, isWorkspaceFile } from "../openclaw/workspace.mts";
import type { Era } from "../openclaw/era.mts";
import { FIRST_SQLITE_VERSION, compareCalendar } from "../openclaw/version.mts";
import { listWorkspace, locateWorkspace, readWorkspaceFiles } from "../remote/workspace.mts";
import type { Transport } from "../remote/transport.mts";
import type { StagedChange } from "../store/apply.mts";
import type { FileRecord, Provenance, WorkspaceRecord } from "../store/provenance.mts";
import type { SecretScanner } from "../secrets.mts";

export interface WorkspaceSummary {
  /** The workspace on the bot, and where that comes from. */
  path?: string;
  source?: string;
  new: number;
  updated: number;
  unchanged: number;
  /** Files the backup keeps that the bot no longer has (absence deletes nothing). */
  onlyLocal: number;
  /** Why nothing was read (--no-workspace, missing on the bot, cannot be told). */
  skipped?: string;
  changes: { path: string; change: "new" | "updated" | "unchanged"; size: number }[];
}

export interface WorkspaceSync {
  summary: WorkspaceSummary;
  /** The provenance's `workspace` after this run. */
  record?: WorkspaceRecord;
  /** Whether the record differs from the last one (the provenance must be written). */
  changed: boolean;
  /** Renames into memory/ (targets `workspace/<path>`). */
  steps: StagedChange[];
  warnings: string[];
  redactions: { total: number; files: number; kinds: Record<string, number> };
  wireBytes: number;
}

export async function syncWorkspace(
  transport: Transport,
  context: {
    stateDir: string;
    agentId: string;
    /** The agent's storage era, and OpenClaw's version when known: OpenClaw's default workspace moved into the
     * state dir with the SQLite era's first version (2026.7.2), whatever storage the agent still has. */
    era: Era;
    version?: string;
    stagingDir: string;
    memoryDir: string;
    provenance: Provenance | undefined;
    at: string;
    scanner: SecretScanner;
  },
  options: {
    workspace?: boolean;
    workspaceDir?: string;
    redact?: boolean;
    dryRun: boolean;
    timeoutSeconds: number;
    reporter: Reporter;
  },
): Promise<WorkspaceSync> {
  const old = context.provenance?.workspace;
  const keep = (summary: WorkspaceSummary, warnings: string[] = [], path?: string): WorkspaceSync => {
    // Nothing read: the backup's files stay, marked as not seen on the bot. A workspace missing on the bot is
    // recorded by its path, so that tomorrow's look-up lists that folder in the same call (one call a day).
    const record =
      old || path ? { path: path ?? old!.path, files: markGone(old?.files ?? {}, new Set()) } : undefined;
    return {
      summary: { ...summary, onlyLocal: record ? Object.keys(record.files).length : 0 },
      record,
      changed: JSON.stringify(record) !== JSON.stringify(old),
      steps: [],
      warnings,
      redactions: { total: 0, files: 0, kinds: {} },
      wireBytes: 0,
    };
  };
  const empty = { new: 0, updated: 0, unchanged: 0, onlyLocal: 0, changes: [] };
  if (options.workspace === false)
    return { ...keep(empty), summary: { ...empty, skipped: "--no-workspace" }, changed: false, record: old };
  const where = {
    stateDir: context.stateDir,
    agentId: context.agentId,
    timeoutSeconds: options.timeoutSeconds,
  };
  const location = await locateWorkspace(transport, {
    ...where,
    era:
      context.version && compareCalendar(context.version, FIRST_SQLITE_VERSION) >= 0 ? "sqlite" : context.era,
    override: options.workspaceDir,
    command: "sync",
    candidate: old?.path,
  });
  if ("error" in location)
    return keep({ ...empty, skipped: location.error }, [
      `the agent's memory files were not backed up: ${location.error} (or set agents.defaults.workspace in openclaw.json)`,
    ]);
  const found = { path: location.path, source: location.source };
  const listing = location.listing ?? (await listWorkspace(transport, { ...where, path: location.path }));
  if (listing.info.workspace === "missing") {
    const hint = location.outsideStateDir
      ? `; it is outside the state dir ${context.stateDir}, so on Fly not on the volume — set agents.defaults.workspace in openclaw.json to a folder on the volume (e.g. ${context.stateDir.replace(/\/+$/, "")}/workspace)`
      : "";
    return keep(
      { ...empty, ...found, skipped: "missing on the bot" },
      [
        `the agent's workspace ${location.path} (${location.source}) does not exist on the bot, so its memory files (MEMORY.md, memory/*.md, …) were not backed up${hint}`,
      ],
      location.path,
    );
  }
  const warnings: string[] = [];
  if (location.outsideStateDir)
    warnings.push(
      `the agent's workspace ${location.path} (${location.source}) is outside the state dir ${context.stateDir}: on Fly it is not on the volume and is lost when the machine is replaced; set agents.defaults.workspace in openclaw.json to a folder on the volume`,
    );
  const cloud = listing.files.filter((f) => isWorkspaceFile(f.name) && !f.rawName);
  for (const f of listing.files)
    if (f.rawName) warnings.push(`workspace file ${f.name} was not backed up: its name is not UTF-8`);
  for (const s of listing.skipped ?? []) warnings.push(`workspace entry ${s.name} was not read (${s.why})`);
  const oldFiles = old?.path === location.path ? old.files : (old?.files ?? {});
  const changes: WorkspaceSummary["changes"] = [];
  const wanted: string[] = [];
  for (const f of cloud) {
    const before = oldFiles[f.name];
    const local = await readFile(join(context.memoryDir, WORKSPACE_DIR, f.name)).catch(() => undefined);
    const same =
      before?.cloudSha256 === f.sha256 &&
      local !== undefined &&
      createHash("sha256").update(local).digest("hex") === before.sha256;
    changes.push({
      path: f.name,
      change: same ? "unchanged" : before || local ? "updated" : "new",
      size: f.size,
    });
    if (!same) wanted.push(f.name);
  }
  const files: Record<string, FileRecord> = markGone(oldFiles, new Set(cloud.map((f) => f.name)));
  const steps: StagedChange[] = [];
  const redactions = { total: 0, files: 0, kinds: {} as Record<string, number> };
  let wireBytes = listing.wireBytes;
  if (wanted.length && !options.dryRun) {
    const fetched = await readWorkspaceFiles(transport, {
      ...where,
      path: location.path,
      names: wanted,
      stagingDir: join(context.stagingDir, "workspace"),
    });
    wireBytes += fetched.wireBytes;
    for (const f of fetched.files) {
      if (!wanted.includes(f.name) || !f.path) continue;
      let bytes = await readFile(f.path);
      let count = 0;
      if (options.redact !== false) {
        const lines = bytes.toString("utf8").split("\n");
        const out = lines.map((line) => {
          const { text, kinds } = context.scanner.redactLine(line);
          for (const kind of kinds) redactions.kinds[kind] = (redactions.kinds[kind] ?? 0) + 1;
          count += kinds.length;
          return text;
        });
        if (count) {
          bytes = Buffer.from(out.join("\n"));
          await writeFile(f.path, bytes);
          redactions.total += count;
          redactions.files++;
        }
      }
      const record: FileRecord = {
        size: bytes.length,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        cloudSize: f.size,
        cloudSha256: f.sha256,
        syncedAt: context.at,
      };
      if (count) record.redactions = count;
      files[f.name] = record;
      steps.push({ target: join(WORKSPACE_DIR, f.name), staged: f.path });
    }
    for (const name of wanted)
      if (!fetched.files.some((f) => f.name === name))
        throw new Failure(`the bot's workspace file ${name} disappeared while it was read; run sync again`);
  }
  const record: WorkspaceRecord = { path: location.path, files: sortRecord(files) };
  const summary: WorkspaceSummary = {
    ...found,
    new: changes.filter((c) => c.change === "new").length,
    updated: changes.filter((c) => c.change === "updated").length,
    unchanged: changes.filter((c) => c.change === "unchanged").length,
    onlyLocal: Object.values(files).filter((r) => r.inCloud === false).length,
    changes,
  };
  options.reporter.info(
    `workspace ${location.path} (${location.source}): ${plural(cloud.length, "memory file")}${wanted.length ? `, ${wanted.length} changed` : ", none changed"}`,
  );
  return {
    summary,
    record,
    changed: steps.length > 0 || JSON.stringify(record) !== JSON.stringify(old),
    steps,
    warnings,
    redactions,
    wireBytes,
  };
}

function markGone(files: Record<string, FileRecord>, present: Set<string>): Record<string, FileRecord> {
  const out: Record<string, FileRecord> = {};
  for (const [name, record] of Object.entries(files))
    out[name] = present.has(name) ? { ...record } : { ...record, inCloud: false };
  for (const record of Object.values(out)) if (record.inCloud !== false) delete record.inCloud;
  return out;
}

function sortRecord(files: Record<string, FileRecord>): Record<string, FileRecord> {
  const out: Record<string, FileRecord> = {};
  for (const name of Object.keys(files).sort()) out[name] = files[name];
  return out;
}
