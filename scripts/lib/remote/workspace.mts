// The local side of workspace.sh, the remote program that reads the agent's workspace: where the workspace is
// (its facts, resolved by OpenClaw's rules in openclaw/workspace.mts), which memory files it has (sizes and
// sha256, no data), and the named files' bytes into a staging folder. Sync backs the files up with these calls
// (sync/workspace.mts), restore compares and checks with them (restore/run.mts); neither spells the calls itself.
// The flags that choose the workspace (--no-workspace, --workspace PATH) are here too, one meaning for both.
import { mkdir } from "node:fs/promises";
import { Readable } from "node:stream";
import { Failure, UsageError } from "../cli.mts";
import type { Era } from "../openclaw/era.mts";
import { parseWorkspaceFacts, resolveWorkspace, type WorkspaceLocation } from "../openclaw/workspace.mts";
import { readRemoteStream, type StreamResult } from "./stream.mts";
import type { Transport } from "./transport.mts";
import type { RemoteCall } from "./bundle.mts";

/** parseArgs options of the workspace flags, shared by sync-memory and restore. */
export const WORKSPACE_FLAGS = {
  workspace: { type: "string" },
  "no-workspace": { type: "boolean" },
} as const;

export interface WorkspaceFlags {
  workspace?: string;
  "no-workspace"?: boolean;
}

/** What the workspace flags ask for; a contradiction or a path that is not absolute on the bot is a UsageError. */
export function workspaceOptionsFrom(flags: WorkspaceFlags): { workspace: boolean; workspaceDir?: string } {
  if (flags.workspace !== undefined && flags["no-workspace"])
    throw new UsageError("--workspace and --no-workspace cannot be combined: pick one");
  if (flags.workspace !== undefined && !/^(\/|~(\/|$))/.test(flags.workspace))
    throw new UsageError(
      `--workspace ${flags.workspace} is not an absolute path on the bot (e.g. /data/workspace)`,
    );
  return { workspace: !flags["no-workspace"], workspaceDir: flags.workspace };
}

interface Where {
  stateDir: string;
  agentId: string;
  timeoutSeconds: number;
}

/** The look-up call of locateWorkspace: the facts, and the candidate's listing when there is one. */
export function workspaceFactsCall(where: {
  stateDir: string;
  agentId: string;
  candidate?: string;
}): RemoteCall {
  return {
    program: "workspace.sh",
    args: ["facts", where.stateDir, where.agentId, ...(where.candidate ? [where.candidate] : [])],
  };
}

/**
 * Where the agent's workspace is on the bot: `--workspace` when given, else openclaw.json's settings, else the
 * version's default. With `candidate` (where the last sync found it) the same call lists that folder too, and
 * `listing` is its manifest when the answer is that folder. An answer cut short is a Failure that tells to run
 * `command` again.
 */
export async function locateWorkspace(
  transport: Transport,
  where: Where & { era: Era; override?: string; command: string; candidate?: string },
): Promise<(WorkspaceLocation & { listing?: StreamResult }) | { error: string }> {
  // The facts end with their `end 0` line; the candidate's manifest, when asked for, follows it. Both are read
  // inside the call, so a failure on the bot is explained as any remote failure is.
  const { text, listing } = await transport.call({
    ...workspaceFactsCall(where),
    label: "workspace look-up",
    idleTimeoutMs: where.timeoutSeconds * 1000,
    consume: async (stdout) => {
      const chunks: Buffer[] = [];
      for await (const chunk of stdout) chunks.push(chunk as Buffer);
      const answer = Buffer.concat(chunks);
      const end = answer.indexOf("\nend\t0\n");
      const split = end < 0 ? answer.length : end + "\nend\t0\n".length;
      const rest = answer.subarray(split);
      return {
        text: answer.subarray(0, split).toString("utf8"),
        listing:
          where.candidate && rest.length
            ? await readRemoteStream(Readable.from([rest]), { paths: true })
            : undefined,
      };
    },
  });
  const facts = parseWorkspaceFacts(text);
  if (!facts)
    throw new Failure(
      `the workspace look-up answer from the bot's machine was cut short; run ${where.command} again`,
    );
  const location = resolveWorkspace(facts, {
    agent: where.agentId,
    stateDir: where.stateDir,
    era: where.era,
    override: where.override,
  });
  if ("error" in location || !listing || location.path !== where.candidate) return location;
  return { ...location, listing };
}

/** The memory files in the workspace `path` (sizes and sha256; `info.workspace` is "missing" when it is not
 * there), and the copies a restore put beside them. */
export function listWorkspace(
  transport: Transport,
  where: Where & { path: string; label?: string },
): Promise<StreamResult> {
  return transport.call<StreamResult>({
    program: "workspace.sh",
    args: ["manifest", where.stateDir, where.agentId, where.path],
    label: where.label ?? "workspace listing",
    idleTimeoutMs: where.timeoutSeconds * 1000,
    consume: (stdout) => readRemoteStream(stdout, { paths: true }),
  });
}

/** The named memory files of the workspace `path`, with their bytes, into `stagingDir`. */
export function readWorkspaceFiles(
  transport: Transport,
  where: Where & { path: string; names: string[]; stagingDir: string },
): Promise<StreamResult> {
  return transport.call<StreamResult>({
    program: "workspace.sh",
    args: [
      "stream",
      where.stateDir,
      where.agentId,
      where.path,
      ...where.names.map((name) => `=${Buffer.from(name).toString("hex")}`),
    ],
    label: "workspace transfer",
    idleTimeoutMs: where.timeoutSeconds * 1000,
    consume: async (stdout) => {
      await mkdir(where.stagingDir, { recursive: true });
      return readRemoteStream(stdout, { paths: true, stagingDir: where.stagingDir });
    },
  });
}
