// Step "Choose the target" of .github/workflows/sync-memory.yml: turns the repository variables and this matrix
// job's entry into the settings the later steps read, and checks them before anything touches the network.
//   in:  MATRIX_TARGET (the job's SYNC_TARGETS entry as JSON, "{}" when SYNC_TARGETS is unset), SYNC_TARGETS,
//        VAR_FLY_APP, VAR_REMOTE_STATE_DIR
//   out: FLY_APP, FLY_MACHINE, REMOTE_STATE_DIR, MEMORY_DIR appended to $GITHUB_ENV
// An entry is {"app": NAME, "machine": ID?, "state_dir": PATH?, "memory": DIR?}; its memory folder defaults to
// memory/APP (memory/APP-MACHINE with a machine), and without SYNC_TARGETS the one target uses memory/.
// Usage (the workflow does this): npx tsx scripts/ci/target.mts
import { appendFileSync } from "node:fs";
import { posix } from "node:path";

interface Target {
  app: string;
  machine: string;
  stateDir: string;
  memory: string;
}

const KEYS = new Set(["app", "machine", "state_dir", "memory"]);

class ConfigError extends Error {}

function text(entry: Record<string, unknown>, key: string, where: string): string {
  const value = entry[key];
  if (value === undefined || value === null || value === "") return "";
  if (typeof value !== "string") throw new ConfigError(`${where}: "${key}" must be a string`);
  if (/[\r\n]/.test(value)) throw new ConfigError(`${where}: "${key}" must be one line`);
  return value;
}

function resolve(entry: unknown, where: string, multi: boolean, env: NodeJS.ProcessEnv): Target {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry))
    throw new ConfigError(`${where} must be a JSON object such as {"app": "my-bot"}`);
  const record = entry as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !KEYS.has(key));
  if (unknown.length)
    throw new ConfigError(
      `${where} has unknown key ${unknown.map((k) => `"${k}"`).join(", ")} (known: app, machine, state_dir, memory)`,
    );
  const app = text(record, "app", where) || (env.VAR_FLY_APP ?? "").trim();
  if (!app)
    throw new ConfigError(
      multi
        ? `${where} names no app: give it "app" (or set the repository variable FLY_APP)`
        : "no Fly app to back up: set the repository variable FLY_APP (Settings → Secrets and variables → Actions → Variables)",
    );
  const machine = text(record, "machine", where);
  const stateDir = text(record, "state_dir", where) || (env.VAR_REMOTE_STATE_DIR ?? "").trim() || "/data";
  const memory = posix.normalize(
    text(record, "memory", where) || (multi ? `memory/${app}${machine ? `-${machine}` : ""}` : "memory"),
  );
  if (memory !== "memory" && !memory.startsWith("memory/"))
    throw new ConfigError(`${where}: "memory" must be memory or a folder inside memory/, not ${memory}`);
  if (memory.split("/").includes("..")) throw new ConfigError(`${where}: "memory" must not contain ..`);
  return { app, machine, stateDir, memory: memory.replace(/\/$/, "") };
}

/** All targets of SYNC_TARGETS (or the single default one), checked together: each needs its own folder. */
export function resolveTargets(env: NodeJS.ProcessEnv): Target[] {
  const raw = (env.SYNC_TARGETS ?? "").trim();
  if (!raw) return [resolve({}, "the target", false, env)];
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch {
    throw new ConfigError("the repository variable SYNC_TARGETS is not valid JSON");
  }
  if (!Array.isArray(list) || list.length === 0)
    throw new ConfigError('SYNC_TARGETS must be a non-empty JSON array such as [{"app": "my-bot"}]');
  const targets = list.map((entry, i) => resolve(entry, `SYNC_TARGETS entry ${i + 1}`, true, env));
  for (const [i, a] of targets.entries()) {
    for (const [j, b] of targets.entries()) {
      if (j <= i) continue;
      if (a.memory === b.memory || b.memory.startsWith(`${a.memory}/`) || a.memory.startsWith(`${b.memory}/`))
        throw new ConfigError(
          `SYNC_TARGETS entries ${i + 1} and ${j + 1} would share the memory folder ${a.memory.length < b.memory.length ? a.memory : b.memory}: give each its own "memory"`,
        );
    }
  }
  return targets;
}

/** This job's target: its matrix entry, checked against the whole list. */
export function resolveJobTarget(env: NodeJS.ProcessEnv): Target {
  const targets = resolveTargets(env);
  const raw = (env.MATRIX_TARGET ?? "").trim() || "{}";
  let entry: unknown;
  try {
    entry = JSON.parse(raw);
  } catch {
    throw new ConfigError("MATRIX_TARGET is not valid JSON");
  }
  if (!(env.SYNC_TARGETS ?? "").trim()) return targets[0];
  return resolve(entry, "this job's SYNC_TARGETS entry", true, env);
}

function main(): number {
  const summaryFile = process.env.GITHUB_STEP_SUMMARY;
  try {
    const target = resolveJobTarget(process.env);
    const envFile = process.env.GITHUB_ENV;
    if (!envFile) throw new ConfigError("GITHUB_ENV is not set: this step runs inside GitHub Actions");
    const lines = [
      `FLY_APP=${target.app}`,
      `FLY_MACHINE=${target.machine}`,
      `REMOTE_STATE_DIR=${target.stateDir}`,
      `MEMORY_DIR=${target.memory}`,
    ];
    appendFileSync(envFile, `${lines.join("\n")}\n`);
    process.stdout.write(
      `target: app ${target.app}${target.machine ? `, machine ${target.machine}` : ""}, state dir ${target.stateDir} → ${target.memory}/\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`target: error: ${error.message}\n`);
    process.stdout.write(`::error title=configuration::${error.message}\n`);
    if (summaryFile)
      appendFileSync(
        summaryFile,
        `**Configuration error:** ${error.message}\n\nNothing was synced or committed.\n`,
      );
    return 1;
  }
}

process.exitCode = main();
