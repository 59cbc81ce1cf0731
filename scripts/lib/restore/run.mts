// The restore: discover → probe → read what the bot has → plan → bundle → send (a call of its own, checked by
// sha256 on the bot) → apply (file era) or import with the bot's own doctor (SQLite era) → verify. Nothing is
// written on the bot before the plan and every guard passed; a failure leaves its state dir as it was.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Failure, Reporter, formatBytes, plural } from "../cli.mts";
import { BACKED_UP, REMOTE_EXCLUDE, REMOTE_INCLUDE, classify, isConversation } from "../openclaw/files.mts";
import { FIRST_SQLITE_VERSION, compareCalendar, hasNodeSqlite } from "../openclaw/version.mts";
import {
  IndexParseError,
  parseIndex as parseSessionIndex,
  serializeIndex,
} from "../openclaw/sessions-index.mts";
import { runProcess, shellQuote } from "../proc.mts";
import {
  VERSION_SOURCE_TEXT,
  openclawVersion,
  parseDiscovery,
  type AgentInfo,
  type Discovery,
} from "../openclaw/discovery.mts";
import { connectTransport } from "../remote/connect.mts";
import { FlyTransport } from "../remote/fly.mts";
import { SshTransport } from "../remote/ssh.mts";
import { readRemoteStream, type StreamResult } from "../remote/stream.mts";
import {
  checkRemoteArg,
  resumeRemoteCalls,
  stopRemoteCalls,
  type RemoteProgram,
  type Transport,
} from "../remote/transport.mts";
import { sha256File } from "../store/content.mts";
import { botName, readProvenance, SESSIONS_DIR, type Provenance } from "../store/provenance.mts";
import { WORKSPACE_DIR, isWorkspaceFile } from "../openclaw/workspace.mts";
import { listWorkspace, locateWorkspace } from "../remote/workspace.mts";
import {
  canonicalKey,
  planRestore,
  prefixRequests,
  type BackupFile,
  type BotFile,
  type Era,
  type FileAction,
  type Index,
  type KeyAction,
  type RestorePlan,
  planWorkspace,
  type WorkspaceAction,
  type WorkspaceFile,
  type WorkspacePlan,
} from "./plan.mts";

/** Modes OpenClaw writes: sessions.json 0600 (writeSessionStoreAtomic), transcripts and workspace files with the
 * default 0644. */
const INDEX_MODE = "600";
const TRANSCRIPT_MODE = "644";
const WORKSPACE_MODE = "644";

export interface RestoreOptions {
  transport: "fly" | "ssh" | "local";
  app?: string;
  machine?: string;
  ssh?: string;
  sshOptions?: string[];
  stateDir: string;
  agent?: string;
  memory: string;
  dryRun: boolean;
  prefer: "bot" | "backup";
  sessions?: string[];
  since?: number;
  maintenance?: "warn";
  acceptMaintenance: boolean;
  /** false with --no-workspace: the agent's memory files are left out. */
  workspace?: boolean;
  /** --workspace PATH: the agent's workspace on the bot, when openclaw.json and the defaults do not tell it. */
  workspaceDir?: string;
  timeoutSeconds: number;
  reporter: Reporter;
}

export interface RestoreSummary {
  ok: boolean;
  dryRun: boolean;
  transport: "fly" | "ssh" | "local";
  target: string;
  stateDir: string;
  agent: string;
  openclawVersion?: string;
  era: Era;
  memory: string;
  files: FileAction[];
  keys: KeyAction[];
  /** The agent's memory files (MEMORY.md, memory/*.md, …): where they go on the bot and what happens to each. */
  workspace?: {
    path?: string;
    source?: string;
    outsideStateDir?: boolean;
    files: WorkspaceAction[];
    /** Why they were left out (--no-workspace, no backup of them, a workspace that cannot be told). */
    skipped?: string;
  };
  counts: {
    add: number;
    rename: number;
    skip: number;
    keysAdded: number;
    keysRenamed: number;
    unselected: number;
  };
  bytes: number;
  /** What a real run would refuse (dry run), or the guard a real run passed with a flag. */
  blocked?: string;
  changed: boolean;
  verified?: { files: number; keys: number; lines: number };
  doctor?: { status: number; imported?: number; issues: string[] };
  proof: string;
  notes: string[];
  warnings: string[];
  durationMs: number;
}

interface Probe {
  state: "ok" | "missing";
  owner?: { uid: number; gid: number; name: string; path: string };
  user?: number;
  free?: number;
  gateway: { running: boolean; pid?: string };
  maintenance: string;
  legacy: number;
  tools: Record<string, boolean>;
  leftovers: string[];
}

function parseRecords(text: string, what: string): string[][] {
  const lines = text.split("\n");
  const start = lines.indexOf("OCSYNC-RESTORE 1");
  if (start < 0) throw new Failure(`the bot's machine did not answer the ${what} like a POSIX shell should`);
  const records = lines.slice(start + 1).map((line) => line.split("\t"));
  if (!records.some((r) => r[0] === "end"))
    throw new Failure(`the ${what} answer from the bot's machine was cut short; run restore again`);
  return records;
}

function parseProbe(text: string): Probe {
  const probe: Probe = {
    state: "ok",
    gateway: { running: false },
    maintenance: "unset",
    legacy: 0,
    tools: {},
    leftovers: [],
  };
  for (const r of parseRecords(text, "probe")) {
    if (r[0] === "state") probe.state = r[1] as Probe["state"];
    if (r[0] === "owner")
      probe.owner = { uid: Number(r[1]), gid: Number(r[2]), name: r[3] ?? "", path: r[4] ?? "" };
    if (r[0] === "user") probe.user = Number(r[1]);
    if (r[0] === "free" && /^\d+$/.test(r[1] ?? "")) probe.free = Number(r[1]) * 1024;
    if (r[0] === "gateway") probe.gateway = { running: r[1] === "running", pid: r[2] };
    if (r[0] === "maintenance") probe.maintenance = r[1] ?? "unknown";
    if (r[0] === "legacy") probe.legacy = Number(r[1]);
    if (r[0] === "tool") probe.tools[r[1]] = r[2] === "yes";
    if (r[0] === "leftover") probe.leftovers.push(r[1]);
  }
  return probe;
}

async function connect(options: RestoreOptions): Promise<Transport> {
  const { transport } = await connectTransport(options, (message) => options.reporter.info(message));
  return transport;
}

function text(transport: Transport, program: RemoteProgram, args: string[], label: string, timeout: number) {
  return transport.call({
    program,
    args,
    label,
    idleTimeoutMs: timeout * 1000,
    consume: async (stdout) => {
      const chunks: Buffer[] = [];
      for await (const chunk of stdout) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  });
}

/** The backup: every file sync keeps, with its hash and (for --since and history entries) its last activity,
 * under its name on the bot (a file the backup stores under an escaped name is mapped back through the
 * provenance's `remoteName`/`remoteNameHex`, see store/names.mts). */
async function readBackup(
  sessionsDir: string,
  provenance: Provenance | undefined,
): Promise<{ index: Index; files: BackupFile[]; escaped: number }> {
  const names = (await readdir(sessionsDir).catch(() => undefined))?.sort();
  if (!names)
    throw new Failure(`${sessionsDir} does not exist: there is no backup to restore (pass --memory)`);
  let index: Index = {};
  const files: BackupFile[] = [];
  const seen = new Set<string>();
  let escaped = 0;
  for (const local of names) {
    const record = provenance?.files[local];
    const name = botName(provenance, local);
    const rawName = record?.remoteNameHex ? Buffer.from(record.remoteNameHex, "hex") : undefined;
    const info = classify(name);
    if (!BACKED_UP.has(info.kind)) continue;
    const path = join(sessionsDir, local);
    if (info.kind === "index") {
      try {
        index = parseSessionIndex(await readFile(path, "utf8")) as Index;
      } catch (error) {
        throw new Failure(
          `${path} is not a readable session index (${(error as Error).message}); run verify`,
        );
      }
      continue;
    }
    if (seen.has(name))
      throw new Failure(
        `two files of ${sessionsDir} stand for the bot's ${JSON.stringify(name)} (${local} is one); check sync-provenance.json and run verify`,
      );
    seen.add(name);
    if (name !== local) escaped++;
    const info2 = await stat(path);
    files.push({
      name,
      ...(rawName ? { rawName } : {}),
      ...(name !== local ? { localName: local } : {}),
      path,
      size: info2.size,
      sha256: await sha256File(path),
      lastActivity: isConversation(info.kind) ? await lastActivity(path, info2.size) : undefined,
    });
  }
  return { index, files, escaped };
}

/** The backup's workspace files (<memory>/workspace/: MEMORY.md, memory/*.md, …), by their path on the bot. */
async function readBackupWorkspace(memoryDir: string): Promise<WorkspaceFile[] | undefined> {
  const dir = join(memoryDir, WORKSPACE_DIR);
  const top = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!top) return undefined;
  const paths: string[] = [];
  for (const entry of top) {
    if (entry.isFile() && isWorkspaceFile(entry.name)) paths.push(entry.name);
    if (entry.isDirectory() && entry.name === "memory")
      for (const inner of await readdir(join(dir, "memory"), { withFileTypes: true }))
        if (inner.isFile() && isWorkspaceFile(`memory/${inner.name}`)) paths.push(`memory/${inner.name}`);
  }
  const files: WorkspaceFile[] = [];
  for (const path of paths.sort()) {
    const source = join(dir, path);
    files.push({ path, source, size: (await stat(source)).size, sha256: await sha256File(source) });
  }
  return files;
}

/** The newest `timestamp` among the last lines of a transcript (read from its last 64 KiB). */
async function lastActivity(path: string, size: number): Promise<number | undefined> {
  const handle = await open(path, "r");
  try {
    const length = Math.min(size, 65536);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString("utf8").split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        const line = JSON.parse(lines[i]) as { timestamp?: unknown };
        const ms = typeof line.timestamp === "string" ? Date.parse(line.timestamp) : NaN;
        if (Number.isFinite(ms)) return ms;
      } catch {
        // a cut or partial line
      }
    }
  } finally {
    await handle.close();
  }
  return undefined;
}

/** The bot's sessions in the file-era layout: from its sessions folder, or exported from its database. */
async function readBot(
  transport: Transport,
  era: Era,
  discovery: Discovery,
  agent: AgentInfo | undefined,
  options: RestoreOptions,
  scratch: string,
  label: string,
  backupFiles?: BackupFile[],
): Promise<{
  index: Index;
  files: Map<string, BotFile>;
  sessionIds: Set<string>;
  covered?: Set<string>;
  lines?: Set<string>;
  result?: StreamResult;
}> {
  const empty = { index: {}, files: new Map<string, BotFile>(), sessionIds: new Set<string>() };
  const patterns = [...REMOTE_EXCLUDE.map((p) => `-${p}`), ...REMOTE_INCLUDE.map((p) => `+${p}`)];
  const call = (program: RemoteProgram, mode: string, extra: string[], dir?: string) =>
    transport.call<StreamResult>({
      program,
      args: [mode, discovery.stateDir, agent!.id, ...extra],
      label,
      idleTimeoutMs: options.timeoutSeconds * 1000,
      consume: async (stdout) => {
        if (dir) await mkdir(dir, { recursive: true });
        return readRemoteStream(stdout, { stagingDir: dir });
      },
    });
  if (era === "sqlite") {
    if (!agent?.hasSqlite) return empty;
    const dir = join(scratch, `export-${randomBytes(4).toString("hex")}`);
    const result = await call("export-sqlite.mjs", "stream", patterns, dir);
    const files = new Map(
      result.files.map((f) => [f.name, { name: f.name, size: f.size, sha256: f.sha256 }]),
    );
    const indexFile = result.files.find((f) => f.name === "sessions.json");
    const index = indexFile?.path ? parseIndex(await readFile(indexFile.path, "utf8")) : {};
    const sessionIds = new Set<string>();
    for (const entry of Object.values(index))
      if (entry?.sessionId) sessionIds.add(String(entry.sessionId).toLowerCase());
    for (const f of result.files) {
      const id = classify(f.name).sessionId;
      if (id) sessionIds.add(id.toLowerCase());
    }
    const lines = await exportedLines(result);
    const covered = new Set<string>();
    for (const file of backupFiles ?? []) {
      if (!isConversation(classify(file.name).kind)) continue;
      const text = (await readFile(file.path, "utf8")).split("\n").filter(Boolean);
      if (text[0]?.includes('"type":"session"')) text.shift();
      if (text.every((line) => lines.has(sha256(line)))) covered.add(file.name);
    }
    return { index, files, sessionIds, covered, lines, result };
  }
  if (!agent?.hasSessions) return empty;
  const listing = await call("pull.sh", "manifest", patterns);
  const files = new Map(listing.files.map((f) => [f.name, { name: f.name, size: f.size, sha256: f.sha256 }]));
  let index: Index = {};
  if (files.has("sessions.json")) {
    const dir = join(scratch, `index-${randomBytes(4).toString("hex")}`);
    const only = await call(
      "pull.sh",
      "stream",
      ["-*.jsonl", "-*.jsonl.*", "-sessions.json.bak.*", ...patterns],
      dir,
    );
    const indexFile = only.files.find((f) => f.name === "sessions.json");
    if (indexFile?.path) {
      index = parseIndex(await readFile(indexFile.path, "utf8"));
      files.set("sessions.json", { name: "sessions.json", size: indexFile.size, sha256: indexFile.sha256 });
    }
  }
  return { index, files, sessionIds: new Set() };
}

function parseIndex(text: string): Index {
  try {
    return parseSessionIndex(text) as Index;
  } catch (error) {
    if (!(error instanceof IndexParseError)) throw error;
    throw new Failure(
      `the bot's sessions.json is not a session index (${error.message}); fix it on the bot before restoring`,
    );
  }
}

/** The bytes a file is sent as: unchanged, or with the `id` of its `session` header line set to a new id. */
async function contentOf(path: string, headerId?: string): Promise<Buffer> {
  const bytes = await readFile(path);
  if (!headerId) return bytes;
  const end = bytes.indexOf(10);
  const first = bytes.subarray(0, end < 0 ? bytes.length : end).toString("utf8");
  try {
    const header = JSON.parse(first) as Record<string, unknown>;
    if (header?.type !== "session") return bytes;
    header.id = headerId;
    return Buffer.concat([
      Buffer.from(JSON.stringify(header)),
      end < 0 ? Buffer.alloc(0) : bytes.subarray(end),
    ]);
  } catch {
    return bytes;
  }
}

const sha256 = (bytes: Buffer | string) => createHash("sha256").update(bytes).digest("hex");

async function runTar(args: string[]): Promise<void> {
  const result = await runProcess(["tar", ...args], { timeoutMs: 600_000 });
  if (result.missing)
    throw new Failure("tar is not installed on this machine; restore builds its bundle with it");
  if (result.code !== 0) throw new Failure(`tar failed building the bundle: ${result.stderr.trim()}`);
}

/** The bundle: MANIFEST and every file to send under a sequence number; MANIFEST names each file's destination
 * (`s` sessions/, `w` the workspace, `d` the workspace in place of the bot's copy) and its name as hex bytes, so
 * any name the bot's filesystem allows travels exactly (restore.sh reads it). */
async function buildBundle(
  plan: RestorePlan,
  workspace: WorkspacePlan | undefined,
  scratch: string,
): Promise<{
  path: string;
  sha256: string;
  size: number;
  sent: Map<string, { sha256: string; bytes: Buffer }>;
  workspaceSent: Map<string, { sha256: string; displaced?: { to: string; sha256: string } }>;
}> {
  const dir = join(scratch, "bundle");
  await mkdir(dir);
  const manifest: string[] = [];
  const entries: string[] = [];
  const sent = new Map<string, { sha256: string; bytes: Buffer }>();
  const workspaceSent = new Map<string, { sha256: string; displaced?: { to: string; sha256: string } }>();
  const hex = (name: string | Buffer) => Buffer.from(name).toString("hex");
  const add = async (bytes: Buffer, mode: string, where: string, name: string | Buffer, extra = "") => {
    const seq = String(entries.length + 1);
    await writeFile(join(dir, seq), bytes, { flag: "wx" });
    entries.push(seq);
    const sum = sha256(bytes);
    manifest.push(`${sum} ${mode} ${where} ${seq} ${hex(name)}${extra}`);
    return sum;
  };
  for (const item of plan.send) {
    const bytes = await contentOf(item.source.path, item.headerId);
    const name = item.target === item.source.name && item.source.rawName ? item.source.rawName : item.target;
    sent.set(item.target, { sha256: await add(bytes, TRANSCRIPT_MODE, "s", name), bytes });
  }
  if (plan.index) await add(Buffer.from(serializeIndex(plan.index)), INDEX_MODE, "s", "sessions.json");
  for (const item of workspace?.send ?? []) {
    const bytes = await readFile(item.source.source);
    const extra = item.displace ? ` ${hex(item.displace.to)} ${item.displace.sha256}` : "";
    const sum = await add(bytes, WORKSPACE_MODE, item.displace ? "d" : "w", item.target, extra);
    workspaceSent.set(item.target, { sha256: sum, displaced: item.displace });
  }
  await writeFile(join(dir, "MANIFEST"), `${manifest.join("\n")}\n`);
  const path = join(scratch, "bundle.tar");
  await runTar(["-cf", path, "-C", dir, "MANIFEST", ...entries]);
  return { path, sha256: await sha256File(path), size: (await stat(path)).size, sent, workspaceSent };
}

/** Where a user runs a command on the bot, for messages. */
function onBot(options: RestoreOptions, transport: Transport, command: string, user?: string): string {
  if (transport instanceof FlyTransport)
    return `fly ssh console -a ${options.app} --machine ${transport.machine.id}${user ? ` --user ${user}` : ""} -C ${shellQuote(`sh -c ${shellQuote(command)}`)}`;
  if (transport instanceof SshTransport) return `ssh ${options.ssh} ${shellQuote(command)}`;
  return command;
}

function gatewayStopAdvice(options: RestoreOptions, transport: Transport, pid?: string): string {
  const running = `the OpenClaw gateway${pid ? ` (pid ${pid})` : ""} is running on ${transport.describe()}, and a SQLite-era bot can only take a restore while it is stopped (OpenClaw's importer needs the database to itself); nothing was changed.`;
  if (transport instanceof FlyTransport) {
    const id = transport.machine.id;
    return `${running} Keep the machine up without the gateway: 'fly machine update ${id} -a ${options.app} --command "sleep inf" --yes', run restore again, then start the gateway with 'fly deploy' (or 'fly machine update ${id} -a ${options.app} --command "<your usual command>" --yes')`;
  }
  return `${running} Stop it ('openclaw gateway stop', or 'systemctl --user stop openclaw-gateway', or stop its container), run restore again, then start it ('openclaw gateway start')`;
}

// Ctrl-C or a cancelled job: before the apply, stop the remote calls, remove the staging folder on the bot and
// leave it as it was; during the apply or OpenClaw's import (a step the bot finishes on its own, or undoes when
// the connection drops before its commit point), wait for its answer so the user learns what the bot now holds.
const interruption = {
  signal: undefined as NodeJS.Signals | undefined,
  phase: "read" as "read" | "send" | "apply",
};
const applying = () => interruption.phase === "apply";
function onSignal(signal: NodeJS.Signals): void {
  interruption.signal ??= signal;
  if (!applying()) stopRemoteCalls();
}
function checkInterrupted(where: string): void {
  if (interruption.signal)
    throw new Failure(`interrupted by ${interruption.signal} ${where}; nothing was changed on the bot`, 130);
}

export async function restore(options: RestoreOptions): Promise<RestoreSummary> {
  interruption.signal = undefined;
  interruption.phase = "read";
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let summary: RestoreSummary;
  try {
    summary = await restoreOnce(options);
  } catch (error) {
    if (error instanceof Failure && error.code === 130) throw error;
    if (!applying()) checkInterrupted("before anything was applied");
    else if (interruption.signal)
      throw new Failure(
        `interrupted by ${interruption.signal}; the step running on the bot was finished first and then failed: ${error instanceof Error ? error.message : String(error)}`,
        130,
      );
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (interruption.signal)
    throw new Failure(
      `interrupted by ${interruption.signal} while the bot applied the restore; that step was finished first, so the bot holds this restore's complete result${summary.verified ? " (checked)" : ""}; run restore again to see it (it changes nothing)`,
      130,
    );
  return summary;
}

async function restoreOnce(options: RestoreOptions): Promise<RestoreSummary> {
  const started = Date.now();
  const { reporter } = options;
  const stateDir = checkRemoteArg(options.stateDir, "--state-dir");
  const memoryDir = resolve(options.memory);
  const provenance = await readProvenance(memoryDir).catch(() => undefined);
  const agentId = checkRemoteArg(options.agent ?? provenance?.lastSync.agent ?? "main", "--agent");
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(agentId))
    throw new Failure(`--agent ${JSON.stringify(agentId)} is not a valid agent id`, 2);
  const backup = await readBackup(join(memoryDir, SESSIONS_DIR), provenance);
  const backupWorkspace = options.workspace === false ? undefined : await readBackupWorkspace(memoryDir);
  reporter.info(
    `backup ${join(options.memory, SESSIONS_DIR)}: ${plural(Object.keys(backup.index).length, "index key")}, ${plural(backup.files.length, "file")}${backup.escaped ? ` (${backup.escaped} stored under an escaped name, restored under the bot's own)` : ""}${backupWorkspace ? `; ${plural(backupWorkspace.length, "workspace file")}` : ""}${provenance ? ` (agent ${provenance.lastSync.agent}, synced ${provenance.lastSync.at})` : ""}`,
  );

  // 1. Discovery, as sync does it: where, what version, which era, which agent, what the bot already has.
  const transport = await connect(options);
  const discovery = parseDiscovery(
    await text(transport, "discover.sh", [stateDir], "discovery", options.timeoutSeconds),
  );
  if (discovery.state !== "ok") {
    throw new Failure(
      `the state dir ${stateDir} ${discovery.state === "missing" ? "does not exist" : "cannot be read"} on ${transport.describe()}; start OpenClaw once so it creates it, or pass --state-dir (env REMOTE_STATE_DIR)`,
    );
  }
  const { version, source: versionSource } = openclawVersion(discovery);
  reporter.info(
    `OpenClaw ${version ?? "version unknown"}${versionSource ? ` (from ${VERSION_SOURCE_TEXT[versionSource]})` : ""} on ${transport.describe()}`,
  );
  const agent = discovery.agents.find((a) => a.id === agentId);
  let era: Era;
  if (agent?.hasSqlite) era = "sqlite";
  else if (version) era = compareCalendar(version, FIRST_SQLITE_VERSION) >= 0 ? "sqlite" : "files";
  else
    throw new Failure(
      `cannot tell which OpenClaw version runs on ${transport.describe()} (no openclaw command, /app/package.json or openclaw.json), so not how it stores sessions; start OpenClaw once, then run restore again`,
    );
  reporter.info(
    `agent ${agentId}: ${agent ? (agent.hasSqlite ? "sessions in SQLite" : agent.hasSessions ? `${plural(agent.transcripts, "transcript")} (${formatBytes(agent.bytes)})` : "no sessions yet") : "not on the bot yet"}; storage era ${era}`,
  );
  if (era === "sqlite") {
    if (!discovery.tools.node || !hasNodeSqlite(discovery.node))
      throw new Failure(
        `agent ${agentId}'s sessions are in SQLite, which restore reads and checks with the bot's own Node.js (22.5 or later), but ${discovery.node ? `the bot has Node ${discovery.node}` : "the bot's machine has no node on PATH"}`,
      );
  }
  const probe = parseProbe(
    await text(transport, "restore.sh", ["probe", stateDir, agentId], "probe", options.timeoutSeconds),
  );
  for (const tool of ["tar", "sha256sum"])
    if (!probe.tools[tool])
      throw new Failure(
        `the bot's machine has no ${tool}, which restore needs to unpack and check the bundle`,
      );
  if (probe.owner)
    reporter.info(
      `files will be owned by ${probe.owner.name || probe.owner.uid} (${probe.owner.uid}:${probe.owner.gid}, the owner of ${probe.owner.path})`,
    );

  const scratch = await mkdtemp(join(tmpdir(), "ocsync-restore-"));
  try {
    const bot = await readBot(transport, era, discovery, agent, options, scratch, "listing", backup.files);
    reporter.info(
      `the bot has ${plural(Object.keys(bot.index).length, "index key")} and ${plural(bot.files.size, "file")} for agent ${agentId}`,
    );
    let prefixes: Map<string, string> | undefined;
    if (era === "files") {
      const requests = prefixRequests(backup.files, bot.files);
      prefixes = new Map();
      if (requests.length) {
        const answer = await text(
          transport,
          "restore.sh",
          ["prefix", stateDir, agentId, ...requests],
          "comparison",
          options.timeoutSeconds,
        );
        for (const r of parseRecords(answer, "comparison")) if (r[0] === "prefix") prefixes.set(r[3], r[1]);
      }
    }
    const workspace = await readBotWorkspace(transport, stateDir, agentId, era, options, backupWorkspace);
    const plan = planRestore({
      era,
      agent: agentId,
      prefer: options.prefer,
      backup,
      bot: { index: bot.index, files: bot.files, prefixes, sessionIds: bot.sessionIds, covered: bot.covered },
      select: { sessions: options.sessions, since: options.since },
    });
    const summary: RestoreSummary = {
      ok: true,
      dryRun: options.dryRun,
      transport: transport.kind,
      target: transport.describe(),
      stateDir,
      agent: agentId,
      openclawVersion: version,
      era,
      memory: memoryDir,
      files: plan.files,
      keys: plan.keys,
      workspace: workspace.summary,
      counts: {
        add: plan.files.filter((f) => f.action === "add").length,
        rename: plan.files.filter((f) => f.action === "rename").length,
        skip: plan.files.filter((f) => f.action === "skip").length,
        keysAdded: plan.keys.filter((k) => k.action === "add").length,
        keysRenamed: plan.keys.filter((k) => k.action === "rename" || k.action === "displace").length,
        unselected: plan.unselected,
      },
      bytes: plan.send.reduce((sum, s) => sum + s.source.size, 0),
      changed: false,
      proof: onBot(
        options,
        transport,
        `OPENCLAW_STATE_DIR=${shellQuote(stateDir)} openclaw sessions --json --limit all --agent ${agentId}`,
        probe.owner?.name && probe.owner.name !== "UNKNOWN" ? probe.owner.name : undefined,
      ),
      notes: [],
      warnings: [],
      durationMs: 0,
    };
    const sessionsWork = plan.send.length > 0 || plan.index !== undefined;
    const nothing = !sessionsWork && !workspace.plan?.send.length;
    if (workspace.summary.outsideStateDir && workspace.summary.path)
      summary.warnings.push(
        `the agent's workspace ${workspace.summary.path} (${workspace.summary.source}) is outside the state dir ${stateDir}: on Fly it is not on the volume and is lost when the machine is replaced; set agents.defaults.workspace in openclaw.json to a folder on the volume (e.g. ${stateDir.replace(/\/+$/, "")}/workspace) and restore again`,
      );

    // 2. Guards, in the order a user meets them. A dry run reports what a real run would refuse.
    const refuse = (message: string) => {
      if (options.dryRun) {
        summary.blocked = message;
        return;
      }
      throw new Failure(message);
    };
    if (sessionsWork && era === "files") {
      const mode = probe.maintenance === "unset" ? "enforce" : probe.maintenance;
      if (mode !== "warn") {
        const what =
          probe.maintenance === "unset"
            ? "is not set, so it is enforce (OpenClaw's default)"
            : `is ${JSON.stringify(mode)}`;
        if (options.maintenance === "warn")
          summary.notes.push(
            `set session.maintenance.mode to "warn" in ${stateDir}/openclaw.json (it ${what}), so the bot keeps the restored sessions`,
          );
        else if (options.acceptMaintenance)
          summary.warnings.push(
            `session.maintenance.mode ${what}: the bot's next write may prune restored sessions older than its limit and delete old archives (--accept-maintenance)`,
          );
        else
          refuse(
            `session.maintenance.mode in ${stateDir}/openclaw.json ${what}: the bot's next write would prune old restored sessions and delete old archives; nothing was changed. Pass --maintenance warn (restore sets it) or --accept-maintenance`,
          );
      }
    }
    if (sessionsWork && era === "sqlite") {
      if (probe.gateway.running) refuse(gatewayStopAdvice(options, transport, probe.gateway.pid));
      else if (probe.legacy > 0)
        refuse(
          `${stateDir}/agents/${agentId}/sessions holds ${plural(probe.legacy, "file")} waiting for OpenClaw's own import; run 'openclaw doctor --fix' on the bot first, then restore again; nothing was changed`,
        );
    }
    const openclawCmd = probe.tools.openclaw
      ? ["openclaw"]
      : discovery.versions.app
        ? ["node", "/app/openclaw.mjs"]
        : undefined;
    if (sessionsWork && era === "sqlite" && !openclawCmd)
      refuse(
        `the bot's machine has no openclaw command (nor /app/openclaw.mjs) to import the sessions with; nothing was changed`,
      );

    if (options.dryRun || nothing) {
      if (nothing)
        summary.notes.push("nothing to restore: the bot already has everything chosen from the backup");
      summary.durationMs = Date.now() - started;
      return summary;
    }

    // 3. The bundle, and room for it on the bot's volume.
    const bundle = await buildBundle(plan, workspace.plan, scratch);
    const unpacked = [...bundle.sent.values()].reduce((sum, s) => sum + s.bytes.length, 0);
    const needed = bundle.size + unpacked * (era === "sqlite" ? 4 : 2) + 1024 * 1024;
    if (probe.free !== undefined && probe.free < needed)
      throw new Failure(
        `the bot's volume has ${formatBytes(probe.free)} free and restoring needs about ${formatBytes(needed)} (the bundle, its unpacked copy${era === "sqlite" ? ", the database's growth" : ""} and the restored files); make room${transport instanceof FlyTransport ? " or extend the volume ('fly volumes extend ID -s SIZE')" : ""} and run restore again; nothing was changed`,
      );
    for (const leftover of probe.leftovers) {
      await text(
        transport,
        "restore.sh",
        ["cleanup", stateDir, agentId, leftover],
        "clean-up",
        options.timeoutSeconds,
      );
      summary.notes.push(`removed ${leftover}, left by an earlier restore that failed`);
    }

    // 4. Send: a call of its own that only stores stdin; then the hash is checked on the bot before anything else.
    const staging = `${stateDir.replace(/\/+$/, "")}/.ocsync-restore-${randomBytes(6).toString("hex")}`;
    const cleanup = () =>
      text(
        transport,
        "restore.sh",
        ["cleanup", stateDir, agentId, staging],
        "clean-up",
        options.timeoutSeconds,
      ).catch(() => reporter.warn(`could not remove ${staging} on the bot; the next restore removes it`));
    reporter.progress(`sending ${formatBytes(bundle.size)}…`);
    checkInterrupted("before the transfer");
    interruption.phase = "send";
    try {
      await transport.receive({
        path: `${staging}/bundle.tar`,
        data: () => createReadStream(bundle.path),
        label: "transfer of the bundle",
        idleTimeoutMs: options.timeoutSeconds * 1000,
      });
    } catch (error) {
      if (interruption.signal) {
        resumeRemoteCalls();
        await cleanup();
        checkInterrupted("during the transfer (the staging folder on the bot was removed)");
      }
      await cleanup();
      if (error instanceof Failure)
        throw new Failure(
          `${error.message.replace(/; nothing was changed.*$/, "").replace(/, run sync again$/, "")}; nothing was changed on the bot`,
        );
      throw error;
    }
    reporter.clearProgress();
    if (interruption.signal) {
      resumeRemoteCalls();
      await cleanup();
      checkInterrupted("after the transfer (the staging folder on the bot was removed)");
    }
    // From here the bot applies: a signal waits for its answer.
    interruption.phase = "apply";
    if (options.maintenance === "warn" && era === "files" && sessionsWork && probe.maintenance !== "warn")
      await text(
        transport,
        "restore.sh",
        ["maintenance-warn", stateDir, agentId],
        "configuration change",
        options.timeoutSeconds,
      ).catch(async (error) => {
        await cleanup();
        throw error;
      });

    // 5. Apply (file era) or import (SQLite era). The remote program removes the staging folder either way.
    const wsArg = workspace.plan?.send.length && workspace.summary.path ? workspace.summary.path : "-";
    if (era === "files" || !sessionsWork) {
      const indexSha = !plan.index ? "skip" : (bot.files.get("sessions.json")?.sha256 ?? "-");
      await text(
        transport,
        "restore.sh",
        ["apply", stateDir, agentId, staging, bundle.sha256, indexSha, wsArg],
        "apply",
        options.timeoutSeconds,
      );
      summary.changed = true;
      if (sessionsWork)
        summary.verified = await verifyFiles(
          transport,
          discovery,
          agentId,
          options,
          scratch,
          plan,
          bundle.sent,
        );
    } else {
      reporter.info(
        `running OpenClaw's import on the bot (${openclawCmd!.join(" ")} doctor --fix --yes --non-interactive)`,
      );
      const answer = await text(
        transport,
        "restore.sh",
        ["import", stateDir, agentId, staging, bundle.sha256, wsArg, ...openclawCmd!],
        "import",
        options.timeoutSeconds,
      );
      const records = parseRecords(answer, "import");
      const log = records.filter((r) => r[0] === "doctor").map((r) => r.slice(1).join(" "));
      const status = Number(records.find((r) => r[0] === "doctor-status")?.[1] ?? 1);
      const left = records.find((r) => r[0] === "left")?.[1]?.trim();
      const issues = doctorIssues(log.join("\n"));
      const events = /Transcript events:\s*imported=(\d+)/.exec(log.join("\n"));
      summary.doctor = { status, imported: events ? Number(events[1]) : undefined, issues };
      if (records.find((r) => r[0] === "end")?.[1] !== "0") {
        // A partial import: say what the database holds now, from a fresh export, and what to do.
        const imported = await importedSoFar(
          transport,
          discovery,
          agent,
          agentId,
          options,
          scratch,
          plan,
          bundle.sent,
        );
        const what = imported
          ? imported.done.length
            ? `the database now holds ${imported.done.length} of the ${plan.send.length} restored transcripts (${imported.done.join(", ")})${imported.missing.length ? ` but not ${imported.missing.join(", ")}` : ""}`
            : "the database holds none of the restored transcripts"
          : "what it imported could not be read back";
        const workspaceNote = bundle.workspaceSent.size ? "; the workspace files were not restored" : "";
        throw new Failure(
          status !== 0
            ? `OpenClaw's import ('doctor --fix') failed on the bot (exit ${status}: ${lastMeaningful(log)}): ${what}; the files it did not take were removed from sessions/ again so the gateway can start${workspaceNote}. Fix what 'openclaw doctor' reports on the bot, then run restore again: it adds only what is missing`
            : `OpenClaw's import left ${left} in sessions/ (not imported${issues.length ? `: ${issues.join("; ")}` : ""}): ${what}; they were taken out again so the gateway can start${workspaceNote}. Fix what 'openclaw doctor' reports on the bot, then run restore again: it adds only what is missing`,
          1,
          log.slice(-15).join("\n"),
        );
      }
      summary.changed = true;
      for (const issue of issues) summary.warnings.push(`doctor: ${issue}`);
      const after = await readDatabaseAfterImport(transport, discovery, agent, agentId, options, scratch);
      summary.verified = await verifyExport(after, plan, bundle.sent, agentId);
    }
    if (bundle.workspaceSent.size) {
      const count = await verifyWorkspace(transport, stateDir, agentId, options, wsArg, bundle.workspaceSent);
      summary.verified = { ...(summary.verified ?? { files: 0, keys: 0, lines: 0 }) };
      summary.verified.files += count;
    }
    summary.durationMs = Date.now() - started;
    return summary;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The agent's workspace on the bot: where it is (openclaw.json, the version's default, or --workspace), which
 * memory files it has, and what the backup's would do there. */
async function readBotWorkspace(
  transport: Transport,
  stateDir: string,
  agentId: string,
  era: Era,
  options: RestoreOptions,
  backup: WorkspaceFile[] | undefined,
): Promise<{ summary: NonNullable<RestoreSummary["workspace"]>; plan?: WorkspacePlan }> {
  if (options.workspace === false) return { summary: { files: [], skipped: "--no-workspace" } };
  if (!backup)
    return {
      summary: {
        files: [],
        skipped: `the backup has no ${WORKSPACE_DIR}/ folder (it was taken before sync kept the agent's memory files)`,
      },
    };
  const location = await locateWorkspace(transport, {
    stateDir,
    agentId,
    era,
    override: options.workspaceDir,
    timeoutSeconds: options.timeoutSeconds,
    command: "restore",
  });
  if ("error" in location)
    throw new Failure(
      `${location.error}, or --no-workspace to restore the sessions only; nothing was changed`,
      2,
    );
  const summary = { path: location.path, source: location.source, outsideStateDir: location.outsideStateDir };
  if (!backup.length)
    return { summary: { ...summary, files: [], skipped: `no files in the backup's ${WORKSPACE_DIR}/` } };
  const listing = await listWorkspace(transport, {
    stateDir,
    agentId,
    path: location.path,
    timeoutSeconds: options.timeoutSeconds,
  });
  const there = new Map(listing.files.map((f) => [f.name, { name: f.name, size: f.size, sha256: f.sha256 }]));
  for (const skipped of listing.skipped ?? [])
    there.set(skipped.name, { name: skipped.name, size: -1, sha256: `(${skipped.why})` });
  const plan = planWorkspace(backup, there, options.prefer);
  return { summary: { ...summary, files: plan.files }, plan };
}

/** Every workspace file sent is on the bot with the bytes sent; a displaced one kept the bot's bytes. */
async function verifyWorkspace(
  transport: Transport,
  stateDir: string,
  agentId: string,
  options: RestoreOptions,
  workspace: string,
  sent: Map<string, { sha256: string; displaced?: { to: string; sha256: string } }>,
): Promise<number> {
  const listing = await listWorkspace(transport, {
    stateDir,
    agentId,
    path: workspace,
    label: "check",
    timeoutSeconds: options.timeoutSeconds,
  });
  const there = new Map(listing.files.map((f) => [f.name, f.sha256]));
  for (const [name, { sha256: expected, displaced }] of sent) {
    if (there.get(name) !== expected || (displaced && there.get(displaced.to) !== displaced.sha256))
      throw new Failure(
        `after the restore, ${workspace}/${name} on the bot is not what was sent; check the workspace on the bot`,
      );
  }
  return sent.size;
}

/** After a failed import: which of the sent transcripts the database holds every line of (undefined: unknown). */
async function importedSoFar(
  transport: Transport,
  discovery: Discovery,
  agent: AgentInfo | undefined,
  agentId: string,
  options: RestoreOptions,
  scratch: string,
  plan: RestorePlan,
  sent: Map<string, { sha256: string; bytes: Buffer }>,
): Promise<{ done: string[]; missing: string[] } | undefined> {
  try {
    const after = await readDatabaseAfterImport(transport, discovery, agent, agentId, options, scratch);
    const done: string[] = [];
    const missing: string[] = [];
    for (const item of plan.send) {
      const lines = sent.get(item.target)!.bytes.toString("utf8").split("\n").filter(Boolean);
      if (item.headerId) lines.shift();
      (lines.every((line) => after.lines!.has(sha256(line))) ? done : missing).push(item.source.name);
    }
    return { done, missing };
  } catch {
    return undefined;
  }
}

/** What the bot's database holds after OpenClaw's import (the exporter, read as the "check"). */
function readDatabaseAfterImport(
  transport: Transport,
  discovery: Discovery,
  agent: AgentInfo | undefined,
  agentId: string,
  options: RestoreOptions,
  scratch: string,
): ReturnType<typeof readBot> {
  return readBot(
    transport,
    "sqlite",
    { ...discovery },
    { ...(agent ?? emptyAgent(agentId)), hasSqlite: true },
    options,
    scratch,
    "check",
  );
}

function emptyAgent(id: string): AgentInfo {
  return { id, hasSessions: true, hasSqlite: true, transcripts: 0, bytes: 0 };
}

function doctorIssues(log: string): string[] {
  const issues: string[] = [];
  for (const match of log.matchAll(
    /\[(historical_transcript_deferred|transcript_malformed|[a-z_]+_(?:failed|conflict|error))\][\s│]*([^\n]*)/g,
  ))
    issues.push(`${match[1]} ${match[2].replace(/[│\s]+$/, "").trim()}`);
  return issues;
}

function lastMeaningful(lines: string[]): string {
  const meaningful = lines.map((l) => l.replace(/[│◇┌└◆]/g, "").trim()).filter(Boolean);
  return meaningful.at(-1) ?? "no output";
}

/** File era: every sent file is on the bot with the bytes sent, and every planned key is in its index. */
async function verifyFiles(
  transport: Transport,
  discovery: Discovery,
  agentId: string,
  options: RestoreOptions,
  scratch: string,
  plan: RestorePlan,
  sent: Map<string, { sha256: string; bytes: Buffer }>,
): Promise<{ files: number; keys: number; lines: number }> {
  const after = await readBot(
    transport,
    "files",
    discovery,
    { ...emptyAgent(agentId), hasSqlite: false },
    options,
    scratch,
    "check",
  );
  let lines = 0;
  for (const [name, { sha256: expected, bytes }] of sent) {
    const there = after.files.get(name);
    if (!there || there.sha256 !== expected)
      throw new Failure(
        `after the restore, ${name} on the bot is ${there ? "not the bytes sent" : "missing"}; check the bot's sessions folder`,
      );
    lines += countNewlines(bytes);
  }
  const keys = checkKeys(after.index, plan, agentId);
  return { files: sent.size, keys, lines };
}

function checkKeys(index: Index, plan: RestorePlan, agent: string): number {
  const canon = (key: string) => (plan.era === "sqlite" ? canonicalKey(agent, key) : key.toLowerCase());
  const present = new Map(Object.entries(index).map(([k, e]) => [canon(k), e]));
  let count = 0;
  for (const key of plan.keys) {
    if (key.action === "skip") continue;
    const written = canon(key.action === "rename" ? key.target! : key.key);
    const entry = present.get(written);
    if (!entry || String(entry.sessionId).toLowerCase() !== String(key.sessionId).toLowerCase())
      throw new Failure(
        `after the restore, the bot's index has no entry ${written} for session ${key.sessionId}; check it with 'openclaw sessions --json'`,
      );
    count++;
  }
  return count;
}

function countNewlines(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

/** Hashes of every line of every conversation an export holds. */
async function exportedLines(result: StreamResult): Promise<Set<string>> {
  const lines = new Set<string>();
  for (const file of result.files) {
    if (!file.path || !isConversation(classify(file.name).kind)) continue;
    for (const line of (await readFile(file.path, "utf8")).split("\n")) if (line) lines.add(sha256(line));
  }
  return lines;
}

async function verifyExport(
  after: Awaited<ReturnType<typeof readBot>>,
  plan: RestorePlan,
  sent: Map<string, { sha256: string; bytes: Buffer }>,
  agentId: string,
): Promise<{ files: number; keys: number; lines: number }> {
  {
    const present = after.lines!;
    let lines = 0;
    for (const item of plan.send) {
      const text = sent.get(item.target)!.bytes.toString("utf8").split("\n");
      if (item.headerId) text.shift();
      for (const line of text) {
        if (!line) continue;
        if (!present.has(sha256(line)))
          throw new Failure(
            `after OpenClaw's import, a line of ${item.source.name} is not in the bot's database; check it with 'openclaw doctor --session-sqlite inspect'`,
          );
        lines++;
      }
    }
    const keys = checkKeys(after.index, plan, agentId);
    return { files: plan.send.length, keys, lines };
  }
}

/** The human summary: every decision with its reason, then the command that proves the result. */
export function formatSummary(s: RestoreSummary): string {
  const out: string[] = [];
  const verb = s.dryRun ? "Dry run: would restore" : s.changed ? "Restored" : "Nothing restored";
  out.push(
    `${verb} into agent ${s.agent} on ${s.target} (OpenClaw ${s.openclawVersion ?? "?"}, ${s.era} era), state dir ${s.stateDir}`,
  );
  const files = s.files.filter((f) => f.action !== "skip");
  out.push(
    `  files: ${s.counts.add} ${s.dryRun ? "to add" : "added"}, ${s.counts.rename} ${s.era === "sqlite" ? "under their own session id" : "beside the bot's own copy"}, ${s.counts.skip} skipped (${formatBytes(s.bytes)})` +
      (s.counts.unselected ? `; ${s.counts.unselected} not chosen by --sessions/--since` : ""),
  );
  for (const f of files)
    out.push(
      `    ${f.action === "add" ? "+" : "~"} ${f.name}${f.target && f.target !== f.name ? ` → ${f.target}` : ""}  (${f.reason})`,
    );
  for (const f of s.files.filter((f) => f.action === "skip")) out.push(`    = ${f.name}  (${f.reason})`);
  out.push(
    `  index keys: ${s.counts.keysAdded} added, ${s.counts.keysRenamed} renamed, ${s.keys.filter((k) => k.action === "skip").length} skipped`,
  );
  for (const k of s.keys)
    out.push(
      `    ${k.action === "add" ? "+" : k.action === "skip" ? "=" : "~"} ${k.key}${k.target ? ` → ${k.target}` : ""}  (${k.reason})`,
    );
  if (s.workspace) {
    const w = s.workspace;
    if (w.skipped) out.push(`  workspace: not restored (${w.skipped})`);
    else {
      const n = (action: string) => w.files.filter((f) => f.action === action).length;
      out.push(
        `  workspace ${w.path} (${w.source}): ${n("add")} ${s.dryRun ? "to add" : "added"}, ${n("beside")} beside the bot's own, ${n("displace")} in place of the bot's own (moved aside), ${n("skip")} skipped`,
      );
      for (const f of w.files)
        out.push(
          `    ${f.action === "add" ? "+" : f.action === "skip" ? "=" : "~"} ${f.path}${f.action === "beside" ? ` → ${f.target}` : ""}  (${f.reason})`,
        );
    }
  }
  for (const note of s.notes) out.push(`  ${note}`);
  if (s.blocked) out.push(`  a real run would refuse: ${s.blocked}`);
  if (s.doctor)
    out.push(
      `  OpenClaw's import: exit ${s.doctor.status}${s.doctor.imported !== undefined ? `, ${s.doctor.imported} transcript events imported` : ""}`,
    );
  if (s.verified)
    out.push(
      `  checked on the bot: ${plural(s.verified.files, "file")}, ${plural(s.verified.keys, "index key")}, ${plural(s.verified.lines, "line")} — all there`,
    );
  if (s.warnings.length) out.push(`  warnings: ${s.warnings.length}`);
  out.push(`  see for yourself: ${s.proof}`);
  return `${out.join("\n")}\n`;
}
