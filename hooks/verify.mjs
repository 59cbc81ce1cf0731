// The pre-commit hook's way to run scripts/verify.mts without a TypeScript loader: half of the hook's time was tsx
// (its CLI starts a second Node, its loader transpiles every module on a worker thread). Here the verify module
// graph is bundled once by esbuild (tsx's own dependency; npm packages stay external) into a private cache folder,
// keyed by the sha256 of every source file under scripts/, and later commits import the bundle straight away.
// Any change to a source makes a new key; anything unexpected (no esbuild, a cache that is not ours) runs the
// same script through tsx instead, so the result never depends on the cache. Plain JavaScript, Node 20+.
//
// Usage (from hooks/pre-commit): node hooks/verify.mjs [verify's flags]
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync } from "node:fs";
import { createRequire, isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const project = dirname(dirname(fileURLToPath(import.meta.url)));
const entry = join(project, "scripts", "verify.mts");

/** sha256 over the paths and bytes of every .mts file under scripts/ (a few hundred KB; milliseconds). */
function sourceKey() {
  const hash = createHash("sha256");
  const walk = (dir) => {
    for (const item of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, item.name);
      if (item.isDirectory()) walk(path);
      else if (item.name.endsWith(".mts")) hash.update(`${path}\0`).update(readFileSync(path)).update("\0");
    }
  };
  walk(join(project, "scripts"));
  return hash.digest("hex").slice(0, 32);
}

/** A folder only this user can write, or undefined. */
function cacheDir() {
  const uid = typeof process.getuid === "function" ? process.getuid() : "user";
  const dir = join(tmpdir(), `ocsync-verify-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  if (!info.isDirectory() || (typeof process.getuid === "function" && info.uid !== process.getuid())) return;
  if ((info.mode & 0o022) !== 0) return;
  return dir;
}

async function bundled() {
  const dir = cacheDir();
  if (!dir) return;
  const out = join(dir, `verify-${sourceKey()}.mjs`);
  try {
    lstatSync(out);
    const now = new Date();
    utimesSync(out, now, now); // in use: not a week-old leftover
    return out;
  } catch {
    // not built yet
  }
  const require = createRequire(join(project, "node_modules", "tsx", "package.json"));
  const esbuild = require("esbuild");
  const temporary = `${out}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: temporary,
    logLevel: "silent",
    plugins: [
      {
        // The bundle lives outside the project: npm packages are imported by the file URL they resolve to from
        // here (the project's node_modules), builtins as they are.
        name: "project-packages",
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, (args) => {
            if (args.path.startsWith("node:") || isBuiltin(args.path))
              return { path: args.path, external: true };
            return { path: import.meta.resolve(args.path), external: true };
          });
        },
      },
    ],
  });
  renameSync(temporary, out);
  // Bundles of other sources (an older checkout, another clone) go after a week unused.
  const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (/^verify-[0-9a-f]+\.mjs$/.test(name) && path !== out && lstatSync(path).mtimeMs < weekAgo)
      rmSync(path, { force: true });
  }
  return out;
}

let bundle;
try {
  bundle = await bundled();
} catch {
  bundle = undefined;
}
if (bundle) {
  await import(pathToFileURL(bundle).href);
} else {
  const tsx = join(project, "node_modules", ".bin", "tsx");
  const run = spawnSync(tsx, [entry, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exitCode = run.status ?? 1;
}
