// The SQLite era (OpenClaw 2026.7.2 on): export-sqlite.mjs runs with the bot's own node (node:sqlite, one read
// transaction, nothing written on the bot) and emits the same stream as pull.sh, in the file-era layout, with
// `I layout` and `I user_version` records; an unknown layout fails remotely with a sentence (docs/sqlite-era.md).
// Incremental: the listing carries the backup's bucket digests (openclaw/known.mts) and the bot lists only what
// differs, then `fetch` sends what changed, a grown transcript as its new events (the bot checks the sha256 of
// what the backup holds). The staged result is reconciled with a file-era backup (openclaw/continuity.mts), so
// that one history continues across the upgrade.
import { Failure } from "../cli.mts";
import { reconcileSqliteExport } from "./continuity.mts";
import type { EraContext, EraStrategy } from "./era.mts";
import { hasNodeSqlite } from "./version.mts";

export const sqliteEra: EraStrategy = {
  era: "sqlite",
  matches: (agent) => agent.hasSqlite,
  describe: () => "",
  check({ discovery, agent, reporter }: EraContext): void {
    if (!discovery.tools.node || !hasNodeSqlite(discovery.node)) {
      throw new Failure(
        `agent ${agent.id}'s sessions are in SQLite, which is read with the bot's own Node.js (22.5 or later, for node:sqlite), but ${discovery.node ? `the bot has Node ${discovery.node}` : "the bot's machine has no node on PATH"}`,
      );
    }
    reporter.info(
      `agent ${agent.id}: exporting ${discovery.stateDir}/agents/${agent.id}/agent/openclaw-agent.sqlite with node on the bot (read-only, one transaction)`,
    );
  },
  program: "export-sqlite.mjs",
  args: (stateDir, agentId, filters) => [stateDir, agentId, ...filters],
  incremental: true,
  listing: "known",
  async reconcile(result, { agentId, sessionsDir, at, reporter }) {
    const layout = result.info.layout;
    reporter.info(
      `agent ${agentId}: SQLite layout ${layout ?? "?"} (user_version ${result.info.user_version ?? "?"})`,
    );
    // One history across the upgrade: land the database's transcripts on the files the backup already keeps.
    const continuity = await reconcileSqliteExport(result, sessionsDir, { at });
    for (const note of continuity.notes) reporter.info(note);
    return { result: continuity.result, warnings: continuity.warnings, layout };
  },
};
