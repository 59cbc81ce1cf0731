// prune: trims memory/ to the recently active sessions; pruned sessions stay in git history and in a log.
// Usage: npx tsx scripts/prune.mts [--memory DIR] [--older-than 30d] [--keep-last N] [--now ISO] [--dry-run] [--json]
import { join, relative } from "node:path";
import {
  Reporter,
  UsageError,
  formatBytes,
  output,
  parseFlags,
  plural,
  printJson,
  runMain,
} from "./lib/cli.mts";
import "./lib/secrets.mts"; // masks any secret in what this command prints
import { parseDuration } from "./lib/duration.mts";
import { toEpochMs } from "./lib/openclaw/activity.mts";
import { LOG_FILE, publicPlan, runPrune, type PrunePlan, type SessionInfo } from "./lib/prune.mts";

const HELP = `prune: trim memory/ to the recently active sessions; pruned sessions stay in git history.

Usage: npx tsx scripts/prune.mts [options]

Options:
  --memory DIR       the memory folder (default: memory)
  --older-than AGE   prune sessions whose last activity is older than AGE (default: 30d).
                     AGE: 30d, 12h, 6w, 90m, 1d12h, or ISO 8601 such as P30D, PT12H
  --keep-last N      always keep the N most recently active sessions, whatever their age (default: 1)
  --now ISO          the clock, e.g. 2026-11-20T09:00:00Z (default: the current time); a time without a
                     zone is UTC, as are zone-less timestamps in transcripts
  --dry-run          list exactly what a run would remove (sessions, files, bytes); change nothing
  --break-lock       remove the memory folder's lock first: only when the run that holds it is gone
  --json             print the result as one JSON document on stdout
  -h, --help         show this help

A session is all of its files: its transcript, topic transcripts, fork, and .reset./.deleted./.bak. archives,
with the sessions.json entries that name it. They are kept or pruned together.
Last activity is the newest timestamp inside the session's files, else its index entries' updatedAt, else the
time in an archive's name; never a file's mtime. AGE is measured back from the newest activity in the history
(or from --now, if that is earlier), so a bot that has been idle keeps its last AGE of conversations.
Inside a git work tree only sessions whose files are all committed unchanged in HEAD are pruned; the others
are kept until the next commit. Each pruned session is appended to <memory>/${LOG_FILE} (with the commit
that holds its files), and pruned files are marked prunedAt in sync-provenance.json so sync leaves them out.

A run is one journaled transaction: killed at any moment (even by SIGKILL or a power cut), it is completed or
rolled back by the next sync, prune or verify. Removed index keys are remembered in sync-provenance.json
(prunedKeys), so sync leaves them out while the cloud's entry is unchanged.

Exit status: 0 done (or nothing to prune), 1 failed (memory/ unchanged), 2 bad usage.`;

interface Flags {
  memory: string;
  "older-than": string;
  "keep-last": string;
  now?: string;
  "dry-run": boolean;
  "break-lock": boolean;
  json: boolean;
  help: boolean;
}

async function main(): Promise<number> {
  const { values: flags, positionals } = parseFlags<Flags>(
    {
      memory: { type: "string", default: "memory" },
      "older-than": { type: "string", default: "30d" },
      "keep-last": { type: "string", default: "1" },
      now: { type: "string" },
      "dry-run": { type: "boolean", default: false },
      "break-lock": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    process.argv.slice(2),
    true,
  );
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length)
    throw new UsageError(`Unexpected argument '${positionals[0]}'; prune takes only options`);
  const olderThanMs = parseDuration(flags["older-than"]);
  if (olderThanMs === undefined) {
    throw new UsageError(
      `--older-than '${flags["older-than"]}' is not a duration such as 30d, 12h, 6w or P30D`,
    );
  }
  if (olderThanMs <= 0) throw new UsageError(`--older-than must be longer than zero`);
  if (!/^\d+$/.test(flags["keep-last"]) || Number(flags["keep-last"]) < 1) {
    throw new UsageError(`--keep-last must be a whole number of at least 1, so the history is never emptied`);
  }
  let now = Date.now();
  if (flags.now !== undefined) {
    // A time without a zone is UTC, like the timestamps in the transcripts.
    now = /^\d{4}-\d{2}-\d{2}/.test(flags.now) ? (toEpochMs(flags.now) ?? NaN) : NaN;
    if (Number.isNaN(now))
      throw new UsageError(`--now '${flags.now}' is not an ISO time such as 2026-11-20T09:00:00Z`);
  }
  if (flags.memory === "") throw new UsageError(`--memory needs a folder`);

  const reporter = new Reporter("prune", flags.json);
  const { plan, warnings, notes } = await runPrune({
    memoryDir: flags.memory,
    olderThanMs,
    olderThan: flags["older-than"],
    keepLast: Number(flags["keep-last"]),
    now,
    dryRun: flags["dry-run"],
    breakLock: flags["break-lock"],
  });
  for (const note of notes) reporter.info(note);
  for (const bad of plan.malformed) {
    reporter.warn(
      `${shown(join(plan.sessionsDir, bad.file))}: skipped ${plural(bad.lines, "malformed line")} (line ${bad.at.join(", ")}${bad.lines > bad.at.length ? ", ..." : ""})`,
    );
  }
  for (const session of plan.keep.filter((s) => s.reason === "unknown-age")) {
    reporter.warn(`kept session ${session.sessionId}: nothing in it carries a time`);
  }
  if (plan.unattachedKeys.length) {
    reporter.warn(
      `left ${plural(plan.unattachedKeys.length, "index entry", "index entries")} without a sessionId alone`,
    );
  }
  if (!plan.inGit && plan.prune.length) {
    reporter.warn(
      `${shown(plan.memoryDir)} is not in a git work tree: pruned files are recoverable only from other backups`,
    );
  }

  for (const warning of warnings) reporter.warn(warning);

  if (flags.json) {
    printJson({ dryRun: flags["dry-run"], ...publicPlan(plan), log: join(plan.memoryDir, LOG_FILE) });
    return 0;
  }
  output(summary(plan, flags["dry-run"]));
  return 0;
}

/** A path as the user would type it: relative when under the current folder. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

function describe(session: SessionInfo): string {
  const keys = session.keys.length ? session.keys.join(", ") : "no index entry";
  const files = session.files.length
    ? `${plural(session.files.length, "file")}, ${formatBytes(session.bytes)}`
    : "no files";
  return `  ${session.sessionId}  last active ${session.lastActivity ?? "unknown"}  (${keys}; ${files})\n`;
}

function summary(plan: PrunePlan, dryRun: boolean): string {
  const { removed, kept } = plan.totals;
  const anchor = plan.newestActivity && plan.newestActivity < plan.now ? "the newest activity" : "now";
  let out = `Cutoff ${plan.cutoff}: ${plan.olderThan} before ${anchor}${anchor === "now" ? ` (${plan.now})` : `, ${plan.newestActivity}`}.\n`;
  if (removed.sessions === 0) {
    out += `Nothing to prune; kept ${plural(kept.sessions, "session")} (${formatBytes(kept.bytes)}).\n`;
  } else {
    out += `${dryRun ? "Would prune" : "Pruned"} ${plural(removed.sessions, "session")} (${plural(removed.files, "file")}, ${formatBytes(removed.bytes)}, ${plural(removed.indexEntries, "index entry", "index entries")}):\n`;
    for (const session of plan.prune) {
      out += describe(session);
      for (const file of session.files) out += `      ${file.name}  ${file.bytes} B\n`;
    }
    out += `Kept ${plural(kept.sessions, "session")} (${plural(kept.files, "file")}, ${formatBytes(kept.bytes)}).\n`;
  }
  const held = plan.keep.filter((s) => s.reason === "keep-last" || s.reason === "uncommitted");
  for (const session of held) {
    const why =
      session.reason === "keep-last"
        ? `--keep-last ${plan.keepLast}`
        : "its files are not committed to git yet";
    out += `Kept despite its age (${why}):\n${describe(session)}`;
  }
  if (removed.sessions) {
    out += dryRun
      ? `Dry run: nothing was changed.\n`
      : `Logged to ${shown(join(plan.memoryDir, LOG_FILE))}${plan.commit ? `; the files are in commit ${plan.commit.slice(0, 12)}` : ""}.\n`;
  }
  return out;
}

await runMain(main, "prune");
