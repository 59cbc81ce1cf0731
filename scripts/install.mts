// Adds the backup to an existing git repository (typically the bot's own, next to its fly.toml): the scripts, the
// daily workflow, the pre-commit hook, the package.json entries, .gitignore lines and an empty memory/. Nothing
// else there is touched. Running it again from a newer checkout upgrades in place: files it installed and nobody
// changed are replaced, files this version no longer ships are removed, and it refuses to overwrite anything that
// is not its own (or that was edited since) unless --force. What it installed is recorded in
// scripts/.openclaw-memory-sync.json.
// Usage: npx tsx scripts/install.mts [--dry-run] [--force] [--no-lock] [--json] PATH
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
  chmodSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Failure, parseFlags, plural, printJson, runMain, UsageError } from "./lib/cli.mts";

const HELP = `Usage: npx tsx scripts/install.mts [options] PATH

Adds openclaw memory sync to the git repository at PATH (your bot's repository, or a new private one):
  scripts/…                         the sync, prune, verify and local-state scripts and their library
  hooks/pre-commit, hooks/install.mjs   the hook that verifies what a commit adds to memory/
  .github/workflows/sync-memory.yml the daily backup
  package.json                      the runtime dependencies, npm scripts memory:*, and "prepare" for the hook
  package-lock.json                 brought up to date with 'npm install --package-lock-only' (the workflow runs npm ci)
  .gitignore                        node_modules/, local-state/ and sync's lock and staging folders
  memory/                           empty (the first sync fills it)
Nothing else in PATH is changed, and nothing is committed. Run it again from a newer checkout to upgrade.

Options:
  --dry-run   say what would change; change nothing
  --force     overwrite files that are in the way (not installed by this script, or edited since)
  --no-lock   do not run npm to update package-lock.json (do it yourself before pushing)
  --json      print the result as one JSON document on stdout
  -h, --help  show this help

Exit status: 0 done, 1 failed (PATH unchanged), 2 bad usage.`;

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MANIFEST = "scripts/.openclaw-memory-sync.json";
/** Under scripts/, what only developing this project needs. Everything else git tracks there is shipped. */
const DEVELOPMENT_ONLY = ["scripts/dev/", "scripts/demo.mts", "scripts/bench.mts", "scripts/install.mts"];
const SHIPPED_ROOTS = ["scripts", "hooks"];
const SHIPPED_FILES = [".github/workflows/sync-memory.yml"];
const GITIGNORE_LINES = ["node_modules/", "/local-state/", ".*.sync.lock", ".*.staging-*"];

interface Flags {
  "dry-run": boolean;
  force: boolean;
  "no-lock": boolean;
  json: boolean;
  help: boolean;
}

interface Manifest {
  version: string;
  files: Record<string, string>;
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
}

type Change = { path: string; action: "added" | "updated" | "removed" | "kept" };

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

function git(cwd: string, ...args: string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync("git", args, { cwd, encoding: "utf8" });
  return { ok: r.status === 0, out: (r.stdout ?? "").trim(), err: (r.stderr ?? "").trim() };
}

/** The files this checkout ships: what git tracks under scripts/ and hooks/ (minus development tools), and more. */
function shippedFiles(): string[] {
  const tracked = git(PROJECT, "ls-files", "-z", "--", ...SHIPPED_ROOTS, ...SHIPPED_FILES);
  let files: string[];
  if (tracked.ok && tracked.out) files = tracked.out.split("\0").filter(Boolean);
  else {
    // Not a git checkout (an unpacked archive): every file there.
    const walk = (dir: string): string[] =>
      readdirSync(join(PROJECT, dir), { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? walk(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`],
      );
    files = [...SHIPPED_ROOTS.flatMap(walk), ...SHIPPED_FILES.filter((f) => existsSync(join(PROJECT, f)))];
  }
  return files
    .filter(
      (file) => !DEVELOPMENT_ONLY.some((dev) => (dev.endsWith("/") ? file.startsWith(dev) : file === dev)),
    )
    .filter((file) => existsSync(join(PROJECT, file)))
    .sort();
}

function readJson<T>(path: string, what: string): T {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (error) {
    throw new Failure(
      `${what} is not valid JSON (${(error as Error).message}); fix it and run install again`,
    );
  }
}

/** The `memory:*` npm scripts for the entry scripts shipped (sync-memory.mts → memory:sync). */
function npmScripts(files: string[]): Record<string, string> {
  const scripts: Record<string, string> = {};
  for (const file of files) {
    const entry = /^scripts\/([a-z-]+)\.mts$/.exec(file);
    if (!entry) continue;
    scripts[`memory:${entry[1].replace(/-memory$/, "")}`] = `tsx ${file}`;
  }
  scripts.prepare = "node hooks/install.mjs";
  return scripts;
}

/** Writes JSON the way the file was written: its indentation and its final newline. */
function formatJsonLike(original: string | undefined, value: unknown): string {
  const indent = original ? (/^[ \t]+(?=")/m.exec(original)?.[0] ?? "  ") : "  ";
  const newline = original === undefined || original.endsWith("\n") ? "\n" : "";
  return `${JSON.stringify(value, null, indent)}${newline}`;
}

async function main(): Promise<number> {
  const { values: flags, positionals } = parseFlags<Flags>(
    {
      "dry-run": { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      "no-lock": { type: "boolean", default: false },
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
  if (positionals.length !== 1)
    throw new UsageError("give the repository to install into: npx tsx scripts/install.mts PATH");
  const target = resolve(positionals[0]);
  if (!existsSync(target) || !statSync(target).isDirectory())
    throw new Failure(`${positionals[0]} is not a folder; give the path of your bot's git repository`);
  const top = git(target, "rev-parse", "--show-toplevel");
  if (!top.ok)
    throw new Failure(
      `${positionals[0]} is not inside a git repository; run 'git init' there first, or give another path`,
    );
  if (resolve(top.out) !== target)
    throw new Failure(
      `${positionals[0]} is inside the git repository ${top.out} but not its top folder; give ${top.out} (the workflow must be at its root)`,
    );
  if (resolve(PROJECT) === target)
    throw new Failure("that is this project itself; give your bot's repository");

  const pkgSelf = readJson<{ version: string; dependencies: Record<string, string> }>(
    join(PROJECT, "package.json"),
    "this project's package.json",
  );
  const manifestPath = join(target, MANIFEST);
  const previous: Manifest | undefined = existsSync(manifestPath)
    ? readJson<Manifest>(manifestPath, MANIFEST)
    : undefined;

  // 1. Plan the files: add, update (ours and unchanged since), or refuse (someone else's, or edited).
  const files = shippedFiles();
  if (!files.some((f) => f === "scripts/sync-memory.mts"))
    throw new Failure(
      `${PROJECT} does not look like a checkout of openclaw memory sync (no scripts/sync-memory.mts)`,
    );
  const changes: Change[] = [];
  const conflicts: string[] = [];
  const writes: { path: string; data: Buffer; mode: number }[] = [];
  const installed: Record<string, string> = {};
  for (const file of files) {
    const source = join(PROJECT, file);
    const data = readFileSync(source);
    const hash = sha256(data);
    installed[file] = hash;
    const dest = join(target, file);
    if (!existsSync(dest)) {
      changes.push({ path: file, action: "added" });
      writes.push({ path: file, data, mode: statSync(source).mode & 0o777 });
      continue;
    }
    if (!statSync(dest).isFile()) {
      conflicts.push(`${file} (not a file)`);
      continue;
    }
    const current = sha256(readFileSync(dest));
    if (current === hash) continue;
    if (previous?.files[file] !== current && !flags.force) {
      conflicts.push(previous?.files[file] ? `${file} (changed since the last install)` : file);
      continue;
    }
    changes.push({ path: file, action: "updated" });
    writes.push({ path: file, data, mode: statSync(source).mode & 0o777 });
  }
  if (conflicts.length)
    throw new Failure(
      `${plural(conflicts.length, "file")} in ${positionals[0]} would be overwritten: ${conflicts.slice(0, 5).join(", ")}${conflicts.length > 5 ? ", …" : ""}; move them away, or run again with --force to replace them`,
    );
  const removals: string[] = [];
  for (const [file, hash] of Object.entries(previous?.files ?? {})) {
    if (file in installed) continue;
    const dest = join(target, file);
    if (!existsSync(dest)) continue;
    if (sha256(readFileSync(dest)) === hash || flags.force) {
      removals.push(file);
      changes.push({ path: file, action: "removed" });
    } else changes.push({ path: file, action: "kept" });
  }

  // 2. package.json: the runtime dependencies and the memory:* scripts, merged into what is there.
  const pkgPath = join(target, "package.json");
  const pkgText = existsSync(pkgPath) ? readFileSync(pkgPath, "utf8") : undefined;
  const pkg = (pkgText === undefined ? {} : readJson<Record<string, unknown>>(pkgPath, "package.json")) as {
    name?: string;
    private?: boolean;
    scripts?: Record<string, string>;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  if (pkgText === undefined) {
    pkg.name =
      basename(target)
        .toLowerCase()
        .replace(/[^a-z0-9._-]+/g, "-") || "bot";
    pkg.private = true;
  }
  const warnings: string[] = [];
  const dependencies: Record<string, string> = {};
  const pkgChanges: string[] = [];
  pkg.dependencies ??= {};
  for (const [name, version] of Object.entries(pkgSelf.dependencies)) {
    const have = pkg.dependencies[name] ?? pkg.devDependencies?.[name];
    if (have === version) {
      if (previous?.dependencies[name]) dependencies[name] = version;
      continue;
    }
    const ours = have === undefined || previous?.dependencies[name] === have;
    if (!ours && !flags.force) {
      warnings.push(
        `package.json already depends on ${name} ${have}; kept it (the scripts are tested with ${version})`,
      );
      continue;
    }
    if (pkg.devDependencies?.[name] !== undefined && pkg.dependencies[name] === undefined) {
      warnings.push(
        `${name} is a devDependency in package.json; the workflow installs without them, so it is now a dependency`,
      );
      delete pkg.devDependencies[name];
    }
    pkg.dependencies[name] = version;
    dependencies[name] = version;
    pkgChanges.push(`${name} ${version}`);
  }
  pkg.scripts ??= {};
  const scripts: Record<string, string> = {};
  for (const [name, command] of Object.entries(npmScripts(files))) {
    const have = pkg.scripts[name];
    if (have === command) {
      scripts[name] = command;
      continue;
    }
    if (have !== undefined && previous?.scripts[name] !== have && !flags.force) {
      warnings.push(
        name === "prepare"
          ? `package.json already has a "prepare" script; kept it. Add '&& node hooks/install.mjs' to it, or activate the hook with 'git config core.hooksPath hooks'`
          : `package.json already has a script "${name}"; kept it`,
      );
      continue;
    }
    pkg.scripts[name] = command;
    scripts[name] = command;
    pkgChanges.push(`"${name}"`);
  }
  for (const [name, command] of Object.entries(previous?.scripts ?? {})) {
    if (!(name in scripts) && pkg.scripts[name] === command) {
      delete pkg.scripts[name];
      pkgChanges.push(`-"${name}"`);
    }
  }
  const newPkgText = formatJsonLike(pkgText, pkg);
  if (newPkgText !== pkgText)
    changes.push({ path: "package.json", action: pkgText === undefined ? "added" : "updated" });

  // 3. .gitignore: the lines that are missing.
  const ignorePath = join(target, ".gitignore");
  const ignoreText = existsSync(ignorePath) ? readFileSync(ignorePath, "utf8") : "";
  const haveLines = new Set(ignoreText.split(/\r?\n/).map((line) => line.trim()));
  const missing = GITIGNORE_LINES.filter((line) => !haveLines.has(line));
  const newIgnoreText = missing.length
    ? `${ignoreText}${ignoreText && !ignoreText.endsWith("\n") ? "\n" : ""}${ignoreText ? "\n" : ""}# openclaw memory sync: dependencies, the local gateway's copy, sync's lock and staging folders\n${missing.join("\n")}\n`
    : ignoreText;
  if (missing.length) changes.push({ path: ".gitignore", action: ignoreText ? "updated" : "added" });

  const lockNeeded =
    !flags["no-lock"] && (newPkgText !== pkgText || !existsSync(join(target, "package-lock.json")));
  const otherLock = ["yarn.lock", "pnpm-lock.yaml", "bun.lockb", "bun.lock"].find((f) =>
    existsSync(join(target, f)),
  );
  if (otherLock)
    warnings.push(
      `${otherLock} is here, but the workflow installs with 'npm ci' from package-lock.json; keep both up to date`,
    );

  const dockerignore = join(target, ".dockerignore");
  if (
    (existsSync(join(target, "Dockerfile")) || existsSync(dockerignore)) &&
    !(existsSync(dockerignore) && /^\/?memory\/?\s*$/m.test(readFileSync(dockerignore, "utf8")))
  )
    warnings.push(
      "a Dockerfile is here: add 'memory/' to .dockerignore, or 'fly deploy' copies the whole history into the bot's image",
    );

  // 4. Write (not in a dry run).
  let lockUpdated = false;
  let hook = "";
  if (flags["dry-run"] && lockNeeded)
    changes.push({
      path: "package-lock.json",
      action: existsSync(join(target, "package-lock.json")) ? "updated" : "added",
    });
  if (!flags["dry-run"]) {
    for (const write of writes) {
      const dest = join(target, write.path);
      mkdirSync(dirname(dest), { recursive: true });
      writeFileSync(dest, write.data);
      chmodSync(dest, write.mode);
    }
    for (const file of removals) {
      rmSync(join(target, file));
      // Remove folders this left empty (never the repository's top).
      for (
        let dir = dirname(join(target, file));
        dir !== target && readdirSync(dir).length === 0;
        dir = dirname(dir)
      )
        rmdirSync(dir);
    }
    if (newPkgText !== pkgText) writeFileSync(pkgPath, newPkgText);
    if (newIgnoreText !== ignoreText) writeFileSync(ignorePath, newIgnoreText);
    mkdirSync(join(target, "memory"), { recursive: true });
    const manifest: Manifest = { version: pkgSelf.version, files: installed, dependencies, scripts };
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    if (!existsSync(manifestPath) || readFileSync(manifestPath, "utf8") !== manifestText) {
      writeFileSync(manifestPath, manifestText);
      if (!previous) changes.push({ path: MANIFEST, action: "added" });
    }
    if (lockNeeded) {
      const hadLock = existsSync(join(target, "package-lock.json"));
      const npm = spawnSync(
        "npm",
        ["install", "--package-lock-only", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        { cwd: target, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
      if (npm.status === 0) {
        lockUpdated = true;
        changes.push({ path: "package-lock.json", action: hadLock ? "updated" : "added" });
      } else
        warnings.push(
          `'npm install --package-lock-only' failed (${(npm.stderr || npm.error?.message || "").trim().split("\n").at(-1)}); run it in ${positionals[0]} before pushing, the workflow's npm ci needs an up-to-date package-lock.json`,
        );
    }
    // Activate the hook for this clone (sets core.hooksPath unless someone else set it; never fails).
    const hookRun = spawnSync(process.execPath, [join(target, "hooks", "install.mjs")], { encoding: "utf8" });
    hook = `${hookRun.stdout ?? ""}${hookRun.stderr ?? ""}`.trim();
  }

  const summary = {
    target,
    dryRun: flags["dry-run"],
    upgrade: Boolean(previous),
    version: pkgSelf.version,
    changes,
    packageJson: pkgChanges,
    gitignore: missing,
    lockUpdated,
    warnings,
    next: nextSteps(target),
  };
  if (flags.json) {
    printJson(summary);
    return 0;
  }
  const lines: string[] = [];
  const verb = flags["dry-run"] ? "Would change" : "Changed";
  const count = changes.filter((c) => c.action !== "kept").length;
  lines.push(
    count
      ? `${verb} ${plural(count, "path")} in ${target}${previous ? ` (upgrade from ${previous.version})` : ""}:`
      : `Nothing to change in ${target}: openclaw memory sync ${pkgSelf.version} is installed.`,
  );
  for (const change of changes)
    lines.push(
      `  ${{ added: "added  ", updated: "updated", removed: "removed", kept: "kept   " }[change.action]} ${change.path}${change.action === "kept" ? " (no longer shipped, but changed since it was installed)" : ""}`,
    );
  if (pkgChanges.length) lines.push(`  package.json: ${pkgChanges.join(", ")}`);
  if (missing.length) lines.push(`  .gitignore: ${missing.join(" ")}`);
  if (hook) lines.push(hook);
  for (const warning of warnings) lines.push(`warning: ${warning}`);
  if (flags["dry-run"]) lines.push("Dry run: nothing was changed.");
  lines.push("", "Left to do:", ...summary.next.map((step, i) => `  ${i + 1}. ${step}`));
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

/** The three things left: the token, the app name (from fly.toml when there is one), the first run. */
function nextSteps(target: string): string[] {
  const shown = relative(process.cwd(), target) || ".";
  const path = shown.startsWith("..") ? target : shown;
  const toml = join(target, "fly.toml");
  const app = existsSync(toml)
    ? (/^app\s*=\s*["']([^"']+)["']/m.exec(readFileSync(toml, "utf8"))?.[1] ?? "APP")
    : "APP";
  return [
    `Give the workflow a Fly token that can only open ssh sessions to your bot: 'fly tokens create ssh -a ${app}', saved as the repository secret FLY_API_TOKEN (Settings → Secrets and variables → Actions → Secrets, or: gh secret set FLY_API_TOKEN --body "$(fly tokens create ssh -a ${app})").`,
    `Name the app: the repository variable FLY_APP = ${app} (same page, Variables; or: gh variable set FLY_APP --body ${app}); also REMOTE_STATE_DIR if OpenClaw's state dir is not /data.`,
    `Commit and push (cd ${path} && git add -A && git commit -m "Back up the bot's memory" && git push), then start the first run: Actions → Sync memory → Run workflow (or: gh workflow run sync-memory.yml). Keep the repository private.`,
  ];
}

await runMain(main, "install");
