// The one place a transport is chosen: `--app` (Fly), `--ssh` or `--local` become a connected Transport plus
// what the provenance records about where the history came from.
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
  const stateDir = checkRemoteArg(options.stateDir, "--state-dir");
  switch (options.transport) {
    case "fly":
      return connectFly(options.app, options.machine, stateDir, info);
    case "ssh": {
      const target = parseSshTarget(options.ssh ?? "");
      const extra = (options.sshOptions ?? []).flatMap((option) => ["-o", option]);
      return { transport: new SshTransport(target, extra), source: { transport: "ssh", host: options.ssh } };
    }
    case "local":
      return { transport: new LocalTransport(), source: { transport: "local" } };
  }
}
