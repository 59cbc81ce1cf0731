// What a sync is asked to do and what it reports: the pipeline's input and output (sync/index.mts).
import type { Reporter } from "../cli.mts";
import type { Connection, TransportOptions } from "../remote/connect.mts";
import type { SyncSource } from "../store/provenance.mts";
import type { WorkspaceSummary } from "./workspace.mts";

export const TOOL = "openclaw-memory-sync 0.1.0";

export interface SyncOptions extends TransportOptions {
  agent?: string;
  memory: string;
  dryRun: boolean;
  force: boolean;
  allowEmpty: boolean;
  /** Seconds without data before a remote call is abandoned. */
  timeoutSeconds: number;
  /** Replace detected secrets by [REDACTED:<kind>] markers before anything reaches memory/ (default on). */
  redact?: boolean;
  /** Remove the memory folder's lock first (the run that held it is gone). */
  breakLock?: boolean;
  /** false with --no-workspace: the agent's memory files are not read. */
  workspace?: boolean;
  /** --workspace PATH: the agent's workspace on the bot, when openclaw.json and the defaults do not tell it. */
  workspaceDir?: string;
  reporter: Reporter;
  /** A connection the command opened already (remote/connect.mts's openEarly), used instead of a new one. */
  connection?: Connection;
}

export interface FileChange {
  name: string;
  change: "new" | "updated" | "unchanged" | "pruned-unchanged";
  size: number;
  heldBackBytes?: number;
}

export interface SyncSummary {
  ok: boolean;
  dryRun: boolean;
  source: SyncSource;
  memory: string;
  files: {
    new: number;
    updated: number;
    unchanged: number;
    skippedPruned: number;
    onlyLocal: number;
    total: number;
  };
  /** Over both the sessions and the workspace. */
  bytes: { transferred: number; written: number; cloud: number };
  heldBack: { lines: number; bytes: number };
  /** Secrets replaced by markers, in how many files, by kind (never the secrets themselves); the workspace's
   * included. */
  redactions: { total: number; files: number; kinds: Record<string, number> };
  /**
   * What .syncignore kept out: keys of the bot's index left out of the stored one, files on the bot not
   * transferred (or dropped on arrival), and files already in memory/ that this run removed.
   */
  excluded: { keys: number; files: number; removed: number };
  /** Files that arrived but are not backed up, by kind (each also named in `skippedFiles`). */
  skipped: Record<string, number>;
  skippedFiles: { name: string; kind: string; reason: string }[];
  /** Files backed up although OpenClaw is not known to write such a name (fail safe): named here and warned. */
  unknownFiles: string[];
  /** Files stored under an escaped name because this filesystem cannot hold the bot's (store/names.mts). */
  renamed: { name: string; remoteName: string; reason: string }[];
  warnings: string[];
  changes: FileChange[];
  /** The agent's memory files (<memory>/workspace/): counts, each file's change, or why they were not read. */
  workspace: WorkspaceSummary;
  provenanceWritten: boolean;
  /** Only changed files travelled (and grown transcripts as their new bytes). */
  incremental: boolean;
  durationMs: number;
}
