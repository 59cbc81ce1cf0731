// demo: syncs the bundled sample bot (sample/openclaw-state, a realistic OpenClaw file-era state dir) through the
// --local transport into a temporary folder, then prints where the result is and what was synced. Touches
// nothing in the checkout. Run: npm run demo   (or: deno run -A scripts/demo.mts)
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXIT_OK, Reporter, formatBytes, parseFlags, runMain } from "./lib/cli.mts";
import { formatSummary, sync } from "./lib/sync/index.mts";
import { statSync } from "node:fs";

const HELP = `Usage: npm run demo   (npx tsx scripts/demo.mts [--help])

Syncs the bundled sample bot (sample/openclaw-state) into a new temporary folder with
'sync-memory.mts --local' (its sessions, and the agent's memory files from sample/openclaw-state/workspace),
prints where the result is and a summary. Nothing in the checkout changes.
`;

await runMain(async () => {
  const { values } = parseFlags<{ help?: boolean }>({ help: { type: "boolean", short: "h" } });
  if (values.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const stateDir = join(root, "sample", "openclaw-state");
  const workspace = join(stateDir, "workspace");
  const memory = join(mkdtempSync(join(tmpdir(), "openclaw-memory-demo-")), "memory");
  process.stderr.write(
    `Syncing the sample bot ${stateDir}\n  (as: npx tsx scripts/sync-memory.mts --local --state-dir ${stateDir} --workspace ${workspace} --memory ${memory})\n\n`,
  );
  const summary = await sync({
    transport: "local",
    stateDir,
    memory,
    dryRun: false,
    force: false,
    allowEmpty: false,
    timeoutSeconds: 60,
    workspaceDir: workspace,
    reporter: new Reporter("demo"),
  });
  process.stdout.write(`\n${formatSummary(summary)}\nThe history is in ${memory}:\n`);
  const sessions = join(memory, "sessions");
  for (const name of readdirSync(sessions).sort()) {
    process.stdout.write(`  sessions/${name}  (${formatBytes(statSync(join(sessions, name)).size)})\n`);
  }
  for (const name of readdirSync(join(memory, "workspace"), { recursive: true, encoding: "utf8" }).sort()) {
    const path = join(memory, "workspace", name);
    if (statSync(path).isFile())
      process.stdout.write(`  workspace/${name}  (${formatBytes(statSync(path).size)})\n`);
  }
  process.stdout.write(`  sync-provenance.json  (where it came from, every file's size and sha256)\n`);
  return EXIT_OK;
});
