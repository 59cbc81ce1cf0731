// The Fly transport: `flyctl ssh console -C` into the machine whose volume holds the state dir. Also the flyctl
// specifics: finding the binary, refusing versions that lose output tails (see MIN_FLYCTL), choosing the machine,
// and turning flyctl's error texts into sentences (the fake in test/helpers/fake-flyctl.mjs reproduces them).
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import { Failure } from "../cli.mts";
import { compareVersions } from "../openclaw/version.mts";
import { runProcess } from "../proc.mts";
import type { Connection } from "./connect.mts";
import { lastLine, remoteError, Transport, type Diagnosis, type ProcessOutcome } from "./transport.mts";

/** Below this, flyctl could exit 0 before copying the last bytes of remote output (flyctl PR #5045). */
export const MIN_FLYCTL = "0.4.80";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** $FLYCTL, else `fly`, else `flyctl` on PATH (the setup-flyctl action installs only `flyctl`). */
export function findFlyctl(): string {
  const override = process.env.FLYCTL;
  if (override) {
    const resolved = override.includes("/") ? override : onPath(override);
    if (!resolved || !isExecutable(resolved)) {
      throw new Failure(`FLYCTL is set to ${override}, which is not an executable file`);
    }
    return resolved;
  }
  const found = onPath("fly") ?? onPath("flyctl");
  if (!found) {
    throw new Failure(
      "flyctl is not installed (neither fly nor flyctl is on PATH); install it from https://fly.io/docs/flyctl/install/ or set FLYCTL",
    );
  }
  return found;
}

/** The environment flyctl runs with: no update checks, and never debug logging (it goes to stdout). */
export function flyEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FLY_NO_UPDATE_CHECK: "1" };
  delete env.LOG_LEVEL;
  return env;
}

/** Runs a short flyctl command (version, machine list) with a time limit; returns stdout, stderr, code. */
export async function runFlyctl(
  bin: string,
  args: string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const result = await runProcess([bin, ...args], { env: flyEnv(), timeoutMs });
  if (result.spawnError) {
    const { stdout, stderr, timedOut } = result;
    return { code: 127, stdout, stderr: `${stderr}${result.spawnError.message}`, timedOut };
  }
  return { code: result.code, stdout: result.stdout, stderr: result.stderr, timedOut: result.timedOut };
}

/** `fly version --json` → {"Version": "0.4.87"}; older builds: `fly v0.4.87 linux/amd64 Commit: ...`. */
export async function flyctlVersion(bin: string): Promise<string> {
  const json = await runFlyctl(bin, ["version", "--json"], 30_000);
  if (json.code === 0) {
    try {
      const start = json.stdout.indexOf("{");
      const parsed = JSON.parse(json.stdout.slice(start)) as { Version?: string };
      if (parsed.Version) return parsed.Version.replace(/^v/, "");
    } catch {
      // fall back to the text form
    }
  }
  const text = await runFlyctl(bin, ["version"], 30_000);
  const match = /v?(\d+\.\d+\.\d+)/.exec(text.stdout);
  if (text.code !== 0 || !match) {
    throw new Failure(
      `could not tell which flyctl version ${bin} is (${lastLine(text.stderr) || "no output"})`,
    );
  }
  return match[1];
}

export function checkFlyctlVersion(version: string): void {
  if (compareVersions(version, MIN_FLYCTL) < 0) {
    throw new Failure(
      `flyctl ${version} is too old: versions before ${MIN_FLYCTL} can end a download early and still report success, ` +
        `which would silently lose the end of the history; update it with 'fly version upgrade'`,
    );
  }
}

export interface FlyMachine {
  id: string;
  name?: string;
  state: string;
  region?: string;
  mounts: { path: string; volume?: string; name?: string }[];
  processGroup?: string;
}

/** Maps a flyctl failure to a sentence; shared by every flyctl call. */
export function diagnoseFlyctl(stderr: string, app: string, machine?: string): Diagnosis | undefined {
  // A token that may read the app but not issue an ssh certificate (a `readonly` token): retrying cannot help.
  if (/create ssh certificate[^\n]*(not authorized|unauthorized)/i.test(stderr)) {
    return {
      message: `the Fly token may not open ssh sessions to "${app}" (a read-only token?): create one with 'fly tokens create ssh -a ${app}' and set it as FLY_API_TOKEN`,
      transient: false,
    };
  }
  if (/no access token available|not logged in|unauthorized/i.test(stderr)) {
    return {
      message: `flyctl has no valid access token: set FLY_API_TOKEN (create one with 'fly tokens create ssh -a ${app}') or run 'fly auth login'`,
      transient: false,
    };
  }
  if (/missing an app name/i.test(stderr))
    return { message: "no Fly app given: pass --app NAME or set FLY_APP", transient: false };
  if (/Could not find App|app not found/i.test(stderr)) {
    return {
      message: `Fly app "${app}" was not found: check --app or FLY_APP, and that your token belongs to the app's organization`,
      transient: false,
    };
  }
  if (/has no started VMs/i.test(stderr)) {
    return {
      message: `Fly app "${app}" has no started machine: start it with 'fly machine start <id> -a ${app}' and run sync again`,
      transient: false,
    };
  }
  if (/not found\/started/i.test(stderr)) {
    return {
      message: `machine ${machine ?? "?"} of "${app}" is stopped or does not exist: check 'fly machine list -a ${app}'`,
      transient: false,
    };
  }
  if (
    /tunnel unavailable|can't establish agent|can't build tunnel|error connecting to SSH server|create ssh certificate|i\/o timeout|context deadline exceeded/i.test(
      stderr,
    )
  ) {
    return {
      message: `could not connect to "${app}" over flyctl ssh (${lastLine(stderr).replace(/^Error:\s*/, "")}); check 'fly status -a ${app}' and try again`,
      transient: true,
    };
  }
  if (
    /session forcibly closed|connection reset|broken pipe|EOF/i.test(stderr) &&
    !/Process exited with status/.test(stderr)
  ) {
    return {
      message: `the connection to "${app}" dropped before the transfer finished; nothing was changed, run sync again`,
      transient: true,
    };
  }
  return undefined;
}

/** Lists the app's machines and picks the one whose volume holds the state dir. */
export async function chooseMachine(
  bin: string,
  app: string,
  stateDir: string,
  requested?: string,
): Promise<FlyMachine> {
  const listed = await runFlyctl(bin, ["machine", "list", "-a", app, "--json"], 90_000);
  if (listed.timedOut) throw new Failure(`'fly machine list -a ${app}' did not answer within 90s; try again`);
  if (listed.code !== 0) {
    const known = diagnoseFlyctl(listed.stderr, app, requested);
    throw new Failure(
      known?.message ??
        `'fly machine list -a ${app}' failed: ${lastLine(listed.stderr) || `exit ${listed.code}`}`,
    );
  }
  let raw: unknown;
  try {
    const start = listed.stdout.indexOf("[");
    raw = JSON.parse(start >= 0 ? listed.stdout.slice(start) : listed.stdout);
  } catch {
    throw new Failure(`'fly machine list -a ${app} --json' did not return JSON; is flyctl up to date?`);
  }
  return pickMachine(parseMachines(raw), app, stateDir, requested);
}

/** `fly machine list --json` entries → what the choice needs. */
export function parseMachines(raw: unknown): FlyMachine[] {
  return (Array.isArray(raw) ? raw : []).map((m: any) => ({
    id: String(m.id),
    name: m.name,
    state: String(m.state ?? "unknown"),
    region: m.region,
    mounts: Array.isArray(m.config?.mounts) ? m.config.mounts : [],
    processGroup: m.config?.metadata?.fly_process_group,
  }));
}

/**
 * The machine to read from: the one asked for (it must be started), else the one started machine whose volume
 * holds the state dir; several, none started or none holding it is a Failure that says what to do.
 */
export function pickMachine(
  machines: FlyMachine[],
  app: string,
  stateDir: string,
  requested?: string,
): FlyMachine {
  const holds = (m: FlyMachine) =>
    m.mounts.some((mount) => {
      const path = String(mount.path ?? "").replace(/\/+$/, "");
      return path !== "" && (stateDir === path || stateDir.startsWith(`${path}/`));
    });
  const describe = (m: FlyMachine) => `${m.id} [${m.state}${m.region ? `, ${m.region}` : ""}]`;
  if (requested) {
    const machine = machines.find((m) => m.id === requested || m.name === requested);
    if (!machine) {
      throw new Failure(
        `machine ${requested} is not one of "${app}"'s machines (${machines.map(describe).join(", ") || "it has none"})`,
      );
    }
    if (machine.state !== "started") {
      throw new Failure(
        `machine ${machine.id} of "${app}" is ${machine.state}: start it with 'fly machine start ${machine.id} -a ${app}' and run sync again`,
      );
    }
    return machine;
  }
  if (machines.length === 0) throw new Failure(`Fly app "${app}" has no machines`);
  const holding = machines.filter(holds);
  if (holding.length === 0) {
    throw new Failure(
      `no machine of "${app}" mounts a volume that holds ${stateDir} (${machines.map(describe).join(", ")}); pass --state-dir or --machine`,
    );
  }
  const started = holding.filter((m) => m.state === "started");
  if (started.length === 1) return started[0];
  if (started.length > 1) {
    throw new Failure(
      `several started machines of "${app}" have a volume at ${stateDir} (${started.map(describe).join(", ")}), each with its own history; pick one with --machine ID`,
    );
  }
  throw new Failure(
    `the machine holding ${stateDir} is not started (${holding.map(describe).join(", ")}): start it with 'fly machine start ${holding[0].id} -a ${app}' and run sync again`,
  );
}

/**
 * Quotes one argument for flyctl's -C, which is split into argv (quotes honoured, adjacent quoted parts one word)
 * without a shell: single quotes, and a quote inside as '"'"' (closed, a double-quoted quote, reopened), a form
 * every such splitter and every POSIX shell read alike.
 */
function flyQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'"'"'`)}'`;
}

export class FlyTransport extends Transport {
  readonly kind = "fly" as const;
  constructor(
    readonly bin: string,
    readonly app: string,
    readonly machine: FlyMachine,
  ) {
    super();
  }
  describe(): string {
    return `Fly app "${this.app}" (machine ${this.machine.id})`;
  }
  protected command(remoteArgv: string[]) {
    return {
      file: this.bin,
      args: [
        "ssh",
        "console",
        "-a",
        this.app,
        "--machine",
        this.machine.id,
        "-q",
        "-C",
        remoteArgv.map(flyQuote).join(" "),
      ],
      env: flyEnv(),
    };
  }
  protected diagnose(outcome: ProcessOutcome, label: string): Diagnosis | undefined {
    const known = diagnoseFlyctl(outcome.stderr, this.app, this.machine.id);
    if (known) return known;
    const status = /Process exited with status (\d+)/.exec(outcome.stderr);
    if (status) {
      const remote = remoteError(outcome.stderr);
      return {
        message: `the ${label} failed on the bot's machine (status ${status[1]})${remote ? `: ${remote}` : ""}`,
        transient: false,
      };
    }
    if (outcome.code === 126)
      return {
        message: `flyctl gave up connecting to "${this.app}" (deadline exceeded); try again`,
        transient: true,
      };
    if (outcome.code === 127 && !outcome.spawnError) {
      return {
        message: `flyctl was interrupted while connecting to "${this.app}"; try again`,
        transient: true,
      };
    }
    return undefined;
  }
}

/** Finds flyctl, checks its version and picks the machine: a connected Fly transport. */
export async function connectFly(
  app: string | undefined,
  requested: string | undefined,
  stateDir: string,
  info: (message: string) => void,
): Promise<Connection> {
  if (!app) throw new Failure("no Fly app given: pass --app NAME or set FLY_APP", 2);
  const bin = findFlyctl();
  const version = await flyctlVersion(bin);
  checkFlyctlVersion(version);
  info(`flyctl ${version} (${bin})`);
  const machine = await chooseMachine(bin, app, stateDir, requested);
  info(
    `machine ${machine.id}${machine.name ? ` (${machine.name})` : ""} in ${machine.region ?? "?"}, ${machine.state}`,
  );
  return {
    transport: new FlyTransport(bin, app, machine),
    source: { transport: "fly", app, machine: machine.id, region: machine.region, flyctlVersion: version },
  };
}
