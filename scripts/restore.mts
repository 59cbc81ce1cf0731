// restore: put the backed-up history (memory/sessions) back into an OpenClaw bot — a recreated Fly instance, a
// host over ssh, or a local state dir — without ever overwriting or deleting anything the bot has.
// Run: npx tsx scripts/restore.mts --help
import { TRANSPORT_FLAGS, transportOptionsFrom, type TransportFlags } from "./lib/remote/connect.mts";
import { WORKSPACE_FLAGS, workspaceOptionsFrom, type WorkspaceFlags } from "./lib/remote/workspace.mts";
import { EXIT_FAILED, EXIT_OK, Reporter, UsageError, parseFlags, printJson, runMain } from "./lib/cli.mts";
import { formatSummary, restore } from "./lib/restore/run.mts";

const HELP = `Usage: npx tsx scripts/restore.mts [options]

Put the history kept in the memory folder back into an OpenClaw bot (for example after its Fly volume was
lost), and the agent's memory files (MEMORY.md, memory/*.md, USER.md, SOUL.md, IDENTITY.md, AGENTS.md,
TOOLS.md) into its workspace. Nothing on the bot is overwritten or deleted: a file it already has is skipped, a different one stays
and the backup's copy goes beside it; the data is checked by sha256 on the bot before anything is applied, and
a failure leaves the bot as it was. A second run changes nothing.

Where the bot is (one of), as for sync-memory:
  --app NAME          Fly.io app (env FLY_APP); flyctl is $FLYCTL, else 'fly', else 'flyctl' on PATH
  --machine ID        the Fly machine (env FLY_MACHINE); default: the started machine whose volume holds
                      the state dir
  --ssh [USER@]HOST[:PORT]
                      a self-hosted bot, reached with OpenSSH
  --ssh-option OPT    an ssh -o option (repeatable)
  --local             the state dir is on this machine

What to restore:
  --state-dir PATH    OpenClaw's state dir on the bot's machine (env REMOTE_STATE_DIR, default /data)
  --agent ID          the agent to restore into (default: the agent the backup was taken from, else main)
  --memory DIR        the backup folder (default ./memory); sessions are read from DIR/sessions/
  --sessions KEY|ID   only these sessions (index keys or session ids; repeatable or comma-separated;
                      a key includes its topics and threads)
  --since DATE        only sessions active on or after DATE (ISO 8601, e.g. 2026-10-01)
  --prefer bot|backup when the bot uses an index key for another session: keep the bot's session as current
                      and restore the backup's under agent:<id>:restore-displaced:<sessionId> (bot, the
                      default), or make the backup's current and move the bot's there (backup). The same
                      for a workspace file the bot has with other bytes: the bot's stays and the backup's
                      goes beside it as <name>.restore-displaced-<hash> (bot), or the other way round
  --no-workspace      leave the agent's memory files (the backup's workspace/ folder) out
  --workspace PATH    the agent's workspace on the bot (default: from openclaw.json, else OpenClaw's
                      default for its version: <state dir>/workspace from 2026.7.2, ~/.openclaw/workspace
                      of the gateway's user before)

Session maintenance (file era, OpenClaw 2026.7.1 and earlier):
  --maintenance warn  set session.maintenance.mode to "warn" in the bot's openclaw.json, so its next write
                      does not prune the restored sessions or delete old archives (restore says so)
  --accept-maintenance
                      restore although maintenance is in "enforce" mode (the bot may prune old sessions)

Behaviour:
  --dry-run           list exactly what would be added, skipped and renamed, and why; change nothing
  --timeout SECONDS   give up on a remote call that sends nothing for this long (default 120)
  --json              print one JSON summary object on stdout
  --quiet             no progress or discovery lines on stderr
  -h, --help          show this help

A SQLite-era bot (OpenClaw 2026.7.2 and later) must have its gateway stopped: restore hands the files to
OpenClaw's own importer ('openclaw doctor --fix' run on the bot as the gateway's user) and checks that every
restored line is in the database.

Ctrl-C stops a restore before anything is applied (the bot is left as it was, the staging folder on the bot
removed); once the files are being applied on the bot the run finishes that step first.

Exit status: 0 ok, 1 failed (one sentence on stderr says why; the bot is unchanged, except after a failed
OpenClaw import, which the sentence describes), 2 usage error, 130 interrupted.
`;

interface Flags extends TransportFlags, WorkspaceFlags {
  agent?: string;
  memory?: string;
  sessions?: string[];
  since?: string;
  prefer?: string;
  maintenance?: string;
  "accept-maintenance"?: boolean;
  "dry-run"?: boolean;
  json?: boolean;
  quiet?: boolean;
  help?: boolean;
}

await runMain(async () => {
  const { values: flags } = parseFlags<Flags>({
    ...TRANSPORT_FLAGS,
    ...WORKSPACE_FLAGS,
    agent: { type: "string" },
    memory: { type: "string" },
    sessions: { type: "string", multiple: true },
    since: { type: "string" },
    prefer: { type: "string" },
    maintenance: { type: "string" },
    "accept-maintenance": { type: "boolean" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }

  const where = transportOptionsFrom(flags);
  const workspace = workspaceOptionsFrom(flags);
  const prefer = flags.prefer ?? "bot";
  if (prefer !== "bot" && prefer !== "backup")
    throw new UsageError(`--prefer ${prefer} is not one of: bot, backup`);
  if (flags.maintenance !== undefined && flags.maintenance !== "warn")
    throw new UsageError(`--maintenance ${flags.maintenance}: the only value restore sets is warn`);
  if (flags.maintenance && flags["accept-maintenance"])
    throw new UsageError("--maintenance warn and --accept-maintenance cannot be combined: pick one");
  let since: number | undefined;
  if (flags.since !== undefined) {
    since = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(flags.since) ? `${flags.since}T00:00:00Z` : flags.since);
    if (!Number.isFinite(since))
      throw new UsageError(`--since ${flags.since} is not a date (use 2026-10-01)`);
  }
  const sessions = (flags.sessions ?? [])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter(Boolean);

  const reporter = new Reporter("restore", Boolean(flags.quiet));
  const summary = await restore({
    ...where,
    agent: flags.agent,
    memory: flags.memory ?? "memory",
    dryRun: Boolean(flags["dry-run"]),
    prefer,
    sessions: sessions.length ? sessions : undefined,
    since,
    maintenance: flags.maintenance === "warn" ? "warn" : undefined,
    acceptMaintenance: Boolean(flags["accept-maintenance"]),
    ...workspace,
    reporter,
  });
  for (const warning of summary.warnings) reporter.warn(warning);
  if (flags.json) printJson(summary);
  else process.stdout.write(formatSummary(summary));
  return summary.ok ? EXIT_OK : EXIT_FAILED;
});
