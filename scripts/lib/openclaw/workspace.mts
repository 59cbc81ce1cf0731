// The agent's workspace: which of its files are the agent's memory (backed up under <memory>/workspace/ and
// restored), and where the workspace is on the bot. The rules are OpenClaw's own resolveAgentWorkspaceDir, read
// in the sources of 2026.7.1 (config-utils) and 2026.9.6 (agent-scope-config, workspace-default-path):
//   1. the agent's own `agents.list[].workspace`;
//   2. for the default agent (the list entry with `default: true`, else the first, else `main`):
//      `agents.defaults.workspace`, else the version's default — 2026.7.1 `~/.openclaw/workspace` (the home of
//      the user the gateway runs as: outside a /data volume), 2026.9.6 with a state dir `<state>/workspace`;
//   3. any other agent: `<agents.defaults.workspace>/<id>`, else `<state>/workspace-<id>`.
// A leading `~` is that user's home. OPENCLAW_WORKSPACE_DIR in the gateway's environment cannot be seen from
// here: pass --workspace PATH then.
import { posix } from "node:path";
import type { Era } from "./era.mts";

/** The workspace files the agent keeps its memory in (other OpenClaw backup tools copy exactly these). */
export const WORKSPACE_FILES = ["AGENTS.md", "IDENTITY.md", "MEMORY.md", "SOUL.md", "TOOLS.md", "USER.md"];
/** The folder inside the memory folder that holds them. */
export const WORKSPACE_DIR = "workspace";

/** Whether a path inside the workspace is one of the agent's memory files (`MEMORY.md`, `memory/x.md`, …). */
export function isWorkspaceFile(path: string): boolean {
  if (WORKSPACE_FILES.includes(path)) return true;
  const match = /^memory\/([^/]+)$/.exec(path);
  return Boolean(match && match[1].endsWith(".md") && !match[1].startsWith(".") && match[1] !== ".md");
}

export interface WorkspaceFacts {
  config: "ok" | "missing" | "unreadable";
  agentWorkspace?: string;
  defaultsWorkspace?: string;
  defaultAgent?: string;
  home?: string;
}

export function parseWorkspaceFacts(text: string): WorkspaceFacts | undefined {
  const lines = text.split("\n");
  const start = lines.indexOf("OCSYNC-WORKSPACE 1");
  if (start < 0 || !lines.some((l) => l.startsWith("end\t"))) return undefined;
  const facts: WorkspaceFacts = { config: "missing" };
  for (const line of lines.slice(start + 1)) {
    const [kind, ...rest] = line.split("\t");
    const value = rest.join("\t");
    if (kind === "config") facts.config = value as WorkspaceFacts["config"];
    if (kind === "agent-workspace") facts.agentWorkspace = value;
    if (kind === "defaults-workspace") facts.defaultsWorkspace = value;
    if (kind === "default-agent") facts.defaultAgent = value;
    if (kind === "home") facts.home = value;
  }
  return facts;
}

export interface WorkspaceLocation {
  path: string;
  /** Where the path comes from, for messages. */
  source: string;
  /** Whether it is outside the state dir (on Fly: not on the volume, lost when the machine is replaced). */
  outsideStateDir: boolean;
}

/** Where the agent's workspace is on the bot, or why that cannot be told. */
export function resolveWorkspace(
  facts: WorkspaceFacts,
  options: { agent: string; stateDir: string; era: Era; override?: string },
): WorkspaceLocation | { error: string } {
  const state = posix.normalize(options.stateDir).replace(/(.)\/+$/, "$1");
  const user = (path: string): string | undefined => {
    if (path === "~" || path.startsWith("~/"))
      return facts.home ? posix.join(facts.home, path.slice(1)) : undefined;
    return path.startsWith("/") ? posix.normalize(path) : undefined;
  };
  const located = (path: string | undefined, source: string): WorkspaceLocation | { error: string } => {
    if (!path)
      return {
        error: `the agent's workspace (${source}) is not an absolute path on the bot's machine (a ~ whose home cannot be told, or a relative path); pass --workspace PATH`,
      };
    const clean = path.replace(/(.)\/+$/, "$1");
    return {
      path: clean,
      source,
      outsideStateDir: !(clean === state || clean.startsWith(state === "/" ? "/" : `${state}/`)),
    };
  };
  if (options.override) return located(user(options.override), "--workspace");
  const agent = options.agent.toLowerCase();
  if (facts.agentWorkspace)
    return located(user(facts.agentWorkspace), `agents.list[${agent}].workspace in openclaw.json`);
  const isDefault = agent === (facts.defaultAgent ?? "main");
  if (isDefault) {
    if (facts.defaultsWorkspace)
      return located(user(facts.defaultsWorkspace), "agents.defaults.workspace in openclaw.json");
    if (options.era === "sqlite") return located(posix.join(state, "workspace"), "OpenClaw's default");
    return located(
      facts.home ? posix.join(facts.home, ".openclaw", "workspace") : undefined,
      "OpenClaw's default, ~/.openclaw/workspace of the gateway's user",
    );
  }
  if (facts.defaultsWorkspace) {
    const base = user(facts.defaultsWorkspace);
    return located(base && posix.join(base, agent), "agents.defaults.workspace in openclaw.json");
  }
  return located(posix.join(state, `workspace-${agent}`), "OpenClaw's default for a second agent");
}
