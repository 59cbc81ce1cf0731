// Builds a state dir that a local OpenClaw gateway can use to browse the synced history, without ever
// touching memory/ (README: "Browse your bot's history locally"). The steps, each in its own module:
//   * local-state/plan.mts: OUT/agents/<agent>/sessions/ gets COPIES of the history (a gateway appends, rewrites
//     and prunes what it reads), sessions.json with every sessionFile rewritten to a bare file name, and one
//     index entry for every synced conversation the cloud's index no longer names.
//   * local-state/config.mts: OUT/openclaw.json, the user's config with what a browsing gateway needs.
//   * local-state/openclaw-cli.mts: the local OpenClaw's version decides the rest: a SQLite-era build (2026.7.2
//     and later) imports the files only through its own `doctor --fix`, run with OPENCLAW_STATE_DIR=OUT.
//   * local-state/refresh.mts: OUT/.local-state.json records what was written, so that --refresh can tell what
//     the local gateway changed since (new local conversations) and keep it.
// The build happens in a sibling folder that replaces OUT at the end: OUT is never half-built.
import { existsSync, rmSync } from "node:fs";
import { mkdir, readdir, realpath, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { Failure } from "./cli.mts";
import { INDEX_FILE, serializeIndex } from "./openclaw/sessions-index.mts";
import { shellQuote } from "./proc.mts";
import { readProvenance, SESSIONS_DIR } from "./store/provenance.mts";
import { localStateConfig } from "./local-state/config.mts";
import {
  listSessions,
  probeOpenClaw,
  runDoctorImport,
  type OpenClawReport,
} from "./local-state/openclaw-cli.mts";
import { planSessions, writeCopies, type SessionReport } from "./local-state/plan.mts";
import {
  carryLocalFiles,
  findLocalChanges,
  MANIFEST,
  readManifest,
  replaceOut,
  type LocalChanges,
  type Manifest,
} from "./local-state/refresh.mts";

export interface LocalStateOptions {
  memory: string;
  out: string;
  agent?: string;
  /** The OpenClaw command as argv (e.g. ["openclaw"] or ["/path/node", "/path/openclaw.mjs"]). */
  openclaw: string[];
  /** A user's openclaw.json to merge into OUT/openclaw.json. */
  config?: string;
  refresh: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
  warn?: (message: string) => void;
  /** A progress line for long steps (the reporter shows it on a terminal only). */
  progress?: (message: string) => void;
}

export interface LocalStateReport {
  out: string;
  memory: string;
  agent: string;
  sessionsDir: string;
  files: number;
  sessions: SessionReport[];
  configChanges: string[];
  openclaw: OpenClawReport;
  refresh?: { keptLocalChanges: string[]; previousOut?: string };
  /** What is left to do before the gateway can use OUT (empty when nothing). */
  remaining: string[];
  startCommand: string;
  warnings: string[];
}

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return (
    rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep) && rel !== ".." && !/^[a-zA-Z]:/.test(rel))
  );
}

async function realOrResolved(path: string): Promise<string> {
  // The deepest existing ancestor's real path plus the rest: OUT may not exist yet.
  let head = resolve(path);
  const tail: string[] = [];
  while (!existsSync(head)) {
    tail.unshift(basename(head));
    const up = dirname(head);
    if (up === head) break;
    head = up;
  }
  return join(await realpath(head), ...tail);
}

export async function buildLocalState(options: LocalStateOptions): Promise<LocalStateReport> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.warn?.(message);
  };

  // Guards: memory must hold a sessions folder; OUT must be neither inside memory/ nor around it.
  const memory = await realOrResolved(options.memory);
  const out = await realOrResolved(options.out);
  const memorySessions = join(memory, SESSIONS_DIR);
  if (!existsSync(memorySessions))
    throw new Failure(`${memorySessions} does not exist: run the sync first, or pass --memory.`);
  if (inside(out, memory))
    throw new Failure(
      `--out ${out} is inside the memory folder ${memory}; a gateway writes where it reads, so choose a folder outside it.`,
    );
  if (inside(memory, out))
    throw new Failure(`--out ${out} contains the memory folder ${memory}; choose a folder outside it.`);
  const provenance = await readProvenance(memory).catch(() => undefined);
  const agent = (options.agent ?? provenance?.lastSync.agent ?? "main").trim();
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(agent))
    throw new Failure(`--agent ${JSON.stringify(agent)} is not a valid agent id.`);
  if (options.agent && provenance && provenance.lastSync.agent !== options.agent) {
    warn(
      `the memory folder holds agent ${provenance.lastSync.agent}'s sessions; placing them under agent ${options.agent} as asked`,
    );
  }

  const previous = existsSync(out) ? await readManifest(out) : undefined;
  if (existsSync(out)) {
    const entries = await readdir(out);
    if (!previous && entries.length > 0)
      throw new Failure(`${out} exists and was not built by local-state; choose another --out or remove it.`);
    if (previous && !options.refresh)
      throw new Failure(
        `${out} already holds a local state dir; pass --refresh to rebuild it from the current history.`,
      );
  }

  // The local OpenClaw: its version decides what happens after the copy.
  const openclaw = await probeOpenClaw(options.openclaw, out, env, warn);
  const command = openclaw.command;

  // --refresh: find what the local gateway changed since the last build.
  const sessionsRel = join("agents", agent, "sessions");
  let changes: LocalChanges | undefined;
  if (previous)
    changes = await findLocalChanges(
      out,
      previous,
      agent,
      openclaw.found ? options.openclaw : undefined,
      env,
    );

  // Build into a sibling folder, then swap it in: OUT is never half-built.
  const plan = await planSessions(memorySessions, agent);
  for (const message of plan.warnings) warn(message);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const building = `${out}.building-${process.pid}`;
  await rm(building, { recursive: true, force: true });
  // A build that fails half way leaves nothing behind (on success the folder has become OUT).
  process.once("exit", () => rmSync(building, { recursive: true, force: true }));
  const newSessions = join(building, sessionsRel);
  await mkdir(newSessions, { recursive: true });
  const written = await writeCopies(plan, newSessions);
  if (previous && changes)
    await carryLocalFiles({ out, newSessions, agent, previous, changes, written, plan, stamp });
  await writeFile(join(newSessions, INDEX_FILE), serializeIndex(plan.index), { mode: 0o600 });

  const { config, changes: configChanges } = await localStateConfig(
    options.config,
    previous ? out : undefined,
  );
  await writeFile(join(building, "openclaw.json"), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });

  const previousOut = await replaceOut(out, building, agent, previous, changes, stamp);
  log(`Copied ${plan.copies.size} files into ${join(out, sessionsRel)}`);

  const remaining: string[] = [];
  const quotedOut = shellQuote(out);
  const manifest: Manifest = {
    format: 1,
    builtAt: new Date().toISOString(),
    memory,
    agent,
    era: openclaw.era,
    files: written,
  };

  if (openclaw.era === "sqlite") {
    // The build imports legacy files only through its doctor, which moves them into its database.
    log(
      `OpenClaw ${openclaw.version} keeps sessions in SQLite: running its import (doctor --fix; a few minutes for a long history)`,
    );
    const started = Date.now();
    const ticker = setInterval(
      () =>
        options.progress?.(
          `OpenClaw's import (doctor --fix) is running: ${Math.round((Date.now() - started) / 1000)}s`,
        ),
      1000,
    );
    const doctor = await runDoctorImport(options.openclaw, out, env).finally(() => clearInterval(ticker));
    log(`OpenClaw's import finished in ${Math.round((Date.now() - started) / 1000)}s`);
    if (doctor.code !== 0) {
      warn(`${command} doctor --fix exited with ${doctor.code}; the import may be incomplete`);
      remaining.push(`OPENCLAW_STATE_DIR=${quotedOut} ${command} doctor --fix --yes --non-interactive`);
    }
    const listed = await listSessions(options.openclaw, out, agent, env);
    manifest.listed = listed;
    openclaw.imported = {
      sessions: doctor.sessions,
      transcriptEvents: doctor.transcriptEvents,
      listed: listed ? Object.keys(listed).length : undefined,
      issues: doctor.issues,
    };
    for (const issue of doctor.issues) warn(`doctor: ${issue}`);
  } else if (!openclaw.found) {
    remaining.push(
      `with a SQLite-era OpenClaw (2026.7.2 and later) run \`OPENCLAW_STATE_DIR=${quotedOut} openclaw doctor --fix --yes --non-interactive\` once before starting the gateway; a file-era OpenClaw (2026.7.1 and earlier) needs nothing more`,
    );
  }
  await writeFile(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

  // --bind loopback: without it a gateway in a container (devcontainer, Codespace, Docker) binds to every address
  // and refuses to start without auth; on loopback it starts everywhere and stays private to this machine.
  const startCommand = `OPENCLAW_STATE_DIR=${quotedOut} ${openclaw.found ? command : "openclaw"} gateway --bind loopback`;
  return {
    out,
    memory,
    agent,
    sessionsDir: join(out, sessionsRel),
    files: plan.copies.size,
    sessions: plan.sessions,
    configChanges,
    openclaw,
    refresh: previous ? { keptLocalChanges: changes?.kept ?? [], previousOut } : undefined,
    remaining,
    startCommand,
    warnings,
  };
}
