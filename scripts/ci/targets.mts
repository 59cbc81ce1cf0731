// Job "config" of .github/workflows/sync-memory.yml: checks the repository's settings before any job touches the
// network, and emits the list of targets the sync job's matrix runs, one job each.
//   in:  SYNC_TARGETS, VAR_FLY_APP, VAR_REMOTE_STATE_DIR, PRUNE_OLDER_THAN (the repository variables, possibly
//        empty), HAS_FLY_TOKEN ("true" when the secret FLY_API_TOKEN is set; the token itself never comes here)
//   out: targets=[{"app", "machine", "state_dir", "memory"}, ...] appended to $GITHUB_OUTPUT
// An entry of SYNC_TARGETS is {"app": NAME, "machine": ID?, "state_dir": PATH?, "memory": DIR?}; its memory
// folder defaults to memory/APP (memory/APP-MACHINE with a machine), and without SYNC_TARGETS the one target
// (FLY_APP) uses memory/. A mistake fails the job with one sentence, as an ::error:: annotation and in the job
// summary, before the matrix exists (a bad SYNC_TARGETS never reaches fromJSON).
// Usage (the workflow does this): npx tsx scripts/ci/targets.mts
import { appendFileSync } from "node:fs";
import { posix } from "node:path";
import { parseDuration } from "../lib/duration.mts";

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
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(app))
    throw new ConfigError(`${where}: "${app}" is not a Fly app name (letters, digits and dashes)`);
  const machine = text(record, "machine", where);
  if (machine && !/^[A-Za-z0-9_-]+$/.test(machine))
    throw new ConfigError(`${where}: "${machine}" is not a Fly machine id such as 148e6d4c2e9d89`);
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
  } catch (error) {
    throw new ConfigError(
      `the repository variable SYNC_TARGETS is not valid JSON (${(error as Error).message}); write it like [{"app": "my-bot"}]`,
    );
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

function checkSettings(env: NodeJS.ProcessEnv): void {
  const prune = (env.PRUNE_OLDER_THAN ?? "").trim();
  if (prune) {
    const ms = parseDuration(prune);
    if (ms === undefined || ms <= 0)
      throw new ConfigError(
        `the repository variable PRUNE_OLDER_THAN is '${prune}', not a duration such as 30d, 6w or P30D`,
      );
  }
  if (env.HAS_FLY_TOKEN !== undefined && env.HAS_FLY_TOKEN !== "true")
    throw new ConfigError(
      "the repository secret FLY_API_TOKEN is not set: create a token with 'fly tokens create ssh -a APP' and add it under Settings → Secrets and variables → Actions → Secrets",
    );
}

function main(): number {
  const summaryFile = process.env.GITHUB_STEP_SUMMARY;
  try {
    const targets = resolveTargets(process.env);
    checkSettings(process.env);
    const outputFile = process.env.GITHUB_OUTPUT;
    if (!outputFile) throw new ConfigError("GITHUB_OUTPUT is not set: this step runs inside GitHub Actions");
    const matrix = targets.map((t) => ({
      app: t.app,
      machine: t.machine,
      state_dir: t.stateDir,
      memory: t.memory,
    }));
    appendFileSync(outputFile, `targets=${JSON.stringify(matrix)}\n`);
    const rows = targets.map(
      (t) =>
        `| ${t.app} | ${t.machine || "(the one holding the state dir)"} | \`${t.stateDir}\` | \`${t.memory}/\` |`,
    );
    process.stdout.write(
      targets
        .map(
          (t) =>
            `target: app ${t.app}${t.machine ? `, machine ${t.machine}` : ""}, state dir ${t.stateDir} → ${t.memory}/\n`,
        )
        .join(""),
    );
    if (summaryFile)
      appendFileSync(
        summaryFile,
        ["| app | machine | state dir | memory folder |", "| --- | --- | --- | --- |", ...rows, ""].join(
          "\n",
        ) + "\n",
      );
    return 0;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`targets: error: ${error.message}\n`);
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
