// Stage 2, discover: run discover.sh on the bot's machine and read what it found (state dir, tools, OpenClaw's
// version, agents). Nothing is transferred before this.
import { Failure, type Reporter } from "../cli.mts";
import {
  VERSION_SOURCE_TEXT,
  openclawVersion,
  parseDiscovery,
  type Discovery,
  type VersionSource,
} from "../openclaw/discovery.mts";
import { REMOTE_EXCLUDE } from "../openclaw/files.mts";
import type { RemoteCall } from "../remote/bundle.mts";
import type { Transport } from "../remote/transport.mts";

export interface Discovered {
  discovery: Discovery;
  version?: string;
  versionSource?: VersionSource;
}

/** The discovery call for the state dir asked for. */
export function discoveryCall(stateDir: string): RemoteCall {
  return { program: "discover.sh", args: [stateDir, ...REMOTE_EXCLUDE.map((p) => `-${p}`)] };
}

export async function discover(
  transport: Transport,
  options: { stateDir: string; timeoutSeconds: number; reporter: Reporter },
): Promise<Discovered> {
  const text = await transport.call({
    ...discoveryCall(options.stateDir),
    label: "discovery",
    idleTimeoutMs: options.timeoutSeconds * 1000,
    consume: async (stdout) => {
      const chunks: Buffer[] = [];
      for await (const chunk of stdout) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  });
  const discovery = parseDiscovery(text);
  if (discovery.state === "missing") {
    throw new Failure(
      `the state dir ${options.stateDir} does not exist on ${transport.describe()}; pass --state-dir (env REMOTE_STATE_DIR)`,
    );
  }
  if (discovery.state === "notdir") {
    throw new Failure(
      `the state dir ${options.stateDir} on ${transport.describe()} is a file, not a folder; pass the folder that holds openclaw.json and agents/ with --state-dir (env REMOTE_STATE_DIR)`,
    );
  }
  if (discovery.state === "unreadable") {
    throw new Failure(
      `the state dir ${options.stateDir} on ${transport.describe()} cannot be read by the ssh user`,
    );
  }
  const { version, source: versionSource } = openclawVersion(discovery);
  options.reporter.info(
    `OpenClaw ${version ?? "version unknown"}${versionSource ? ` (from ${VERSION_SOURCE_TEXT[versionSource]})` : ""} on ${transport.describe()}`,
  );
  options.reporter.info(
    `agents in ${discovery.stateDir}: ${discovery.agents.map((a) => `${a.id} (${a.hasSqlite ? "sqlite" : a.hasSessions ? "files" : "empty"})`).join(", ") || "none"}`,
  );
  return { discovery, version, versionSource };
}
