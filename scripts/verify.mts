// verify: checks the backed-up history for damage, secrets and files that should not be there.
// Usage: npx tsx scripts/verify.mts [PATH...] [--staged [--changed]] [--strict] [--json]
import { stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import {
  Reporter,
  UsageError,
  formatBytes,
  output,
  parseFlags,
  plural,
  printJson,
  red,
  runMain,
} from "./lib/cli.mts";
import "./lib/secrets.mts"; // masks any secret in what this command prints
import type { VerifyReport } from "./lib/verify.mts";
// The checks (lib/verify.mts, store/apply.mts) are imported once the flags are checked: --help and a usage error
// load neither.

const HELP = `verify: check the backed-up history for damage, secrets and files that should not be there.

Usage: npx tsx scripts/verify.mts [PATH...] [options]

PATHs are files or folders (default: memory). Folders are searched recursively.

Options:
  --staged   check what the next commit holds (git's index), not the work tree
  --changed  with --staged: read only the files the commit changes (staged content differs from HEAD); the
             names of all staged files are still checked (.syncignore, stray files). The pre-commit hook's mode;
             a full check of everything (the daily workflow's) is verify without --changed
  --strict   a file changed since sync (see sync-provenance.json) is an error, not a warning
  --json     print the result as one JSON document on stdout
  -h, --help show this help

Checks:
  transcripts (*.jsonl and their .reset./.deleted./.bak. archives), read as streams:
    a truncated last line, invalid JSON, a line that is not an object, NUL bytes, invalid UTF-8 (errors);
    an empty line, a last line without newline (warnings); a "session" header line without an id (error)
  secrets (API keys, tokens, private keys, passwords in URLs; secretlint's recommended rules): errors,
    shown as PATH:LINE: KIND; the secret itself is never printed. False positives: <memory>/.secretsallow
  sessions.json: an object of entries with a string sessionId and a numeric updatedAt (errors); entries naming
    missing transcripts and transcripts no entry names (warnings)
  files changed since sync (sync-provenance.json): warnings, errors with --strict
  files and index entries excluded by <memory>/.syncignore: errors

Each problem is printed as PATH:LINE:BYTE: error|warning: MESSAGE (BYTE counts from 0), or PATH: error|warning:
MESSAGE for a problem with a whole file; at most 20 per file.

Exit status: 0 no errors (warnings allowed), 1 errors found, 2 bad usage.`;

interface Flags {
  staged: boolean;
  changed: boolean;
  strict: boolean;
  json: boolean;
  help: boolean;
}

// A reader that stops early (`| head`) is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

async function main(): Promise<number> {
  const { values: flags, positionals } = parseFlags<Flags>(
    {
      staged: { type: "boolean", default: false },
      changed: { type: "boolean", default: false },
      strict: { type: "boolean", default: false },
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

  if (flags.changed && !flags.staged)
    throw new UsageError("--changed compares git's index with HEAD: use it together with --staged");

  const { recoverBeforeReading } = await import("./lib/store/apply.mts");
  const { formatProblem, verify } = await import("./lib/verify.mts");
  const reporter = new Reporter("verify", flags.json);
  // A sync or prune that was killed is completed or rolled back first (store/apply.mts), so what is checked
  // is a whole state, never a half-applied one.
  for (const dir of await memoryFolders(positionals.length ? positionals : ["memory"])) {
    for (const note of await recoverBeforeReading(dir, "verify")) reporter.info(note);
  }
  const report = await verify(positionals, {
    staged: flags.staged,
    changed: flags.changed,
    strict: flags.strict,
    onFile: (path, index, total) => reporter.progress(`[${index + 1}/${total}] ${path}`),
  });
  reporter.clearProgress();

  if (flags.json) {
    printJson(report);
    return report.ok ? 0 : 1;
  }
  printProblems(report, formatProblem);
  const unchanged = flags.changed ? ` (and the names of ${plural(report.unchanged, "unchanged file")})` : "";
  const what = `${plural(report.files, "file")} (${formatBytes(report.bytes)})${report.staged ? " staged" : ""}${unchanged}`;
  const found = `${plural(report.errors, "error")}, ${plural(report.warnings, "warning")}`;
  process.stderr.write(`verify: checked ${what}: ${report.ok ? found : red(found)}\n`);
  return report.ok ? 0 : 1;
}

/** The memory folders the paths are in (a folder holding sessions/, or the folder above a sessions/ file). */
async function memoryFolders(paths: string[]): Promise<string[]> {
  const dirs = new Set<string>();
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) continue;
    let dir = resolve(info.isDirectory() ? path : dirname(path));
    if (basename(dir) === "sessions") dir = dirname(dir);
    dirs.add(dir);
  }
  return [...dirs];
}

function printProblems(
  report: VerifyReport,
  formatProblem: (problem: VerifyReport["problems"][number]) => string,
): void {
  let last = "";
  const flush = (path: string) => {
    const more = report.omitted[path];
    if (more) output(`${path}: ... and ${plural(more, "more problem")} (not listed)\n`);
  };
  for (const problem of report.problems) {
    if (problem.path !== last) {
      if (last) flush(last);
      last = problem.path;
    }
    output(`${formatProblem(problem)}\n`);
  }
  if (last) flush(last);
  for (const path of Object.keys(report.omitted)) {
    if (!report.problems.some((problem) => problem.path === path)) flush(path);
  }
}

await runMain(main, "verify");
