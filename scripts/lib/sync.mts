// The pull: discover → choose → transfer into staging → check → apply. Nothing is written into the memory
// folder before every check has passed; any failure leaves it exactly as it was.
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Failure, Reporter, formatBytes, plural } from "./cli.mts";
import { BACKED_UP, REMOTE_EXCLUDE, REMOTE_INCLUDE, classify, isConversation } from "./openclaw/files.mts";
import {
  VERSION_SOURCE_TEXT,
  chooseAgent,
  compareCalendar,
  FIRST_SQLITE_VERSION,
  openclawVersion,
  parseDiscovery,
  storageEra,
  type Discovery,
  type Era,
} from "./openclaw/discovery.mts";
import { FlyTransport, checkFlyctlVersion, chooseMachine, findFlyctl, flyctlVersion } from "./remote/fly.mts";
import { StreamError, readRemoteStream, type StreamResult, type StreamedFile } from "./remote/stream.mts";
import {
  LocalTransport,
  SshTransport,
  checkRemoteArg,
  parseSshTarget,
  type Transport,
} from "./remote/transport.mts";
import { applyStaged, createStaging, removeStaleStaging, type StagedChange } from "./store/apply.mts";
import { countLines, sha256File, trimUnfinishedLine } from "./store/content.mts";
import { uncommittedChanges } from "./store/git.mts";
import { acquireLock } from "./store/lock.mts";
import { reconcileSqliteExport } from "./openclaw/continuity.mts";
import {
  PROVENANCE_FILE,
  SESSIONS_DIR,
  readProvenance,
  serializeProvenance,
  type FileRecord,
  type Provenance,
  type SyncSource,
} from "./store/provenance.mts";

export const TOOL = "openclaw-memory-sync 0.1.0";

export interface SyncOptions {
  transport: "fly" | "ssh" | "local";
  app?: string;
  machine?: string;
  ssh?: string;
  /** `-o` options for ssh. */
  sshOptions?: string[];
  stateDir: string;
  agent?: string;
  memory: string;
  dryRun: boolean;
  force: boolean;
  allowEmpty: boolean;
  /** Seconds without data before a remote call is abandoned. */
  timeoutSeconds: number;
  reporter: Reporter;
}

export interface FileChange {
  name: string;
  change: "new" | "updated" | "unchanged" | "pruned-unchanged";
  size: number;
  heldBackBytes?: number;
}

export interface SyncSummary {
  ok: boolean;
  dryRun: boolean;
  source: SyncSource;
  memory: string;
  files: {
    new: number;
    updated: number;
    unchanged: number;
    skippedPruned: number;
    onlyLocal: number;
    total: number;
  };
  bytes: { transferred: number; written: number; cloud: number };
  heldBack: { lines: number; bytes: number };
  skipped: Record<string, number>;
  warnings: string[];
  changes: FileChange[];
  provenanceWritten: boolean;
  durationMs: number;
}

interface Connection {
  transport: Transport;
  source: Partial<SyncSource>;
}

async function connect(options: SyncOptions): Promise<Connection> {
  const stateDir = checkRemoteArg(options.stateDir, "--state-dir");
  const { reporter } = options;
  if (options.transport === "fly") {
    if (!options.app) throw new Failure("no Fly app given: pass --app NAME or set FLY_APP", 2);
    const bin = findFlyctl();
    const version = await flyctlVersion(bin);
    checkFlyctlVersion(version);
    reporter.info(`flyctl ${version} (${bin})`);
    const machine = await chooseMachine(bin, options.app, stateDir, options.machine);
    reporter.info(
      `machine ${machine.id}${machine.name ? ` (${machine.name})` : ""} in ${machine.region ?? "?"}, ${machine.state}`,
    );
    return {
      transport: new FlyTransport(bin, options.app, machine),
      source: {
        transport: "fly",
        app: options.app,
        machine: machine.id,
        region: machine.region,
        flyctlVersion: version,
      },
    };
  }
  if (options.transport === "ssh") {
    const target = parseSshTarget(options.ssh ?? "");
    const extra = (options.sshOptions ?? []).flatMap((option) => ["-o", option]);
    return { transport: new SshTransport(target, extra), source: { transport: "ssh", host: options.ssh } };
  }
  return { transport: new LocalTransport(), source: { transport: "local" } };
}

async function discover(transport: Transport, options: SyncOptions): Promise<Discovery> {
  const text = await transport.call({
    program: "discover.sh",
    args: [options.stateDir],
    label: "discovery",
    idleTimeoutMs: options.timeoutSeconds * 1000,
    consume: async (stdout) => {
      const chunks: Buffer[] = [];
      for await (const chunk of stdout) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  });
  const discovery = parseDiscovery(text);
  if (discovery.state === "missing") {
    throw new Failure(
      `the state dir ${options.stateDir} does not exist on ${transport.describe()}; pass --state-dir (env REMOTE_STATE_DIR)`,
    );
  }
  if (discovery.state === "unreadable") {
    throw new Failure(
      `the state dir ${options.stateDir} on ${transport.describe()} cannot be read by the ssh user`,
    );
  }
  return discovery;
}

/** Local files under memory/sessions that hold conversations (for the empty-cloud guard). */
async function localConversations(sessionsDir: string): Promise<number> {
  const names = await readdir(sessionsDir).catch(() => [] as string[]);
  return names.filter((name) => isConversation(classify(name).kind)).length;
}

export async function sync(options: SyncOptions): Promise<SyncSummary> {
  const started = Date.now();
  const { reporter } = options;
  const memoryDir = resolve(options.memory);
  const sessionsDir = join(memoryDir, SESSIONS_DIR);
  const memoryStat = await stat(memoryDir).catch(() => undefined);
  if (memoryStat && !memoryStat.isDirectory())
    throw new Failure(`--memory ${options.memory} is not a folder`, 2);
  if (options.agent !== undefined) checkRemoteArg(options.agent, "--agent");

  // 1. Discovery: where, what version, which era, which agent. Nothing is transferred before this.
  const { transport, source } = await connect(options);
  const discovery = await discover(transport, options);
  const { version, source: versionSource } = openclawVersion(discovery);
  reporter.info(
    `OpenClaw ${version ?? "version unknown"}${versionSource ? ` (from ${VERSION_SOURCE_TEXT[versionSource]})` : ""} on ${transport.describe()}`,
  );
  reporter.info(
    `agents in ${discovery.stateDir}: ${discovery.agents.map((a) => `${a.id} (${a.hasSqlite ? "sqlite" : a.hasSessions ? "files" : "empty"})`).join(", ") || "none"}`,
  );
  const agent = chooseAgent(discovery, options.agent);
  const era: Era = storageEra(agent);
  reporter.info(
    `agent ${agent.id}: storage era ${era}${era === "files" ? ` (${plural(agent.transcripts, "transcript")}, ${formatBytes(agent.bytes)})` : ""}`,
  );
  if (era === "files" && version && compareCalendar(version, FIRST_SQLITE_VERSION) >= 0) {
    reporter.warn(
      `OpenClaw ${version} keeps sessions in SQLite, but agent ${agent.id} has no database yet; backing up its session files (not yet imported by 'openclaw doctor --fix')`,
    );
  }
  if (era === "files" && !agent.hasSessions) {
    throw new Failure(
      `agent ${agent.id} has no sessions folder in ${discovery.stateDir}/agents/${agent.id}; nothing to back up`,
    );
  }

  // --- SQLite-era dispatch -------------------------------------------------------------------------------
  // SQLite era (2026.7.2+): export-sqlite.mjs runs with the bot's own node (node:sqlite, one read transaction,
  // nothing written on the bot) and emits the same stream as pull.sh, in the file-era layout, with `I layout`
  // and `I user_version` records; an unknown layout fails remotely with a sentence (docs/sqlite-era.md).
  const program = era === "sqlite" ? ("export-sqlite.mjs" as const) : ("pull.sh" as const);
  if (era === "sqlite") {
    const nodeVersion = /^v?(\d+)\.(\d+)/.exec(discovery.node ?? "");
    const [major, minor] = nodeVersion ? [Number(nodeVersion[1]), Number(nodeVersion[2])] : [0, 0];
    if (!discovery.tools.node || major < 22 || (major === 22 && minor < 5)) {
      throw new Failure(
        `agent ${agent.id}'s sessions are in SQLite, which is read with the bot's own Node.js (22.5 or later, for node:sqlite), but ${discovery.node ? `the bot has Node ${discovery.node}` : "the bot's machine has no node on PATH"}`,
      );
    }
  }
  if (era === "sqlite") {
    reporter.info(
      `agent ${agent.id}: exporting ${discovery.stateDir}/agents/${agent.id}/agent/openclaw-agent.sqlite with node on the bot (read-only, one transaction)`,
    );
  }
  const programArgs = [
    discovery.stateDir,
    agent.id,
    ...REMOTE_EXCLUDE.map((p) => `-${p}`),
    ...REMOTE_INCLUDE.map((p) => `+${p}`),
  ];
  // --- end of SQLite-era dispatch --------------------------------------------------------------------------

  const syncSource: SyncSource = {
    at: new Date().toISOString(),
    transport: transport.kind,
    ...source,
    stateDir: discovery.stateDir,
    agent: agent.id,
    openclawVersion: version,
    versionSource: versionSource ? VERSION_SOURCE_TEXT[versionSource] : undefined,
    era,
    tool: TOOL,
  };

  // 2. Git is the safety net: refuse to overwrite what no commit holds.
  if (!options.dryRun) {
    const dirty = uncommittedChanges(memoryDir);
    if (dirty && dirty.length && !options.force) {
      throw new Failure(
        `${options.memory} has uncommitted changes (${dirty.slice(0, 3).join(", ")}${dirty.length > 3 ? `, and ${dirty.length - 3} more` : ""}); commit or stash them first so every byte sync overwrites stays in git, or pass --force`,
      );
    }
  }

  // 3. One run at a time; staging next to the memory folder.
  const memoryParent = resolve(memoryDir, "..");
  if (!(await stat(memoryParent).catch(() => undefined))) {
    throw new Failure(
      `the folder that should hold ${options.memory} (${memoryParent}) does not exist; create it first`,
    );
  }
  const lock = options.dryRun ? undefined : await acquireLock(memoryDir, "sync-memory");
  if (lock?.tookOver)
    reporter.info(`took over a stale lock of pid ${lock.tookOver.pid} (${lock.tookOver.startedAt})`);
  let staging: string | undefined;
  try {
    if (lock) await removeStaleStaging(memoryDir);
    staging = await createStaging(memoryDir);
    const stagingDir = staging;

    // 4. Transfer: stream mode writes the files into staging, checking every size and hash on the way.
    const mode = options.dryRun ? "manifest" : "stream";
    reporter.progress(`${mode === "stream" ? "transferring" : "listing"} ${agent.id}'s sessions…`);
    let result = await transport.call<StreamResult>({
      program,
      args: [mode, ...programArgs],
      label: mode === "stream" ? "transfer" : "listing",
      idleTimeoutMs: options.timeoutSeconds * 1000,
      retryOn: (error) => error instanceof StreamError && error.kind === "mismatch",
      consume: async (stdout, attempt) => {
        const dir = join(stagingDir, `attempt-${attempt}`);
        await mkdir(dir);
        return readRemoteStream(stdout, {
          stagingDir: dir,
          onProgress: (received, file) =>
            reporter.progress(`received ${formatBytes(received)}${file ? ` · ${file}` : ""}`),
        });
      },
    });
    reporter.clearProgress();
    const continuityWarnings: string[] = [];
    if (era === "sqlite") {
      syncSource.layout = result.info.layout;
      reporter.info(
        `agent ${agent.id}: SQLite layout ${result.info.layout ?? "?"} (user_version ${result.info.user_version ?? "?"})`,
      );
      // One history across the upgrade: land the database's transcripts on the files the backup already keeps.
      const continuity = await reconcileSqliteExport(result, sessionsDir, { at: syncSource.at });
      result = continuity.result;
      for (const note of continuity.notes) reporter.info(note);
      continuityWarnings.push(...continuity.warnings);
    }

    // 5. Checks and planning, all in staging.
    const provenance = await readProvenance(memoryDir).catch((error: Error) => {
      throw new Failure(
        `${join(options.memory, PROVENANCE_FILE)} cannot be read (${error.message}); fix or remove it`,
      );
    });
    const plan = await planChanges(result, sessionsDir, provenance, options.dryRun);
    plan.warnings.unshift(...continuityWarnings);
    const cloudConversations = result.files.filter((f) => isConversation(classify(f.name).kind)).length;
    const localCount = await localConversations(sessionsDir);
    if (cloudConversations === 0 && localCount > 0 && !options.allowEmpty) {
      throw new Failure(
        `the cloud has no transcripts for agent ${agent.id} while ${options.memory} holds ${localCount}: the instance was probably recreated or the state dir is wrong; nothing was changed (pass --allow-empty to sync anyway)`,
      );
    }

    const records = buildRecords(plan, provenance, syncSource.at);
    const changed = plan.changes.filter((c) => c.change === "new" || c.change === "updated");
    const provenanceWritten = changed.length > 0 || !provenance || recordsDiffer(provenance, records);
    const summary: SyncSummary = {
      ok: true,
      dryRun: options.dryRun,
      source: syncSource,
      memory: memoryDir,
      files: {
        new: plan.changes.filter((c) => c.change === "new").length,
        updated: plan.changes.filter((c) => c.change === "updated").length,
        unchanged: plan.changes.filter((c) => c.change === "unchanged").length,
        skippedPruned: plan.changes.filter((c) => c.change === "pruned-unchanged").length,
        onlyLocal: Object.entries(records).filter(([, r]) => r.inCloud === false && !r.prunedAt).length,
        total: plan.changes.length,
      },
      bytes: {
        transferred: result.wireBytes,
        written: changed.reduce((sum, c) => sum + c.size, 0),
        cloud: result.files.reduce((sum, f) => sum + f.size, 0),
      },
      heldBack: plan.heldBack,
      skipped: plan.skipped,
      warnings: plan.warnings,
      changes: plan.changes,
      provenanceWritten: provenanceWritten && !options.dryRun,
      durationMs: 0,
    };

    // 6. Apply: conversations, then sessions.json, then the provenance file.
    if (!options.dryRun && provenanceWritten) {
      const provenancePath = join(stagingDir, PROVENANCE_FILE);
      const next: Provenance = { format: 1, lastSync: syncSource, files: records };
      await writeFile(provenancePath, serializeProvenance(next), { mode: 0o644 });
      const ordered = [...plan.staged].sort(
        (a, b) => Number(a.name === "sessions.json") - Number(b.name === "sessions.json"),
      );
      const steps: StagedChange[] = ordered.map((s) => ({
        target: join(SESSIONS_DIR, s.name),
        staged: s.path,
      }));
      steps.push({ target: PROVENANCE_FILE, staged: provenancePath });
      await applyStaged(memoryDir, stagingDir, steps);
    }
    summary.durationMs = Date.now() - started;
    return summary;
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
    await lock?.lock.release();
  }
}

interface Plan {
  changes: FileChange[];
  staged: { name: string; path: string }[];
  cloud: Map<string, { file: StreamedFile; size: number; sha256: string; heldBackBytes: number }>;
  heldBack: { lines: number; bytes: number };
  skipped: Record<string, number>;
  warnings: string[];
}

async function planChanges(
  result: StreamResult,
  sessionsDir: string,
  provenance: Provenance | undefined,
  dryRun: boolean,
): Promise<Plan> {
  const plan: Plan = {
    changes: [],
    staged: [],
    cloud: new Map(),
    heldBack: { lines: 0, bytes: 0 },
    skipped: {},
    warnings: [],
  };
  for (const file of result.files) {
    const info = classify(file.name);
    if (!BACKED_UP.has(info.kind)) {
      plan.skipped[info.kind] = (plan.skipped[info.kind] ?? 0) + 1;
      if (file.path) await rm(file.path, { force: true });
      continue;
    }
    // A live transcript may end in a line the bot is still writing: hold it back, it comes complete next time.
    let size = file.size;
    let sha256 = file.sha256;
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
    plan.cloud.set(file.name, { file, size, sha256, heldBackBytes });
    const record = provenance?.files[file.name];
    const localPath = join(sessionsDir, file.name);
    const local = await stat(localPath).catch(() => undefined);
    if (!local && record?.prunedAt && record.cloudSha256 === file.sha256) {
      plan.changes.push({ name: file.name, change: "pruned-unchanged", size });
      if (file.path) await rm(file.path, { force: true });
      continue;
    }
    if (!local) {
      plan.changes.push({ name: file.name, change: "new", size, heldBackBytes });
      if (file.path) plan.staged.push({ name: file.name, path: file.path });
      continue;
    }
    if (dryRun) {
      // Only sizes and hashes travelled: compare with what the last sync recorded, else with the local bytes.
      const same = record
        ? record.cloudSha256 === file.sha256
        : (await sha256File(localPath)) === file.sha256;
      plan.changes.push({ name: file.name, change: same ? "unchanged" : "updated", size });
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
  return plan;
}

function buildRecords(
  plan: Plan,
  provenance: Provenance | undefined,
  at: string,
): Record<string, FileRecord> {
  const records: Record<string, FileRecord> = {};
  for (const [name, record] of Object.entries(provenance?.files ?? {}))
    records[name] = { ...record, inCloud: false };
  for (const change of plan.changes) {
    const cloud = plan.cloud.get(change.name)!;
    const old = provenance?.files[change.name];
    if (change.change === "pruned-unchanged") {
      records[change.name] = { ...old!, inCloud: true };
      continue;
    }
    const record: FileRecord = {
      size: cloud.size,
      sha256: cloud.sha256,
      cloudSize: cloud.file.size,
      cloudSha256: cloud.file.sha256,
      syncedAt: change.change === "unchanged" && old ? old.syncedAt : at,
    };
    if (cloud.heldBackBytes) record.heldBackBytes = cloud.heldBackBytes;
    records[change.name] = record;
  }
  for (const record of Object.values(records)) if (record.inCloud !== false) delete record.inCloud;
  return records;
}

function recordsDiffer(provenance: Provenance, records: Record<string, FileRecord>): boolean {
  const a = serializeProvenance({ ...provenance, files: provenance.files });
  const b = serializeProvenance({ ...provenance, files: records });
  return a !== b;
}

/** The human summary printed at the end of a sync. */
export function formatSummary(s: SyncSummary): string {
  const lines = [
    `${s.dryRun ? "Dry run: would sync" : "Synced"} agent ${s.source.agent} (OpenClaw ${s.source.openclawVersion ?? "?"}, ${s.source.era} era) into ${s.memory}`,
    `  files: ${s.files.new} new, ${s.files.updated} updated, ${s.files.unchanged} unchanged` +
      (s.files.skippedPruned ? `, ${s.files.skippedPruned} pruned earlier and unchanged` : "") +
      (s.files.onlyLocal ? `, ${s.files.onlyLocal} kept that the cloud no longer has` : ""),
    `  bytes: ${formatBytes(s.bytes.transferred)} transferred, ${formatBytes(s.bytes.written)} ${s.dryRun ? "would be " : ""}written`,
  ];
  if (s.heldBack.lines) {
    lines.push(
      `  held back: ${s.heldBack.lines} unfinished last line(s), ${s.heldBack.bytes} bytes (they arrive complete next time)`,
    );
  }
  const skipped = Object.entries(s.skipped).map(([kind, n]) => `${n} ${kind}`);
  if (skipped.length) lines.push(`  not backed up: ${skipped.join(", ")}`);
  if (s.warnings.length) lines.push(`  warnings: ${s.warnings.length}`);
  if (!s.dryRun && !s.provenanceWritten) lines.push("  nothing changed");
  return `${lines.join("\n")}\n`;
}
