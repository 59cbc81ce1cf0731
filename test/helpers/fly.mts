// Puts the fake flyctl (fake-flyctl.mjs) on a PATH of its own, with a config the test can change.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { ROOT } from "./run.mts";

export interface FakeMachine {
  id: string;
  name?: string;
  state: string;
  region?: string;
  config: { mounts: { path: string; volume?: string; name?: string }[] };
}

export interface FakeFlyConfig {
  version?: string;
  loggedIn?: boolean;
  /** What each token may do (fake-flyctl.mjs); unset: any token may do anything. */
  tokens?: Record<string, { kind: "ssh" | "readonly" | "deploy" | "org"; app?: string }>;
  apps: Record<string, { machines: FakeMachine[] }>;
  faults?: Record<string, unknown>;
  counterFile?: string;
  log?: string;
  stdinLog?: string;
}

export interface FakeFly {
  bin: string;
  env: Record<string, string>;
  config: FakeFlyConfig;
  save(): void;
  calls(): string[][];
  /** The remote command of each `ssh console` call from the `from`th call on (remoteCommand). */
  sshSince(from: number): string[];
  /** What each call sent on stdin (the programs' source, decompressed), by its index in calls(). */
  stdins(): string[];
}

export function machine(id: string, mountPath: string, state = "started", region = "ams"): FakeMachine {
  return {
    id,
    name: `openclaw-${id.slice(0, 4)}`,
    state,
    region,
    config: { mounts: [{ path: mountPath, volume: `vol_${id}`, name: "openclaw_data" }] },
  };
}

/** A fake Fly account with app `my-bot` whose one started machine mounts `mountPath`. */
export function fakeFly(
  dir: string,
  mountPath: string,
  options: { binName?: string; config?: Partial<FakeFlyConfig> } = {},
): FakeFly {
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  const fake = join(ROOT, "test", "helpers", "fake-flyctl.mjs");
  chmodSync(fake, 0o755);
  const link = join(bin, options.binName ?? "flyctl");
  if (!existsSync(link)) symlinkSync(fake, link);
  const configPath = join(dir, "fake-fly.json");
  const config: FakeFlyConfig = {
    version: "0.4.87",
    apps: { "my-bot": { machines: [machine("148e6d4c2e9d89", mountPath)] } },
    counterFile: join(dir, "fake-fly.counter"),
    log: join(dir, "fake-fly.log"),
    stdinLog: join(dir, "fake-fly.stdin"),
    ...options.config,
  };
  const save = () => writeFileSync(configPath, JSON.stringify(config, null, 2));
  const calls = (): string[][] =>
    existsSync(config.log!)
      ? readFileSync(config.log!, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as string[])
      : [];
  save();
  // Keep only system folders on PATH besides the fake, so a real fly/flyctl can never be picked up.
  const systemPath = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((p) => !/fly/i.test(p))
    .join(delimiter);
  return {
    bin,
    config,
    save,
    env: {
      PATH: `${bin}${delimiter}${systemPath}`,
      FAKE_FLY_CONFIG: configPath,
      FLY_API_TOKEN: "FlyV1 fm2_faketoken_never_printed",
    },
    calls,
    sshSince: (from) =>
      calls()
        .slice(from)
        .filter((argv) => argv[0] === "ssh")
        .map(remoteCommand),
    stdins: () =>
      readFileSync(config.log!, "utf8")
        .trim()
        .split("\n")
        .map((_, i) => {
          const path = `${config.stdinLog}.${i}`;
          if (!existsSync(path)) return "";
          const bytes = readFileSync(path);
          return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("latin1");
        }),
  };
}

/** The remote command of a flyctl `ssh console` call, without the wrapper that unpacks the program's compressed
 * source on the bot. */
export function remoteCommand(argv: string[]): string {
  return argv.at(-1)!.replace(/^sh -c '[^']*gzip -dc[^']*' sh /, "");
}

/** A folder holding only BusyBox's applets (minus `without`), for a minimal remote's PATH. */
export function busyboxBin(dir: string, without: string[] = []): string {
  const busybox = ["/usr/bin/busybox", "/bin/busybox"].find(existsSync);
  if (!busybox)
    throw new Error("busybox is not installed (scripts/dev/test-tools.mts installs Debian's busybox)");
  const bin = join(dir, "busybox-bin");
  mkdirSync(bin, { recursive: true });
  const installed = spawnSync(busybox, ["--install", "-s", bin]);
  if (installed.status !== 0) throw new Error(`busybox --install: ${installed.stderr}`);
  for (const name of without) rmSync(join(bin, name));
  return bin;
}

/** Makes the fake machine run remote programs with this environment (e.g. a BusyBox-only PATH). */
export function setMachineEnv(fly: FakeFly, env: Record<string, string>): void {
  (fly.config.apps["my-bot"].machines[0] as FakeMachine & { env?: Record<string, string> }).env = env;
  fly.save();
}
