// The local OpenClaw command, as local-state drives it: `--version` (which decides the storage era),
// `sessions --json` (what a build lists, for --refresh) and, for a SQLite-era build, `doctor --fix`, the only
// way it imports legacy session files. Every call runs with OPENCLAW_STATE_DIR and OPENCLAW_CONFIG_PATH inside
// OUT, so the user's own state dir is never touched.
import { join } from "node:path";
import { isSqliteEra, parseVersion } from "../openclaw/version.mts";
import { runProcess } from "../proc.mts";

/** What local-state found out about the local OpenClaw (part of its report). */
export interface OpenClawReport {
  command: string;
  found: boolean;
  version?: string;
  era?: "files" | "sqlite";
  /** SQLite era: what the build's doctor imported. */
  imported?: { sessions?: number; transcriptEvents?: number; listed?: number; issues: string[] };
}

/** The doctor's import as its output tells it. */
export interface DoctorImport {
  code: number | null;
  /** "SQLite entries: N" */
  sessions?: number;
  /** "Transcript events: imported=N" */
  transcriptEvents?: number;
  /** `[code] detail` lines: deferred or malformed transcripts, failures and conflicts. */
  issues: string[];
}

/** Splits `--openclaw` on whitespace: "openclaw", "/opt/node24 /opt/openclaw/openclaw.mjs". */
export function splitCommand(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

function openclawEnv(out: string, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...base,
    OPENCLAW_STATE_DIR: out,
    OPENCLAW_CONFIG_PATH: join(out, "openclaw.json"),
    NO_COLOR: "1",
  };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The command does not exist or is not executable. */
  missing: boolean;
}

async function run(argv: string[], out: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  const result = await runProcess(argv, { env: openclawEnv(out, env), timeoutMs });
  if (result.spawnError)
    return { code: null, stdout: "", stderr: result.spawnError.message, missing: result.missing };
  return { code: result.code, stdout: result.stdout, stderr: result.stderr, missing: false };
}

/** `<cmd> --version`: whether OpenClaw is there, its version and storage era; `warn` says why when it is not
 * usable although the command ran. */
export async function probeOpenClaw(
  cmd: string[],
  out: string,
  env: NodeJS.ProcessEnv,
  warn: (message: string) => void,
): Promise<OpenClawReport> {
  const command = cmd.join(" ");
  const report: OpenClawReport = { command, found: false };
  const result = await run([...cmd, "--version"], out, env, 60_000);
  if (!result.missing && result.code === 0) {
    const parsed = parseVersion(result.stdout);
    if (parsed) {
      report.found = true;
      report.version = parsed.version;
      report.era = isSqliteEra(parsed.parts) ? "sqlite" : "files";
    } else
      warn(
        `${command} --version printed no OpenClaw version (${result.stdout.trim().slice(0, 80)}); treating OpenClaw as not installed`,
      );
  } else if (!result.missing) {
    warn(
      `${command} --version failed (exit ${result.code}): ${stripAnsi(result.stderr).trim().split("\n").pop() ?? ""}`,
    );
  }
  return report;
}

/** `openclaw sessions --json`: key → updatedAt, or undefined when it could not run. */
export async function listSessions(
  cmd: string[],
  out: string,
  agent: string,
  env: NodeJS.ProcessEnv,
): Promise<Record<string, number> | undefined> {
  const result = await run(
    [...cmd, "sessions", "--json", "--limit", "all", "--agent", agent],
    out,
    env,
    300_000,
  );
  if (result.code !== 0) return undefined;
  try {
    const json = JSON.parse(result.stdout.slice(result.stdout.indexOf("{"))) as {
      sessions?: { key: string; updatedAt?: number }[];
    };
    const listed: Record<string, number> = {};
    for (const session of json.sessions ?? []) listed[session.key] = session.updatedAt ?? 0;
    return listed;
  } catch {
    return undefined;
  }
}

/** `openclaw doctor --fix --yes --non-interactive` in OUT: a SQLite-era build moves the session files into its
 * database. */
export async function runDoctorImport(cmd: string[], out: string, env: NodeJS.ProcessEnv): Promise<DoctorImport> {
  const doctor = await run([...cmd, "doctor", "--fix", "--yes", "--non-interactive"], out, env, 600_000);
  const text = stripAnsi(`${doctor.stdout}\n${doctor.stderr}`);
  const issues: string[] = [];
  const entries = /Legacy entries:\s*(\d+);\s*SQLite entries:\s*(\d+)/.exec(text);
  const events = /Transcript events:\s*imported=(\d+)/.exec(text);
  for (const match of text.matchAll(
    /\[(historical_transcript_deferred|transcript_malformed|[a-z_]+_(?:failed|conflict|error))\][\s│]*([^\n]*)/g,
  )) {
    issues.push(`${match[1]} ${match[2].replace(/[│\s]+$/, "").trim()}`);
  }
  return {
    code: doctor.code,
    sessions: entries ? Number(entries[2]) : undefined,
    transcriptEvents: events ? Number(events[1]) : undefined,
    issues,
  };
}
