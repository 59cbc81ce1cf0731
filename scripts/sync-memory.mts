// sync-memory: pull an OpenClaw bot's sessions (Fly.io volume, a host over ssh, or a local folder) into
// memory/sessions/, and the agent's memory files into memory/workspace/, exactly and safely.
// Run: npx tsx scripts/sync-memory.mts --help
import {
  TRANSPORT_FLAGS,
  openEarly,
  transportOptionsFrom,
  type TransportFlags,
} from "./lib/remote/connect.mts";
import { WORKSPACE_FLAGS, workspaceOptionsFrom, type WorkspaceFlags } from "./lib/remote/workspace.mts";
import {
  EXIT_FAILED,
  EXIT_OK,
  Reporter,
  UsageError,
  escapeControls,
  output,
  parseFlags,
  printJson,
  runMain,
} from "./lib/cli.mts";
import "./lib/secrets.mts"; // masks any secret in what this command prints
// The sync itself (sync/index.mts, store/exclude.mts) is imported once the flags are checked: --help and a usage
// error load neither.

const HELP = `Usage: npx tsx scripts/sync-memory.mts [options]

Pull an OpenClaw bot's conversation history into a folder kept in git, and the agent's memory files
(MEMORY.md, memory/*.md, USER.md, SOUL.md, IDENTITY.md, AGENTS.md, TOOLS.md of its workspace) with it. Every
file is checked end to end (size and sha256 computed on the bot's machine) and nothing in the memory folder
changes unless the whole transfer is complete; files only in the memory folder are never deleted (except those
DIR/.syncignore excludes).

Where the bot is (one of):
  --app NAME          Fly.io app, reached with 'flyctl ssh console' (env FLY_APP). flyctl is $FLYCTL,
                      else 'fly', else 'flyctl' on PATH; its token comes from FLY_API_TOKEN or
                      FLY_ACCESS_TOKEN (an ssh token is enough: fly tokens create ssh -a NAME)
  --machine ID        the Fly machine (env FLY_MACHINE); default: the started machine whose volume holds
                      the state dir
  --ssh [USER@]HOST[:PORT]
                      a self-hosted bot, reached with OpenSSH (keys from your ssh config / agent)
  --ssh-option OPT    an ssh -o option (repeatable), e.g. --ssh-option IdentityFile=~/.ssh/bot
  --local             the state dir is on this machine (a Docker volume, a copy, the demo)

What to pull:
  --state-dir PATH    OpenClaw's state dir on the bot's machine (env REMOTE_STATE_DIR, default /data)
  --agent ID          agent to back up (default: main if it exists, else the only agent)
  --memory DIR        the backup folder; sessions land in DIR/sessions/, the agent's memory files in
                      DIR/workspace/ (default ./memory)
  --no-workspace      leave the agent's memory files out (DIR/workspace/ stays as it is)
  --workspace PATH    the agent's workspace on the bot (default: from openclaw.json, else OpenClaw's
                      default for its version: <state dir>/workspace from 2026.7.2, ~/.openclaw/workspace
                      of the gateway's user before, which on Fly is not on the volume). A workspace that
                      is not there is a warning, never a failure

Behaviour:
  --dry-run           show what would change (sizes and hashes only travel); change nothing
  --force             sync even though DIR has uncommitted changes in git
  --no-redact         keep detected secrets instead of replacing them with [REDACTED:<kind>] (default:
                      redact; see memory/.secretsallow for false positives)
  --allow-empty       accept a cloud with no transcripts while DIR has some (a recreated instance)
  --break-lock        remove DIR's lock first: only when the run that holds it is gone (a lock of a
                      finished process on this host is taken over anyway; one from another host after
                      30 minutes untouched)
  --timeout SECONDS   give up on a remote call that sends nothing for this long (default 120)
  --apply-syncignore  do not reach the bot: apply DIR/.syncignore to what DIR already holds (remove the
                      excluded sessions' files, drop their keys from sessions.json and its .bak copies,
                      and forget them in the provenance and prune's log); with --dry-run, only list them.
                      Earlier commits still hold them
  --json              print one JSON summary object on stdout
  --quiet             no progress or discovery lines on stderr
  -h, --help          show this help

Every change to DIR is one journaled transaction: a run that is killed (even with SIGKILL or by a power
cut) is completed or rolled back by the next sync, prune or verify, which says which in one line.

Exit status: 0 ok, 1 failed (one sentence on stderr says why; DIR is unchanged), 2 usage error,
130 interrupted (DIR is unchanged, or, when the signal came while DIR was being written, holds the
complete result: the writing is finished first).
`;

interface Flags extends TransportFlags, WorkspaceFlags {
  agent?: string;
  memory?: string;
  "dry-run"?: boolean;
  force?: boolean;
  "allow-empty"?: boolean;
  "no-redact"?: boolean;
  "break-lock"?: boolean;
  "apply-syncignore"?: boolean;
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
    "dry-run": { type: "boolean" },
    force: { type: "boolean" },
    "allow-empty": { type: "boolean" },
    "no-redact": { type: "boolean" },
    "break-lock": { type: "boolean" },
    "apply-syncignore": { type: "boolean" },
    json: { type: "boolean" },
    quiet: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }

  if (flags["apply-syncignore"]) {
    // The memory folder alone: where the bot is does not matter (FLY_APP and the like may be set; flags may not).
    const remote = (
      [
        "app",
        "machine",
        "ssh",
        "ssh-option",
        "local",
        "state-dir",
        "agent",
        "timeout",
        "no-redact",
        "allow-empty",
        "force",
        "workspace",
        "no-workspace",
      ] as const
    ).filter((flag) => flags[flag] !== undefined);
    if (remote.length)
      throw new UsageError(
        `--apply-syncignore works on the memory folder alone and takes no ${remote.map((f) => `--${f}`).join(", ")}`,
      );
    const { applySyncIgnoreCommand, formatApplySyncIgnore } = await import("./lib/store/exclude.mts");
    const reporter = new Reporter("sync-memory", Boolean(flags.quiet));
    const summary = await applySyncIgnoreCommand({
      memory: flags.memory ?? "memory",
      dryRun: Boolean(flags["dry-run"]),
      breakLock: Boolean(flags["break-lock"]),
      reporter,
    });
    if (flags.json) printJson(summary);
    else output(escapeControls(formatApplySyncIgnore(summary), true));
    return EXIT_OK;
  }

  const where = transportOptionsFrom(flags);
  const workspace = workspaceOptionsFrom(flags);
  // The connection opens while the pipeline loads (its set-up is most of an idle day's wall time).
  const connection = openEarly(where);
  const pipeline = import("./lib/sync/index.mts");
  // sync() closes the connection if it does not use it; a pipeline that cannot load must close it too.
  pipeline.catch(() => connection?.transport.cancelEarly());
  const { formatSummary, sync } = await pipeline;

  const reporter = new Reporter("sync-memory", Boolean(flags.quiet));
  const summary = await sync({
    ...where,
    agent: flags.agent,
    memory: flags.memory ?? "memory",
    dryRun: Boolean(flags["dry-run"]),
    force: Boolean(flags.force),
    allowEmpty: Boolean(flags["allow-empty"]),
    redact: !flags["no-redact"],
    breakLock: Boolean(flags["break-lock"]),
    ...workspace,
    reporter,
    connection,
  });
  for (const warning of summary.warnings) reporter.warn(warning);
  if (flags.json) printJson(summary);
  else output(escapeControls(formatSummary(summary), true));
  return summary.ok ? EXIT_OK : EXIT_FAILED;
});
