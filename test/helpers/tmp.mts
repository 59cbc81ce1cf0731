// Temporary folders for tests. Each is removed by a node:test `after` hook registered where it is made: at the
// top of a test file, after the file's tests; inside a describe, after the suite; inside a test, after that
// test. A whole run leaves nothing under os.tmpdir().
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

/** A new empty folder `<os.tmpdir()>/ocsync-<name>-XXXXXX`, removed when the enclosing test, suite or file ends. */
export function tempDir(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ocsync-${name}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
