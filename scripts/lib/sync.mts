// The pull: discover → choose → transfer into staging → check → apply. Nothing is written into the memory
// folder before every check has passed; any failure leaves it exactly as it was.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { Failure, Reporter, formatBytes, plural, quoteName, writeFailure } from "./cli.mts";
import { BACKED_UP, REMOTE_EXCLUDE, classify, isConversation, remoteFilterArgs } from "./openclaw/files.mts";
import {
  VERSION_SOURCE_TEXT,
  chooseAgent,
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
  stopRemoteCalls,
  type Transport,
} from "./remote/transport.mts";
import { isCaseInsensitive, localNames, type LocalName } from "./store/names.mts";
import {
  applyStaged,
  createStaging,
  openForWriting,
  recoverBeforeReading,
  type StagedChange,
} from "./store/apply.mts";
import { faultPoint } from "./store/fault.mts";
import { leaveOutPrunedKeys } from "./store/pruned-keys.mts";
import { countLines, sha256File, trimUnfinishedLine } from "./store/content.mts";
import { uncommittedChanges } from "./store/git.mts";
import { reconcileSqliteExport } from "./openclaw/continuity.mts";
import { createRedactState, loadSecretScanner, redactJsonlChunk, type SecretScanner } from "./secrets.mts";
import { SYNCIGNORE_FILE, applySyncIgnore, loadSyncIgnore, type Exclusion } from "./store/syncignore.mts";
import { INDEX_FILE, parseIndex, type SessionIndex } from "./openclaw/sessions-index.mts";
import { FIRST_SQLITE_VERSION, compareCalendar, hasNodeSqlite } from "./openclaw/version.mts";
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
/** More changed files than this travel as one full stream (the fetch list is passed as arguments). */
const MAX_FETCH_REQUESTS = 200;

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
  /** Replace detected secrets by [REDACTED:<kind>] markers before anything reaches memory/ (default on). */
  redact?: boolean;
  /** Remove the memory folder's lock first (the run that held it is gone). */
  breakLock?: boolean;
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
  /** Secrets replaced by markers, in how many files, by kind (never the secrets themselves). */
  redactions: { total: number; files: number; kinds: Record<string, number> };
  /** What .syncignore kept out: index keys dropped, files not transferred or dropped before apply. */
  excluded: { keys: number; files: number };
  /** Files that arrived but are not backed up, by kind (each also named in `skippedFiles`). */
  skipped: Record<string, number>;
  skippedFiles: { name: string; kind: string; reason: string }[];
  /** Files backed up although OpenClaw is not known to write such a name (fail safe): named here and warned. */
  unknownFiles: string[];
  /** Files stored under an escaped name because this filesystem cannot hold the bot's (store/names.mts). */
  renamed: { name: string; remoteName: string; reason: string }[];
  warnings: string[];
  changes: FileChange[];
  provenanceWritten: boolean;
  /** Only changed files travelled (and grown transcripts as their new bytes). */
  incremental: boolean;
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
    args: [options.stateDir, ...REMOTE_EXCLUDE.map((p) => `-${p}`)],
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
  if (discovery.state === "notdir") {
    throw new Failure(
      `the state dir ${options.stateDir} on ${transport.describe()} is a file, not a folder; pass the folder that holds openclaw.json and agents/ with --state-dir (env REMOTE_STATE_DIR)`,
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

// Ctrl-C or a CI cancellation: stop the remote calls, clean up, leave memory/ as it was. During the apply (a few
// renames) the signal waits, so memory/ is never left half-written.
const interruption = { signal: undefined as NodeJS.Signals | undefined, applying: false };
function onSignal(signal: NodeJS.Signals): void {
  interruption.signal = signal;
  if (!interruption.applying) stopRemoteCalls();
}
function checkInterrupted(): void {
  if (interruption.signal)
    throw new Failure(`interrupted by ${interruption.signal}; nothing was changed`, 130);
}

export async function sync(options: SyncOptions): Promise<SyncSummary> {
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let summary: SyncSummary;
  try {
    summary = await syncOnce(options);
  } catch (error) {
    checkInterrupted();
    // A file operation that failed outside the checks above (lock, staging, apply): one sentence, no stack.
    const errno = error as NodeJS.ErrnoException;
    if (!(error instanceof Failure) && typeof errno?.code === "string" && errno.syscall) {
      throw new Failure(
        `${writeFailure(error, errno.path ? errno.path : "the memory folder")}; nothing was changed`,
      );
    }
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  // A signal during the apply waited for it: memory/ holds the whole new state; still report the signal.
  if (interruption.signal) {
    throw new Failure(
      `interrupted by ${interruption.signal} while writing ${options.memory}; the writing was finished first, so it holds this sync's complete result`,
      130,
    );
  }
  return summary;
}

async function syncOnce(options: SyncOptions): Promise<SyncSummary> {
  const started = Date.now();
  const { reporter } = options;
  const memoryDir = resolve(options.memory);
  const sessionsDir = join(memoryDir, SESSIONS_DIR);
  const memoryStat = await stat(memoryDir).catch(() => undefined);
  if (memoryStat && !memoryStat.isDirectory())
    throw new Failure(`--memory ${options.memory} is not a folder`, 2);
  if (options.agent !== undefined) checkRemoteArg(options.agent, "--agent");
  const memoryParent = resolve(memoryDir, "..");
  if (!(await stat(memoryParent).catch(() => undefined))) {
    throw new Failure(
      `the folder that should hold ${options.memory} (${memoryParent}) does not exist; create it first`,
    );
  }

  // 0. Before anything else: one run at a time, and what an interrupted run left is completed or rolled back.
  const lock = options.dryRun
    ? undefined
    : await openForWriting(memoryDir, "sync-memory", {
        breakLock: options.breakLock,
        breakCommand: `npx tsx scripts/sync-memory.mts --memory ${options.memory} --break-lock`,
      });
  for (const note of lock?.notes ?? (await recoverBeforeReading(memoryDir, "sync-memory")))
    reporter.info(note);
  try {
    return await syncLocked(options, started, memoryDir, sessionsDir);
  } finally {
    await lock?.lock.release();
  }
}

async function syncLocked(
  options: SyncOptions,
  started: number,
  memoryDir: string,
  sessionsDir: string,
): Promise<SyncSummary> {
  const { reporter } = options;

  // 1. Discovery: where, what version, which era, which agent. Nothing is transferred before this.
  const { transport, source } = await connect(options);
  transport.onRetry = (message) => reporter.info(message);
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
    `agent ${agent.id}: storage era ${era}${era === "files" ? ` (${plural(agent.transcripts, "conversation")}, ${formatBytes(agent.bytes)})` : ""}`,
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
    if (!discovery.tools.node || !hasNodeSqlite(discovery.node)) {
      throw new Failure(
        `agent ${agent.id}'s sessions are in SQLite, which is read with the bot's own Node.js (22.5 or later, for node:sqlite), but ${discovery.node ? `the bot has Node ${discovery.node}` : "the bot's machine has no node on PATH"}`,
      );
    }
    reporter.info(
      `agent ${agent.id}: exporting ${discovery.stateDir}/agents/${agent.id}/agent/openclaw-agent.sqlite with node on the bot (read-only, one transaction)`,
    );
  }
  const programArgs = [discovery.stateDir, agent.id, ...remoteFilterArgs()];
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
  if (!options.dryRun && !options.force) {
    const dirty = uncommittedChanges(memoryDir);
    if (dirty && dirty.length) {
      throw new Failure(
        `${options.memory} has uncommitted changes (${dirty.slice(0, 3).join(", ")}${dirty.length > 3 ? `, and ${dirty.length - 3} more` : ""}); commit or stash them first so every byte sync overwrites stays in git, or pass --force`,
      );
    }
  }

  // 3. Staging next to the memory folder.
  let staging: string | undefined;
  try {
    staging = await createStaging(memoryDir);
    await faultPoint("staging folder created");
    const stagingDir = staging;

    // 4. Transfer: stream mode writes the files into staging, checking every size and hash on the way.
    let attempts = 0;
    const fetch = (
      mode: "manifest" | "stream" | "fetch",
      args: string[],
      label: string,
      prefixes?: Map<string, string>,
    ) =>
      transport.call<StreamResult>({
        program,
        args: [mode, ...args],
        label,
        idleTimeoutMs: options.timeoutSeconds * 1000,
        retryOn: (error) => error instanceof StreamError && error.kind === "mismatch",
        consume: async (stdout) => {
          const dir = join(stagingDir, `attempt-${++attempts}`);
          await mkdir(dir);
          return readRemoteStream(stdout, {
            stagingDir: dir,
            prefixes,
            onProgress: (received, file) =>
              reporter.progress(`received ${formatBytes(received)}${file ? ` · ${file}` : ""}`),
          });
        },
      });

    // .syncignore: fetch the index first, so that excluded sessions are never transferred.
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
      reporter.progress("reading the index for .syncignore…");
      const onlyIndex = ["-*.jsonl", "-*.jsonl.*", "-sessions.json.bak.*", "+sessions.json"];
      const first = await fetch(
        "stream",
        [...programArgs.slice(0, 2), ...REMOTE_EXCLUDE.map((p) => `-${p}`), ...onlyIndex],
        "index transfer",
      );
      const indexFile = first.files.find((f) => f.name === INDEX_FILE);
      const index = indexFile?.path ? botIndex(await readFile(indexFile.path, "utf8")) : {};
      exclusion = applySyncIgnore(rules, index);
      // Decided here, before any content travels: the bot lists names, sizes and hashes, the matcher verify uses
      // (gitignore semantics: `!`, `/`, `**`, classes, any case) picks the excluded files, and each one goes back
      // to the bot as an exact-name exclusion, so the transfer never reads it.
      reporter.progress("listing the bot's sessions for .syncignore…");
      const listing = await fetch("manifest", programArgs, "listing for .syncignore");
      for (const file of listing.files) {
        if (file.name === INDEX_FILE || !exclusion.excludesFile(file.name)) continue;
        excludeArgs.push(`-${globEscape(file.name)}`);
      }
    }

    // Local names: the bot's own wherever this filesystem can hold them (store/names.mts), decided once per run
    // from the first full listing, so an incremental fetch lands under the same names.
    let mapping: Map<string, LocalName> | undefined;
    // (OCSYNC_TEST_CASEFOLD=1: tests on a machine that cannot mount a case-insensitive filesystem simulate one.)
    const caseInsensitive = process.env.OCSYNC_TEST_CASEFOLD === "1" || (await isCaseInsensitive(stagingDir));
    const nameLocally = (files: StreamedFile[]) => {
      if (!mapping) {
        const previous = new Map<string, string>();
        for (const [local, record] of Object.entries(provenance?.files ?? {}))
          if (record.remoteName) previous.set(local, record.remoteName);
        const current = new Set(files.map((f) => f.name));
        const reserved = Object.entries(provenance?.files ?? {})
          .filter(([local, record]) => !current.has(record.remoteName ?? local))
          .map(([local]) => local);
        mapping = localNames(files, { caseInsensitive, previous, reserved });
      }
      for (const file of files) {
        const local = mapping.get(file.remoteName ?? file.name);
        if (local && file.remoteName === undefined && (local.local !== file.name || file.rawName)) {
          file.remoteName = file.name;
          file.name = local.local;
          file.nameReason = local.reason;
        }
      }
    };

    const mode = options.dryRun ? "manifest" : "stream";
    const chosen = [...programArgs.slice(0, 2), ...excludeArgs, ...programArgs.slice(2)];
    reporter.progress(`${mode === "stream" ? "transferring" : "listing"} ${agent.id}'s sessions…`);
    let result: StreamResult;
    let incremental = false;
    if (mode === "stream" && era === "files" && provenance && Object.keys(provenance.files).length) {
      // Incremental: list sizes and hashes first, then fetch only what changed, appends as their new bytes.
      const listing = await fetch("manifest", chosen, "listing");
      nameLocally(listing.files);
      const plan = await planFetch(listing, sessionsDir, provenance);
      if (plan) {
        incremental = true;
        reporter.progress(`fetching ${plural(plan.requests.length, "changed file")}…`);
        const fetched = plan.requests.length
          ? await fetch("fetch", [...programArgs.slice(0, 2), ...plan.requests], "transfer", plan.prefixes)
          : { ...listing, mode: "fetch" as const, files: [], wireBytes: 0 };
        nameLocally(fetched.files);
        result = {
          ...fetched,
          files: [...fetched.files, ...plan.unchanged],
          skipped: [...(listing.skipped ?? []), ...(fetched.skipped ?? [])],
          wireBytes: listing.wireBytes + fetched.wireBytes,
        };
      } else {
        result = await fetch("stream", chosen, "transfer");
        nameLocally(result.files);
        result.wireBytes += listing.wireBytes;
      }
    } else {
      result = await fetch(mode, chosen, mode === "stream" ? "transfer" : "listing");
      nameLocally(result.files);
    }
    reporter.clearProgress();
    await faultPoint("transfer done");
    const continuityWarnings: string[] = [];
    // Only regular files with one link are read on the bot: a symlink or a hard link named like a transcript
    // could be a second name of openclaw.json (the channel tokens).
    const seen = new Set<string>();
    for (const entry of result.skipped ?? []) {
      if (seen.has(entry.name)) continue;
      seen.add(entry.name);
      const why =
        entry.why === "hardlink"
          ? "a hard link (a second name of a file that may live outside the sessions folder)"
          : entry.why === "symlink"
            ? "a symbolic link"
            : "not a regular file";
      continuityWarnings.push(
        `${quoteName(entry.name)} in the bot's sessions folder is ${why}: not read; only regular files with one link are backed up`,
      );
    }
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

    const excluded = { keys: exclusion?.keys.length ?? 0, files: 0 };
    if (exclusion) {
      const kept: StreamedFile[] = [];
      for (const file of result.files) {
        if (file.name !== INDEX_FILE && exclusion.excludesFile(file.remoteName ?? file.name)) {
          excluded.files++;
          if (file.path) await rm(file.path, { force: true });
        } else kept.push(file);
      }
      result = { ...result, files: kept };
      const index = result.files.find((f) => f.name === INDEX_FILE);
      if (index?.path && exclusion.keys.length) {
        // The stored index drops the excluded keys (provenance keeps the cloud's hash of the whole index).
        const full = parseIndex(await readFile(index.path, "utf8"));
        const filtered = Object.fromEntries(
          Object.entries(full).filter(([key]) => !exclusion!.keys.includes(key)),
        );
        const text = JSON.stringify(filtered, null, 2);
        await writeFile(index.path, text);
        index.stored = {
          size: Buffer.byteLength(text),
          sha256: createHash("sha256").update(text).digest("hex"),
        };
      }
      reporter.info(
        `.syncignore: left out ${plural(excluded.keys, "index key")} and ${plural(excluded.files, "file")}`,
      );
    }

    // 5. Checks and planning, all in staging.
    const scanner = options.redact === false ? undefined : await loadSecretScanner(memoryDir);
    const plan = await planChanges(result, sessionsDir, provenance, options.dryRun, scanner);
    plan.warnings.unshift(...continuityWarnings);
    const cloudConversations = result.files.filter((f) => isConversation(classify(f.name).kind)).length;
    const localCount = await localConversations(sessionsDir);
    if (cloudConversations === 0 && localCount > 0 && !options.allowEmpty) {
      throw new Failure(
        `the cloud has no transcripts for agent ${agent.id} while ${options.memory} holds ${localCount}: the instance was probably recreated or the state dir is wrong; nothing was changed (pass --allow-empty to sync anyway)`,
      );
    }

    const records = buildRecords(plan, provenance, syncSource.at);
    const prunedKeys = { ...provenance?.prunedKeys };
    for (const key of plan.revivedKeys) delete prunedKeys[key];
    const changed = plan.changes.filter((c) => c.change === "new" || c.change === "updated");
    const provenanceWritten =
      changed.length > 0 || !provenance || recordsDiffer(provenance, records, prunedKeys);
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
      redactions: plan.redactions,
      excluded,
      skipped: plan.skipped,
      skippedFiles: plan.skippedFiles,
      unknownFiles: plan.unknownFiles,
      renamed: plan.renamed,
      warnings: plan.warnings,
      changes: plan.changes,
      provenanceWritten: provenanceWritten && !options.dryRun,
      incremental,
      durationMs: 0,
    };

    // 6. Apply: conversations, then sessions.json, then the provenance file.
    if (!options.dryRun && provenanceWritten) {
      const provenancePath = join(stagingDir, PROVENANCE_FILE);
      const next: Provenance = { format: 1, lastSync: syncSource, files: records, prunedKeys };
      await writeFile(provenancePath, serializeProvenance(next), { mode: 0o644 });
      const ordered = [...plan.staged].sort(
        (a, b) => Number(a.name === INDEX_FILE) - Number(b.name === INDEX_FILE),
      );
      const steps: StagedChange[] = ordered.map((s) => ({
        target: join(SESSIONS_DIR, s.name),
        staged: s.path,
      }));
      steps.push({ target: PROVENANCE_FILE, staged: provenancePath });
      checkInterrupted();
      interruption.applying = true;
      await applyStaged(memoryDir, stagingDir, steps, { kind: "sync" });
      interruption.applying = false;
    }
    summary.durationMs = Date.now() - started;
    return summary;
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
  }
}

interface Plan {
  changes: FileChange[];
  staged: { name: string; path: string }[];
  cloud: Map<
    string,
    { file: StreamedFile; size: number; sha256: string; heldBackBytes: number; redactions: number }
  >;
  heldBack: { lines: number; bytes: number };
  redactions: { total: number; files: number; kinds: Record<string, number> };
  skipped: Record<string, number>;
  skippedFiles: { name: string; kind: string; reason: string }[];
  unknownFiles: string[];
  renamed: { name: string; remoteName: string; reason: string }[];
  warnings: string[];
  /** Keys prune had removed whose entries changed in the cloud: they are back. */
  revivedKeys: string[];
}

async function planChanges(
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
      const present = await stat(join(sessionsDir, file.name)).catch(() => undefined);
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
    // A live transcript may end in a line the bot is still writing: hold it back, it comes complete next time.
    let size = file.stored?.size ?? file.size;
    let sha256 = file.stored?.sha256 ?? file.sha256;
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
  for (const change of plan.changes) {
    if ((change.change === "new" || change.change === "updated") && plan.unknownFiles.includes(change.name)) {
      plan.warnings.push(
        `${quoteName(change.name)} is not a file name OpenClaw is known to write (docs/naming.md); backed up as is, as an unknown kind`,
      );
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
    if (cloud.file.remoteName !== undefined) {
      record.remoteName = cloud.file.remoteName;
      if (cloud.file.rawName) record.remoteNameHex = cloud.file.rawName.toString("hex");
      // A name kept from an earlier sync keeps the reason it was first given.
      const reason = old?.remoteName === cloud.file.remoteName ? old?.nameReason : undefined;
      if (reason ?? cloud.file.nameReason) record.nameReason = reason ?? cloud.file.nameReason;
    }
    if (cloud.heldBackBytes) record.heldBackBytes = cloud.heldBackBytes;
    if (cloud.redactions) record.redactions = cloud.redactions;
    records[change.name] = record;
  }
  for (const record of Object.values(records)) if (record.inCloud !== false) delete record.inCloud;
  return records;
}

function recordsDiffer(
  provenance: Provenance,
  records: Record<string, FileRecord>,
  prunedKeys: Provenance["prunedKeys"],
): boolean {
  const a = serializeProvenance({ ...provenance, files: provenance.files });
  const b = serializeProvenance({ ...provenance, files: records, prunedKeys });
  return a !== b;
}

/** The human summary printed at the end of a sync. */
/** How many changed files a text dry run names (all of them are in --json). */
const DRY_RUN_LISTED = 200;

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
  if (s.dryRun) {
    // The same list --json gives in "changes": what a real run would write.
    const changing = s.changes.filter((c) => c.change === "new" || c.change === "updated");
    for (const change of changing.slice(0, DRY_RUN_LISTED))
      lines.push(
        `  ${change.change === "new" ? "new:    " : "updated:"} ${quoteName(change.name)} (${formatBytes(change.size)})`,
      );
    if (changing.length > DRY_RUN_LISTED)
      lines.push(`  … and ${changing.length - DRY_RUN_LISTED} more (--json lists every one)`);
    lines.push(
      "  (a dry run moves only sizes and hashes: an unfinished last line a real run would hold back is not known yet)",
    );
  }
  if (s.redactions.total) {
    const kinds = Object.entries(s.redactions.kinds).map(([kind, n]) => `${n} ${kind}`);
    lines.push(
      `  redacted: ${s.redactions.total} secret(s) in ${s.redactions.files} file(s) (${kinds.join(", ")})`,
    );
  }
  if (s.excluded.keys || s.excluded.files) {
    lines.push(`  left out by .syncignore: ${s.excluded.keys} index key(s), ${s.excluded.files} file(s)`);
  }
  if (s.unknownFiles.length) {
    lines.push(
      `  backed up as unknown kind (not a name OpenClaw is known to write): ${s.unknownFiles.map(quoteName).join(", ")}`,
    );
  }
  if (s.renamed.length) {
    lines.push(
      `  stored under an escaped name (mapping in the provenance): ${s.renamed.map((r) => `${quoteName(r.remoteName)} as ${quoteName(r.name)} (${r.reason})`).join(", ")}`,
    );
  }
  if (s.skippedFiles.length) {
    lines.push(
      `  not backed up: ${s.skippedFiles.map((f) => `${quoteName(f.name)} (${f.reason})`).join(", ")}`,
    );
  }
  if (s.warnings.length) lines.push(`  warnings: ${s.warnings.length}`);
  if (!s.dryRun && !s.provenanceWritten) lines.push("  nothing changed");
  return `${lines.join("\n")}\n`;
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

/**
 * Redacts secrets in a staged file in place (streaming); returns how many, and the new size and hash. An index
 * (pretty-printed JSON) is redacted line by line too and must still parse afterwards.
 */
async function redactFile(
  path: string,
  scanner: SecretScanner,
  isJsonDocument: boolean,
): Promise<{ total: number; kinds: Record<string, number>; size: number; sha256: string }> {
  const state = createRedactState(scanner);
  const temp = `${path}.redacting`;
  const out = createWriteStream(temp, { mode: 0o600 });
  // A write error (disk full, I/O) is kept and becomes one sentence; never an unhandled 'error' event.
  let failed: unknown;
  const finished = new Promise<void>((resolve) => {
    out.once("finish", resolve);
    out.once("close", resolve);
  });
  out.on("error", (error) => (failed ??= error));
  // Tests force an I/O error here (OCSYNC_TEST_FAULT=redact-write:EIO).
  const fault = /^redact-write:(E[A-Z]+)$/.exec(process.env.OCSYNC_TEST_FAULT ?? "");
  if (fault) out.destroy(Object.assign(new Error(`${fault[1]} (injected by the test)`), { code: fault[1] }));
  const check = () => {
    if (failed !== undefined) {
      throw new Failure(`${writeFailure(failed, "the staging folder")} while redacting; nothing was changed`);
    }
  };
  const hash = createHash("sha256");
  let size = 0;
  const emit = async (bytes: Buffer) => {
    if (!bytes.length) return;
    hash.update(bytes);
    size += bytes.length;
    check();
    if (!out.write(bytes))
      await new Promise<void>((resolve) => {
        out.once("drain", resolve);
        out.once("close", resolve);
      });
  };
  try {
    for await (const chunk of createReadStream(path)) await emit(redactJsonlChunk(state, chunk as Buffer));
    await emit(redactJsonlChunk(state, null));
    out.end();
    await finished;
    check();
  } catch (error) {
    out.destroy();
    await rm(temp, { force: true });
    throw error;
  }
  if (state.redactions === 0) {
    await rm(temp, { force: true });
    return { total: 0, kinds: {}, size, sha256: "" };
  }
  if (isJsonDocument) {
    try {
      JSON.parse(await readFile(temp, "utf8"));
    } catch {
      await rm(temp, { force: true });
      throw new Failure(
        `redacting secrets in ${basename(path)} would leave invalid JSON; nothing was changed (run with --no-redact and clean it by hand)`,
      );
    }
  }
  await rename(temp, path);
  return { total: state.redactions, kinds: state.kinds, size, sha256: hash.digest("hex") };
}

/**
 * From a listing (sizes and hashes on the bot) and the provenance of the last sync, what to fetch: files the
 * backup holds exactly as recorded and the cloud has unchanged are not sent; a conversation that only grew is
 * fetched from the end of what the backup holds (the bot checks that the start is unchanged, the local side
 * checks the whole); anything else whole. Undefined when the plan cannot travel as arguments (then: full stream).
 */
async function planFetch(
  listing: StreamResult,
  sessionsDir: string,
  provenance: Provenance,
): Promise<{ requests: string[]; prefixes: Map<string, string>; unchanged: StreamedFile[] } | undefined> {
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
