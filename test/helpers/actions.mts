// A small GitHub Actions runner: runs a job's `run:` steps in order the way the hosted runner does (bash -e,
// workflow/job/step env, ${{ }} expressions, $GITHUB_ENV, $GITHUB_OUTPUT, $GITHUB_PATH, $GITHUB_STEP_SUMMARY,
// `if:` with success()/failure()/always(), job `outputs`), and a whole workflow's jobs in `needs` order, each
// matrix entry in turn, with the `needs` context. It emulates the few actions the sync workflow uses:
// actions/checkout (a clone of a local origin, shallow unless fetch-depth: 0), actions/setup-node (this Node),
// superfly/flyctl-actions/setup-flyctl (puts a given folder, the fake flyctl, on PATH), and `npm ci` (links this
// project's node_modules; with --omit=dev only the packages package-lock.json does not mark as dev, so a script
// that needs a development tool fails here as it would on the runner). Anything else — another action, an
// unknown key, a non-bash shell — throws, so a test built on it fails when the workflow changes in a way it
// cannot run faithfully.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { parse } from "yaml";
import { runCommand, ROOT } from "./run.mts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export class Unsupported extends Error {}

// ---------------------------------------------------------------------------------------------------------------
// Expressions: literals, context paths, ! == != && || ( ), and the functions the workflows use.

type Token = { kind: "num" | "str" | "id" | "op"; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) i++;
    else if (c === "'") {
      let value = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new Unsupported(`unterminated string in ${text}`);
        if (text[i] === "'" && text[i + 1] === "'") ((value += "'"), (i += 2));
        else if (text[i] === "'") break;
        else value += text[i++];
      }
      i++;
      tokens.push({ kind: "str", value });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9.]+/.exec(text.slice(i))![0];
      tokens.push({ kind: "num", value: m });
      i += m.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i))![0];
      tokens.push({ kind: "id", value: m });
      i += m.length;
    } else {
      const op = ["||", "&&", "==", "!=", "<=", ">="].find((o) => text.startsWith(o, i)) ?? c;
      if (!["||", "&&", "==", "!=", "!", "(", ")", ".", ",", "[", "]"].includes(op))
        throw new Unsupported(`operator ${op} in ${text}`);
      tokens.push({ kind: "op", value: op });
      i += op.length;
    }
  }
  return tokens;
}

export interface Contexts {
  [name: string]: Json | undefined;
}

export interface Status {
  failed: boolean;
}

function truthy(v: Json | undefined): boolean {
  return !(v === null || v === undefined || v === false || v === 0 || v === "" || Number.isNaN(v));
}

function looseEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  if (typeof a === typeof b) return a === b;
  const num = (v: Json | undefined) => (v === null || v === undefined ? 0 : v === "" ? 0 : Number(v));
  return num(a) === num(b);
}

export function toText(v: Json | undefined): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export function evaluate(text: string, ctx: Contexts, status: Status = { failed: false }): Json {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = (value?: string) => {
    const t = tokens[pos++];
    if (!t || (value !== undefined && t.value !== value))
      throw new Unsupported(`expected ${value} in ${text}`);
    return t;
  };
  const isOp = (value: string) => peek()?.kind === "op" && peek().value === value;

  const functions: Record<string, (args: Json[]) => Json> = {
    fromJSON: ([s]) => JSON.parse(toText(s)) as Json,
    toJSON: ([v]) => JSON.stringify(v ?? null, null, 2),
    format: ([f, ...args]) => toText(f).replace(/\{(\d+)\}/g, (_, n) => toText(args[Number(n)])),
    contains: ([hay, needle]) =>
      Array.isArray(hay)
        ? hay.some((v) => looseEqual(v, needle))
        : toText(hay).toLowerCase().includes(toText(needle).toLowerCase()),
    startsWith: ([s, p]) => toText(s).toLowerCase().startsWith(toText(p).toLowerCase()),
    success: () => !status.failed,
    failure: () => status.failed,
    always: () => true,
    cancelled: () => false,
  };

  function primary(): Json | undefined {
    const t = take();
    if (t.kind === "str") return t.value;
    if (t.kind === "num") return Number(t.value);
    if (t.kind === "op" && t.value === "(") {
      const v = or();
      take(")");
      return v;
    }
    if (t.kind !== "id") throw new Unsupported(`unexpected ${t.value} in ${text}`);
    if (t.value === "true") return true;
    if (t.value === "false") return false;
    if (t.value === "null") return null;
    if (isOp("(")) {
      take("(");
      const args: Json[] = [];
      while (!isOp(")")) {
        args.push(or() ?? null);
        if (isOp(",")) take(",");
      }
      take(")");
      const fn = functions[t.value];
      if (!fn) throw new Unsupported(`function ${t.value}() in ${text}`);
      return fn(args);
    }
    if (!(t.value in ctx)) throw new Unsupported(`context ${t.value} in ${text}`);
    let value: Json | undefined = ctx[t.value];
    for (;;) {
      if (isOp(".")) {
        take(".");
        const key = take().value;
        value = value && typeof value === "object" && !Array.isArray(value) ? value[key] : undefined;
      } else if (isOp("[")) {
        take("[");
        const key = or();
        take("]");
        value =
          value && typeof value === "object"
            ? (value as Record<string, Json>)[toText(key ?? null)]
            : undefined;
      } else return value ?? null;
    }
  }
  function unary(): Json | undefined {
    if (isOp("!")) {
      take("!");
      return !truthy(unary());
    }
    return primary();
  }
  function equality(): Json | undefined {
    let left = unary();
    while (isOp("==") || isOp("!=")) {
      const op = take().value;
      const right = unary();
      left = op === "==" ? looseEqual(left, right) : !looseEqual(left, right);
    }
    return left;
  }
  function and(): Json | undefined {
    let left = equality();
    while (isOp("&&")) {
      take("&&");
      const right = equality();
      left = truthy(left) ? right : left;
    }
    return left;
  }
  function or(): Json | undefined {
    let left = and();
    while (isOp("||")) {
      take("||");
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  }
  const value = or();
  if (pos !== tokens.length) throw new Unsupported(`trailing ${tokens[pos].value} in ${text}`);
  return value ?? null;
}

/** A YAML value with ${{ }} resolved: a whole-expression string keeps its type, others are interpolated. */
export function resolveValue(value: unknown, ctx: Contexts, status?: Status): Json {
  if (typeof value !== "string") return (value ?? null) as Json;
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(value);
  if (whole && !whole[1].includes("}}")) return evaluate(whole[1], ctx, status);
  return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, expr: string) => toText(evaluate(expr, ctx, status)));
}

// ---------------------------------------------------------------------------------------------------------------
// Workflows and jobs

export interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  if?: string;
  shell?: string;
}

export interface Job {
  name?: string;
  "runs-on": string;
  "timeout-minutes"?: number;
  permissions?: Record<string, string>;
  needs?: string | string[];
  outputs?: Record<string, string>;
  strategy?: { "fail-fast"?: boolean; "max-parallel"?: number; matrix?: Record<string, unknown> };
  env?: Record<string, unknown>;
  steps: Step[];
}

export interface Workflow {
  name?: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  env?: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const WORKFLOW_KEYS = ["name", "on", "permissions", "concurrency", "env", "jobs"];
const JOB_KEYS = [
  "name",
  "runs-on",
  "timeout-minutes",
  "permissions",
  "needs",
  "outputs",
  "strategy",
  "env",
  "steps",
];
const STEP_KEYS = ["name", "id", "uses", "run", "with", "env", "if", "shell"];

function onlyKeys(object: object, allowed: string[], where: string): void {
  const extra = Object.keys(object).filter((key) => !allowed.includes(key));
  if (extra.length) throw new Unsupported(`${where}: the test runner does not emulate ${extra.join(", ")}`);
}

export function loadWorkflow(path: string): Workflow {
  const workflow = parse(readFileSync(path, "utf8")) as Workflow;
  onlyKeys(workflow, WORKFLOW_KEYS, "workflow");
  for (const [id, job] of Object.entries(workflow.jobs)) {
    onlyKeys(job, JOB_KEYS, `job ${id}`);
    if (job.strategy) onlyKeys(job.strategy, ["fail-fast", "max-parallel", "matrix"], `job ${id} strategy`);
    for (const [i, step] of job.steps.entries()) onlyKeys(step, STEP_KEYS, `job ${id} step ${i + 1}`);
  }
  return workflow;
}

/** What a later job sees of an earlier one in the `needs` context. */
export type Needs = Record<
  string,
  { result: "success" | "failure" | "skipped"; outputs: Record<string, string> }
>;

export function needsOf(job: Job): string[] {
  return typeof job.needs === "string" ? [job.needs] : (job.needs ?? []);
}

/** The matrix entries of a job for the given repository variables (one empty entry when it has no matrix). */
export function matrixOf(job: Job, vars: Record<string, string>, needs: Needs = {}): Record<string, Json>[] {
  const matrix = job.strategy?.matrix;
  if (!matrix) return [{}];
  const keys = Object.keys(matrix);
  if (keys.some((key) => key === "include" || key === "exclude"))
    throw new Unsupported("matrix include/exclude is not emulated");
  let entries: Record<string, Json>[] = [{}];
  for (const key of keys) {
    const values = resolveValue(matrix[key], { vars, needs: needs as unknown as Json });
    if (!Array.isArray(values)) throw new Unsupported(`matrix.${key} is not a list`);
    entries = entries.flatMap((entry) => values.map((value) => ({ ...entry, [key]: value })));
  }
  return entries;
}

export interface StepResult {
  name: string;
  id?: string;
  outcome: "success" | "failure" | "skipped";
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface JobResult {
  ok: boolean;
  steps: StepResult[];
  summary: string;
  /** Each step's outputs, by step id. */
  outputs: Record<string, Record<string, string>>;
  /** The job's own `outputs`, as later jobs see them. */
  jobOutputs: Record<string, string>;
  /** Everything every step printed, for assertions about leaks. */
  log: string;
}

export interface RunJobOptions {
  workflow: string;
  job: string;
  matrix?: Record<string, Json>;
  /** The results of the jobs this one needs. */
  needs?: Needs;
  vars: Record<string, string>;
  secrets: Record<string, string>;
  /** The runner's own environment (PATH without any flyctl, HOME, knobs the test needs). */
  runnerEnv: Record<string, string>;
  /** The bare repository actions/checkout clones, and the branch the run is for. */
  origin: string;
  ref: string;
  /** Where the job runs (must not exist yet) and the runner's temp folder. */
  workspace: string;
  temp: string;
  /** The folder setup-flyctl puts on PATH. */
  flyctlDir: string;
  beforeStep?: (step: Step, index: number) => void | Promise<void>;
  stepTimeoutMs?: number;
}

function parseCommandFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const lines = readFileSync(path, "utf8").split("\n");
  const result: Record<string, string> = {};
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) value.push(lines[i]);
      if (i >= lines.length) throw new Error(`${path}: unterminated ${heredoc[2]}`);
      result[heredoc[1]] = value.join("\n");
      continue;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`${path}: invalid line ${line}`);
    result[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return result;
}

function stepLabel(step: Step, index: number): string {
  return step.name ?? step.uses ?? step.run?.split("\n")[0] ?? `step ${index + 1}`;
}

export async function runJob(options: RunJobOptions): Promise<JobResult> {
  const workflow = loadWorkflow(options.workflow);
  const job = workflow.jobs[options.job];
  if (!job) throw new Unsupported(`no job ${options.job}`);
  if (!/^ubuntu-/.test(job["runs-on"])) throw new Unsupported(`runs-on ${job["runs-on"]}`);
  const needs = options.needs ?? {};
  const matrix = options.matrix ?? matrixOf(job, options.vars, needs)[0];
  mkdirSync(options.temp, { recursive: true });
  const github = {
    ref_name: options.ref,
    ref: `refs/heads/${options.ref}`,
    event_name: "workflow_dispatch",
    repository: "owner/memory",
    server_url: "https://github.com",
    run_id: "1234567890",
    workspace: options.workspace,
  };
  const runnerGithubEnv: Record<string, string> = {
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_REF_NAME: options.ref,
    GITHUB_REF: github.ref,
    GITHUB_EVENT_NAME: github.event_name,
    GITHUB_REPOSITORY: github.repository,
    GITHUB_SERVER_URL: github.server_url,
    GITHUB_RUN_ID: github.run_id,
    GITHUB_WORKSPACE: options.workspace,
    RUNNER_TEMP: options.temp,
    RUNNER_OS: "Linux",
  };
  const base: Contexts = {
    vars: options.vars,
    secrets: options.secrets,
    matrix,
    needs: needs as unknown as Json,
    github,
    runner: { os: "Linux", temp: options.temp },
    strategy: {},
    job: {},
  };
  // Workflow and job env are resolved once; $GITHUB_ENV adds to (and overrides) them; step env goes on top.
  const globalEnv: Record<string, string> = {};
  for (const source of [workflow.env ?? {}, job.env ?? {}]) {
    for (const [key, value] of Object.entries(source)) {
      globalEnv[key] = toText(resolveValue(value, { ...base, env: { ...globalEnv } }));
    }
  }
  const pathPrefix: string[] = [];
  const outputs: Record<string, Record<string, string>> = {};
  const outcomes: Record<string, Json> = {};
  const results: StepResult[] = [];
  const summary: string[] = [];
  const status: Status = { failed: false };

  for (const [index, step] of job.steps.entries()) {
    const label = stepLabel(step, index);
    const ctx: Contexts = { ...base, env: { ...globalEnv }, steps: outcomes };
    const condition = step.if ?? "success()";
    const expr = /\b(success|failure|always|cancelled)\(/.test(condition)
      ? condition
      : `success() && (${condition})`;
    const run = truthy(evaluate(expr.replace(/^\s*\$\{\{([\s\S]*)\}\}\s*$/, "$1"), ctx, status));
    if (!run) {
      results.push({ name: label, id: step.id, outcome: "skipped", code: null, stdout: "", stderr: "" });
      if (step.id) outcomes[step.id] = { outcome: "skipped", conclusion: "skipped", outputs: {} };
      continue;
    }
    await options.beforeStep?.(step, index);
    const files = {
      GITHUB_OUTPUT: join(options.temp, `_output_${index}`),
      GITHUB_ENV: join(options.temp, `_env_${index}`),
      GITHUB_PATH: join(options.temp, `_path_${index}`),
      GITHUB_STEP_SUMMARY: join(options.temp, `_summary_${index}`),
    };
    for (const file of Object.values(files)) writeFileSync(file, "");
    const stepEnv: Record<string, string> = {};
    for (const [key, value] of Object.entries(step.env ?? {}))
      stepEnv[key] = toText(resolveValue(value, ctx));
    const env: Record<string, string> = {
      ...options.runnerEnv,
      ...runnerGithubEnv,
      ...globalEnv,
      ...stepEnv,
      ...files,
    };
    env.PATH = [...pathPrefix, options.runnerEnv.PATH].join(delimiter);

    let result: { code: number | null; stdout: string; stderr: string };
    if (step.uses !== undefined) {
      result = emulateAction(step, options, pathPrefix, ctx);
    } else if (step.run !== undefined) {
      const script = toText(resolveValue(step.run, ctx));
      const npmCi = /^npm ci( --omit=dev)?(\s+#.*)?$/.exec(script.trim());
      if (npmCi) {
        result = npmCi[1]
          ? installRuntimeDependencies(options.workspace)
          : linkAllDependencies(options.workspace);
      } else {
        const shell = step.shell;
        if (shell !== undefined && shell !== "bash") throw new Unsupported(`shell ${shell}`);
        const file = join(options.temp, `_step_${index}.sh`);
        writeFileSync(file, script);
        const args = shell === "bash" ? ["--noprofile", "--norc", "-eo", "pipefail", file] : ["-e", file];
        // runCommand adds this process's environment; the job must see only its own.
        result = await runCommand("bash", args, {
          cwd: options.workspace,
          env: {
            ...Object.fromEntries(Object.keys(process.env).map((key) => [key, undefined])),
            ...env,
          },
          timeoutMs: options.stepTimeoutMs ?? 180_000,
        }).catch((error) => ({ code: 127, stdout: "", stderr: String(error) }));
      }
    } else throw new Unsupported(`step ${label} has neither run nor uses`);

    const outcome = result.code === 0 ? "success" : "failure";
    if (outcome === "failure") status.failed = true;
    const stepOutputs = parseCommandFile(files.GITHUB_OUTPUT);
    Object.assign(globalEnv, parseCommandFile(files.GITHUB_ENV));
    if (existsSync(files.GITHUB_PATH))
      pathPrefix.unshift(...readFileSync(files.GITHUB_PATH, "utf8").split("\n").filter(Boolean).reverse());
    summary.push(readFileSync(files.GITHUB_STEP_SUMMARY, "utf8"));
    if (step.id) {
      outputs[step.id] = stepOutputs;
      outcomes[step.id] = { outcome, conclusion: outcome, outputs: stepOutputs };
    }
    results.push({ name: label, id: step.id, outcome, ...result });
  }
  const jobOutputs: Record<string, string> = {};
  for (const [key, value] of Object.entries(job.outputs ?? {}))
    jobOutputs[key] = toText(resolveValue(value, { ...base, env: { ...globalEnv }, steps: outcomes }));
  return {
    ok: !status.failed,
    steps: results,
    summary: summary.join(""),
    outputs,
    jobOutputs,
    log: results.map((r) => r.stdout + r.stderr).join("\n"),
  };
}

function emulateAction(
  step: Step,
  options: RunJobOptions,
  pathPrefix: string[],
  ctx: Contexts,
): { code: number | null; stdout: string; stderr: string } {
  const uses = step.uses!;
  const inputs = Object.fromEntries(
    Object.entries(step.with ?? {}).map(([key, value]) => [key, toText(resolveValue(value, ctx))]),
  );
  const checkout = /^actions\/checkout@v\d+$/.exec(uses);
  if (checkout) {
    onlyKeys(inputs, ["fetch-depth"], uses);
    const depth = inputs["fetch-depth"] ?? "1";
    if (!/^\d+$/.test(depth)) throw new Unsupported(`actions/checkout fetch-depth ${depth}`);
    const shallow = depth === "0" ? [] : ["--depth", depth];
    const origin = depth === "0" ? options.origin : `file://${options.origin}`;
    return runGit(["clone", "--quiet", ...shallow, "--branch", options.ref, origin, options.workspace]);
  }
  if (/^actions\/setup-node@v\d+$/.test(uses)) {
    onlyKeys(inputs, ["node-version", "cache"], uses);
    if (!inputs["node-version"]) throw new Unsupported("setup-node without node-version");
    if (inputs.cache !== "npm") throw new Unsupported("setup-node is expected to cache npm");
    return {
      code: 0,
      stdout: `setup-node ${inputs["node-version"]} (emulated: ${process.version})\n`,
      stderr: "",
    };
  }
  const flyctl = /^superfly\/flyctl-actions\/setup-flyctl@(.+)$/.exec(uses);
  if (flyctl) {
    if (!/^(v?\d+(\.\d+)*|[0-9a-f]{40})$/.test(flyctl[1]))
      throw new Unsupported(`setup-flyctl must be pinned to a release or commit, not ${flyctl[1]}`);
    onlyKeys(inputs, ["version"], uses);
    pathPrefix.unshift(options.flyctlDir);
    return { code: 0, stdout: "setup-flyctl (emulated: the fake flyctl)\n", stderr: "" };
  }
  throw new Unsupported(`action ${uses} is not emulated by the test runner`);
}

function runGit(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync("git", args, { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `npm ci`: the dependencies this checkout's package-lock.json pins are the ones installed here. */
function linkAllDependencies(workspace: string): { code: number; stdout: string; stderr: string } {
  symlinkSync(join(ROOT, "node_modules"), join(workspace, "node_modules"));
  return { code: 0, stdout: "npm ci (emulated: linked the project's node_modules)\n", stderr: "" };
}

/**
 * `npm ci --omit=dev`: a node_modules holding only the top-level packages the checkout's package-lock.json does
 * not mark `dev` (each a link to this project's installed copy), and their `.bin` commands.
 */
function installRuntimeDependencies(workspace: string): { code: number; stdout: string; stderr: string } {
  const lock = JSON.parse(readFileSync(join(workspace, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; optional?: boolean; bin?: string | Record<string, string> }>;
  };
  const modules = join(workspace, "node_modules");
  if (existsSync(modules)) throw new Unsupported(`${modules} exists before npm ci (committed by mistake?)`);
  mkdirSync(join(modules, ".bin"), { recursive: true });
  const installed: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages)) {
    const name = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(path)?.[1];
    if (!name || entry.dev) continue;
    const source = join(ROOT, "node_modules", name);
    // Optional packages (esbuild's per-platform builds) are installed only where they fit, as npm does.
    if (!existsSync(source) && entry.optional) continue;
    if (!existsSync(source)) throw new Error(`${name} is in package-lock.json but not installed in ${ROOT}`);
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(source, join(modules, name));
    installed.push(name);
    const bins =
      typeof entry.bin === "string" ? { [name.replace(/^@[^/]+\//, "")]: entry.bin } : (entry.bin ?? {});
    for (const [command, file] of Object.entries(bins))
      symlinkSync(join(source, file), join(modules, ".bin", command));
  }
  return {
    code: 0,
    stdout: `npm ci --omit=dev (emulated: ${installed.length} runtime packages linked)\n`,
    stderr: "",
  };
}

export interface WorkflowResult {
  ok: boolean;
  /** Each job's runs, one per matrix entry (none when it was skipped because a job it needs failed). */
  jobs: Record<string, JobResult[]>;
}

/**
 * Runs every job of a workflow in `needs` order, each matrix entry in turn (GitHub runs them in parallel; the
 * sync jobs write separate folders and rebase their pushes, so the order is one the runner may choose). A job
 * whose needed job failed is skipped, as on GitHub. `workspace` and `temp` are parent folders here.
 */
export async function runWorkflow(
  options: Omit<RunJobOptions, "job" | "matrix" | "needs">,
): Promise<WorkflowResult> {
  const workflow = loadWorkflow(options.workflow);
  const done: Needs = {};
  const jobs: Record<string, JobResult[]> = {};
  const pending = Object.keys(workflow.jobs);
  let ok = true;
  while (pending.length) {
    const index = pending.findIndex((id) => needsOf(workflow.jobs[id]).every((need) => need in done));
    if (index < 0) throw new Unsupported(`jobs ${pending.join(", ")} need each other`);
    const [id] = pending.splice(index, 1);
    const job = workflow.jobs[id];
    const needs = Object.fromEntries(needsOf(job).map((need) => [need, done[need]]));
    jobs[id] = [];
    if (Object.values(needs).some((need) => need.result !== "success")) {
      done[id] = { result: "skipped", outputs: {} };
      continue;
    }
    const entries = matrixOf(job, options.vars, needs);
    let result: "success" | "failure" = "success";
    const outputs: Record<string, string> = {};
    for (const [n, matrix] of entries.entries()) {
      const run = await runJob({
        ...options,
        job: id,
        matrix,
        needs,
        workspace: join(options.workspace, `${id}-${n + 1}`),
        temp: join(options.temp, `${id}-${n + 1}`),
      });
      jobs[id].push(run);
      if (!run.ok) result = "failure";
      Object.assign(outputs, run.jobOutputs);
    }
    if (result === "failure") ok = false;
    done[id] = { result, outputs };
  }
  return { ok, jobs };
}
