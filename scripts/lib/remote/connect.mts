// The one place a transport is chosen: `--app` (Fly), `--ssh` or `--local` become a connected Transport plus
// what the provenance records about where the history came from.
import { UsageError } from "../cli.mts";
import type { SyncSource } from "../store/provenance.mts";
import { connectFly } from "./fly.mts";
import { LocalTransport } from "./local.mts";
import { SshTransport, parseSshTarget } from "./ssh.mts";
import { checkRemoteArg, type Transport, type TransportKind } from "./transport.mts";

export interface TransportOptions {
  transport: TransportKind;
  /** Fly: the app, and optionally the machine (id or name). */
  app?: string;
  machine?: string;
  /** ssh: `[user@]host[:port]` and `-o` options. */
  ssh?: string;
  sshOptions?: string[];
  /** The state dir on the bot's machine (a Fly machine is chosen by the volume that holds it). */
  stateDir: string;
}

/** Where the history comes from, as the provenance file records it. */
export type TransportSource = Pick<
  SyncSource,
  "transport" | "app" | "machine" | "region" | "host" | "flyctlVersion"
>;

export interface Connection {
  transport: Transport;
  source: TransportSource;
}

/** Connects the transport the options ask for; `info` gets a line for each thing learned (flyctl, machine). */
export async function connectTransport(
  options: TransportOptions,
  info: (message: string) => void,
): Promise<Connection> {
  if (options.transport !== "fly") return connectSync(options);
  const stateDir = checkRemoteArg(options.stateDir, "--state-dir");
  return connectFly(options.app, options.machine, stateDir, info);
}

/** ssh and a local folder: nothing to look up. */
function connectSync(options: TransportOptions): Connection {
  checkRemoteArg(options.stateDir, "--state-dir");
  if (options.transport === "ssh") {
    const target = parseSshTarget(options.ssh ?? "");
    const extra = (options.sshOptions ?? []).flatMap((option) => ["-o", option]);
    return { transport: new SshTransport(target, extra), source: { transport: "ssh", host: options.ssh } };
  }
  return { transport: new LocalTransport(), source: { transport: "local" } };
}

/**
 * A connection opened before the pipeline has loaded (sync-memory): for ssh and a local folder, whose command
 * needs nothing from the network, the bundle's connection is started at once (Transport.preconnect) and waits
 * for its script. Fly first has to find the machine, and connects in the pipeline.
 */
export function openEarly(options: TransportOptions & { timeoutSeconds: number }): Connection | undefined {
  if (options.transport === "fly") return undefined;
  const connection = connectSync(options);
  connection.transport.preconnect({ label: "discovery", idleTimeoutMs: options.timeoutSeconds * 1000 });
  return connection;
}

/** The flags that say where the bot is, shared by every command that reaches it (sync-memory, restore). */
export const TRANSPORT_FLAGS = {
  app: { type: "string" },
  machine: { type: "string" },
  ssh: { type: "string" },
  "ssh-option": { type: "string", multiple: true },
  local: { type: "boolean" },
  "state-dir": { type: "string" },
  timeout: { type: "string" },
} as const;

export interface TransportFlags {
  app?: string;
  machine?: string;
  ssh?: string;
  "ssh-option"?: string[];
  local?: boolean;
  "state-dir"?: string;
  timeout?: string;
}

/**
 * The transport options those flags (and FLY_APP, FLY_MACHINE, REMOTE_STATE_DIR, SYNC_TIMEOUT) ask for, plus the
 * idle timeout in seconds; a contradiction or a bad value is a UsageError.
 */
export function transportOptionsFrom(flags: TransportFlags): TransportOptions & { timeoutSeconds: number } {
  const app = flags.app ?? (flags.ssh || flags.local ? undefined : process.env.FLY_APP || undefined);
  const chosen = [
    app !== undefined && "--app",
    flags.ssh !== undefined && "--ssh",
    flags.local && "--local",
  ].filter(Boolean);
  if (chosen.length > 1)
    throw new UsageError(`${chosen.join(" and ")} cannot be combined: pick one way to reach the bot`);
  if (chosen.length === 0)
    throw new UsageError("say where the bot is: --app NAME (or FLY_APP), --ssh HOST or --local");
  if (flags["ssh-option"] && flags.ssh === undefined)
    throw new UsageError("--ssh-option only applies to --ssh");
  if (flags.machine && app === undefined) throw new UsageError("--machine only applies to a Fly app (--app)");
  const timeout = Number(flags.timeout ?? process.env.SYNC_TIMEOUT ?? 120);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new UsageError(`--timeout ${flags.timeout} is not a positive number of seconds`);
  const stateDir = flags["state-dir"] ?? process.env.REMOTE_STATE_DIR ?? "/data";
  if (!stateDir) throw new UsageError("--state-dir is empty");
  return {
    transport: app !== undefined ? "fly" : flags.ssh !== undefined ? "ssh" : "local",
    app,
    machine: flags.machine ?? (app !== undefined ? process.env.FLY_MACHINE || undefined : undefined),
    ssh: flags.ssh,
    sshOptions: flags["ssh-option"] ?? [],
    stateDir,
    timeoutSeconds: timeout,
  };
}
