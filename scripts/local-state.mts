// local-state: builds a state dir that a local OpenClaw gateway can use to browse the synced history, and
// prints the command that starts the gateway on it. memory/ is only read. Run with --help for the options.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { output, parseFlags, plural, printJson, Reporter, runMain, UsageError } from "./lib/cli.mts";
import "./lib/secrets.mts"; // masks any secret in what this command prints
import { buildLocalState } from "./lib/local-state.mts";
import { splitCommand } from "./lib/local-state/openclaw-cli.mts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const HELP = `Usage: npx tsx scripts/local-state.mts [--memory DIR] [--out DIR] [--agent ID] [--openclaw CMD]
                                     [--config FILE] [--refresh] [--json]

Builds a state dir for a local OpenClaw gateway from the synced history, then prints the command
that starts the gateway on it. The memory folder is only read, never changed.

  * OUT/agents/<agent>/sessions/ gets copies of the history, sessions.json with every sessionFile
    rewritten to a bare file name, and an index entry for every synced conversation the cloud's
    index no longer names (older transcripts and .reset/.deleted/.bak archives, listed as
    agent:<agent>:history:...).
  * OUT/openclaw.json gets session maintenance in "warn" mode (merged into --config when given;
    every setting changed is reported).
  * A SQLite-era OpenClaw (2026.7.2 and later) imports the copies with its own
    \`doctor --fix --yes --non-interactive\` (run here with OPENCLAW_STATE_DIR=OUT); a file-era
    OpenClaw needs nothing more. Without OpenClaw the remaining step is printed.

Options:
  --memory DIR     the synced memory folder (default: memory/ in this repository)
  --out DIR        the state dir to build (default: local-state/ in this repository, git-ignored);
                   refused inside the memory folder
  --agent ID       agent id to place the sessions under (default: the agent the last sync read, else main)
  --openclaw CMD   the OpenClaw command (default: openclaw on PATH). Split on spaces, so a command
                   with arguments works: --openclaw "/opt/node24/bin/node /opt/openclaw/openclaw.mjs"
                   (paths containing spaces are not supported; use a wrapper script)
  --config FILE    your local openclaw.json (plain JSON) to merge into OUT/openclaw.json
  --refresh        rebuild an existing OUT from the current history. Conversations the local
                   gateway added or changed there are kept (and reported), never discarded
  --json           print the report as JSON on stdout
  -h, --help       show this help

Exit status: 0 built, 1 failed, 2 bad usage.

Example:
  npx tsx scripts/local-state.mts
  OPENCLAW_STATE_DIR=$PWD/local-state openclaw gateway --bind loopback

OpenClaw is installed with npm (npm install -g openclaw@VERSION, the bot's version) and needs a recent Node:
2026.9.x wants Node 24.16 or later, 2026.7.x Node 22.22 or later (see its package.json "engines").`;

interface Flags {
  memory?: string;
  out?: string;
  agent?: string;
  openclaw?: string;
  config?: string;
  refresh?: boolean;
  json?: boolean;
  help?: boolean;
}

async function main(): Promise<number> {
  const { values: flags } = parseFlags<Flags>({
    memory: { type: "string" },
    out: { type: "string" },
    agent: { type: "string" },
    openclaw: { type: "string" },
    config: { type: "string" },
    refresh: { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  for (const name of ["memory", "out", "agent", "openclaw", "config"] as const) {
    if (flags[name] !== undefined && flags[name]!.trim() === "")
      throw new UsageError(`--${name} needs a value`);
  }
  const reporter = new Reporter("local-state", Boolean(flags.json));
  const report = await buildLocalState({
    memory: flags.memory ?? join(ROOT, "memory"),
    out: flags.out ?? join(ROOT, "local-state"),
    agent: flags.agent,
    openclaw: splitCommand(flags.openclaw ?? "openclaw"),
    config: flags.config,
    refresh: Boolean(flags.refresh),
    log: (message) => reporter.info(message),
    warn: (message) => reporter.warn(message),
    progress: (message) => reporter.progress(message),
  });

  if (flags.json) {
    printJson(report);
    return 0;
  }
  const fromIndex = report.sessions.filter((s) => s.origin === "index").length;
  const history = report.sessions.filter((s) => s.origin === "history").length;
  const local = report.sessions.filter((s) => s.origin === "local").length;
  const lines = [
    `Built ${report.out} from ${report.memory} (agent ${report.agent}): ${plural(report.files, "file")} copied, ` +
      `${plural(fromIndex, "session")} from the cloud's index, ${history} older ${history === 1 ? "conversation" : "conversations"} added to the index` +
      (local ? `, ${local} kept from the local gateway` : "") +
      ".",
  ];
  for (const change of report.configChanges) lines.push(`openclaw.json: ${change}.`);
  if (report.refresh?.keptLocalChanges.length) {
    lines.push(
      report.refresh.previousOut
        ? `The local gateway changed ${report.refresh.keptLocalChanges.join(", ")} since the last build: kept the previous state dir at ${report.refresh.previousOut}.`
        : `The local gateway changed files since the last build; kept them: ${report.refresh.keptLocalChanges.join(", ")}.`,
    );
  }
  const oc = report.openclaw;
  if (!oc.found) lines.push(`OpenClaw was not found (${oc.command}).`);
  else if (oc.era === "files")
    lines.push(`OpenClaw ${oc.version} stores sessions in files: nothing more to do.`);
  else {
    const imported = oc.imported;
    lines.push(
      `OpenClaw ${oc.version} stores sessions in SQLite: its doctor imported ` +
        `${imported?.sessions ?? "?"} sessions and ${imported?.transcriptEvents ?? "?"} transcript events; it lists ${imported?.listed ?? "?"} sessions` +
        (imported?.issues.length
          ? ` (${plural(imported.issues.length, "issue")}, see the warnings above).`
          : "."),
    );
  }
  for (const step of report.remaining) lines.push(`Remaining step: ${step}.`);
  lines.push("Start the gateway with:", `  ${report.startCommand}`);
  output(`${lines.join("\n")}\n`);
  return 0;
}

await runMain(main, "local-state");
