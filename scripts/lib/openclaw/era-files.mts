// The file era (OpenClaw up to 2026.7.1, and any agent without a database yet): pull.sh reads the sessions folder
// with POSIX tools. Incremental: a quick listing (size, mtime and inode; nothing read on the bot), then `fetch`
// of the files whose stat changed since they were read. Nothing to reconcile: the files are already in the
// backup's layout.
import { Failure, formatBytes, plural } from "../cli.mts";
import type { EraContext, EraStrategy } from "./era.mts";
import { FIRST_SQLITE_VERSION, compareCalendar } from "./version.mts";

export const filesEra: EraStrategy = {
  era: "files",
  matches: (agent) => !agent.hasSqlite,
  describe: (agent) => ` (${plural(agent.transcripts, "conversation")}, ${formatBytes(agent.bytes)})`,
  check({ discovery, agent, version, reporter }: EraContext): void {
    if (version && compareCalendar(version, FIRST_SQLITE_VERSION) >= 0) {
      reporter.warn(
        `OpenClaw ${version} keeps sessions in SQLite, but agent ${agent.id} has no database yet; backing up its session files (not yet imported by 'openclaw doctor --fix')`,
      );
    }
    if (!agent.hasSessions) {
      throw new Failure(
        `agent ${agent.id} has no sessions folder in ${discovery.stateDir}/agents/${agent.id}; nothing to back up`,
      );
    }
  },
  program: "pull.sh",
  args: (stateDir, agentId, filters) => [stateDir, agentId, ...filters],
  incremental: true,
  listing: "quick",
  reconcile: async (result) => ({ result, warnings: [] }),
};
