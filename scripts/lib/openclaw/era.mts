// Storage eras as strategies. OpenClaw has kept sessions in two ways (docs/sqlite-era.md, docs/naming.md): as
// files (sessions.json + one JSONL per transcript, up to 2026.7.1) and in a per-agent SQLite database (2026.7.2
// on). Each era is one module that says which remote program reads it, with which arguments, whether an
// incremental transfer is possible, and how the staged result is reconciled with the backup. Whatever the era,
// the backup keeps the file-era layout. A third era is one more module and one line in ERAS below.
import type { Reporter } from "../cli.mts";
import type { RemoteProgram } from "../remote/transport.mts";
import type { StreamResult } from "../remote/stream.mts";
import type { AgentInfo, Discovery } from "./discovery.mts";
import { filesEra } from "./era-files.mts";
import { sqliteEra } from "./era-sqlite.mts";

export type Era = "files" | "sqlite";

export interface EraContext {
  discovery: Discovery;
  agent: AgentInfo;
  /** OpenClaw's version on the bot, when known. */
  version?: string;
  reporter: Reporter;
}

export interface ReconcileContext {
  agentId: string;
  /** The backup's sessions folder (read only). */
  sessionsDir: string;
  /** This run's time (ISO), for names of kept copies. */
  at: string;
  reporter: Reporter;
}

export interface Reconciled {
  result: StreamResult;
  /** Sentences for the summary's warnings. */
  warnings: string[];
  /** What the provenance records about the storage read (e.g. the SQLite layout). */
  layout?: string;
}

export interface EraStrategy {
  readonly era: Era;
  /** Whether the agent's storage on the bot (as discovered) is this era's. */
  matches(agent: AgentInfo): boolean;
  /** What to say about the agent's storage ("(3 transcripts, 1.2 MB)"), after the era's name. */
  describe(agent: AgentInfo): string;
  /** Refuses what cannot work, with a sentence (a Failure); reports what will happen. */
  check(context: EraContext): void;
  /** The program that runs on the bot and emits the stream (remote/stream.mts). */
  readonly program: RemoteProgram;
  /** The program's arguments after the mode: where the agent is, then name filters (`-glob`, `+glob`). */
  args(stateDir: string, agentId: string, filters: string[]): string[];
  /** Whether `manifest` then `fetch` (only what changed, appends as their new bytes) gives the same result. */
  readonly incremental: boolean;
  /**
   * How the incremental listing avoids listing what did not change: `known` sends the backup's bucket digests
   * (openclaw/known.mts) and the bot lists only the buckets that differ; `quick` asks for sizes, mtimes and
   * inodes (nothing hashed on the bot) and only files whose stat changed are fetched. Without it: a full manifest.
   */
  readonly listing?: "known" | "quick";
  /** Makes the staged files fit the backup (same names for the same conversations); runs before any check. */
  reconcile(result: StreamResult, context: ReconcileContext): Promise<Reconciled>;
}

/** Every era, most specific first: the first whose `matches` holds is the agent's. */
export const ERAS: readonly EraStrategy[] = [sqliteEra, filesEra];

/** The era is read from what is on disk; the version only explains it. */
export function eraOf(agent: AgentInfo): EraStrategy {
  return ERAS.find((era) => era.matches(agent)) ?? filesEra;
}
