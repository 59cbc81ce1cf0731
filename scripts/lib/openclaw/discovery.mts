// What discover.sh found on the bot's machine, parsed; the OpenClaw version in the reference's order of
// preference; and the choice of agent. (The storage era is openclaw/era.mts's.)
import { Failure } from "../cli.mts";
import { normalizeVersion } from "./version.mts";

export interface AgentInfo {
  id: string;
  hasSessions: boolean;
  hasSqlite: boolean;
  transcripts: number;
  bytes: number;
}

export interface Discovery {
  state: "ok" | "missing" | "notdir" | "unreadable";
  stateDir: string;
  tools: Record<string, boolean>;
  versions: Partial<Record<VersionSource, string>>;
  node?: string;
  agents: AgentInfo[];
}

export type VersionSource = "cli" | "app" | "package" | "installed" | "config";
/** `openclaw --version`, `node /app/openclaw.mjs --version`, /app/package.json, the npm-installed package's
 * package.json (when the CLI is not on PATH), openclaw.json meta. */
export const VERSION_ORDER: VersionSource[] = ["cli", "app", "package", "installed", "config"];
export const VERSION_SOURCE_TEXT: Record<VersionSource, string> = {
  cli: "openclaw --version",
  app: "node /app/openclaw.mjs --version",
  package: "/app/package.json",
  installed: "the installed openclaw package.json",
  config: "openclaw.json meta.lastTouchedVersion",
};

export function parseDiscovery(text: string): Discovery {
  const lines = text.split("\n");
  if (lines[0]?.trim() !== "OCSYNC-DISCOVER 1") {
    throw new Failure(
      "the bot's machine did not answer the discovery like a POSIX shell should (something else wrote to stdout)",
    );
  }
  if (!lines.some((line) => line.startsWith("end\t"))) {
    throw new Failure("the discovery answer from the bot's machine was cut short; run sync again");
  }
  const result: Discovery = { state: "missing", stateDir: "", tools: {}, versions: {}, agents: [] };
  for (const line of lines.slice(1)) {
    const fields = line.split("\t");
    switch (fields[0]) {
      case "state":
        result.state = fields[1] as Discovery["state"];
        result.stateDir = fields[2] ?? "";
        break;
      case "tool":
        result.tools[fields[1]] = fields[2] === "yes";
        break;
      case "version":
        if (VERSION_ORDER.includes(fields[1] as VersionSource) && fields[2]) {
          result.versions[fields[1] as VersionSource] = fields.slice(2).join(" ").trim();
        }
        break;
      case "node":
        result.node = fields[1];
        break;
      case "agent":
        result.agents.push({
          id: fields[1],
          hasSessions: fields[2] === "1",
          hasSqlite: fields[3] === "1",
          transcripts: Number(fields[4] ?? 0),
          bytes: Number(fields[5] ?? 0),
        });
        break;
    }
  }
  return result;
}

export function openclawVersion(discovery: Discovery): { version?: string; source?: VersionSource } {
  for (const source of VERSION_ORDER) {
    const raw = discovery.versions[source];
    const version = raw && normalizeVersion(raw);
    if (version) return { version, source };
  }
  return {};
}

export function chooseAgent(discovery: Discovery, requested?: string): AgentInfo {
  const ids = discovery.agents.map((a) => a.id);
  if (requested) {
    const agent = discovery.agents.find((a) => a.id === requested);
    if (!agent) {
      throw new Failure(
        `agent "${requested}" does not exist in ${discovery.stateDir}/agents (found: ${ids.join(", ") || "none"})`,
      );
    }
    return agent;
  }
  if (discovery.agents.length === 0) {
    throw new Failure(
      `${discovery.stateDir} holds no agents (no ${discovery.stateDir}/agents/*/): is --state-dir right?`,
    );
  }
  const main = discovery.agents.find((a) => a.id === "main");
  if (main) return main;
  if (discovery.agents.length === 1) return discovery.agents[0];
  throw new Failure(
    `${discovery.stateDir} holds several agents (${ids.join(", ")}) and none is "main"; pick one with --agent ID`,
  );
}
