// Versions, in one place: OpenClaw's calendar versions (`2026.7.2-beta.1`), the first SQLite-era release, Node's
// `v22.5.0` (the SQLite exporter needs node:sqlite) and dotted tool versions (flyctl's `0.4.87`).

/** The first OpenClaw release whose sessions live in SQLite. */
export const FIRST_SQLITE_VERSION = "2026.7.2-beta.1";
const FIRST_SQLITE_PARTS: [number, number, number] = [2026, 7, 2];

/** `OpenClaw 2026.4.12 (abc1234)`, `2026.1.30`, `v2026.7.2-beta.1` → the bare calendar version. */
export function normalizeVersion(text: string): string | undefined {
  const match = /(\d{4}\.\d{1,2}\.\d{1,3}(?:-(?:beta\.\d+|\d+))?)/.exec(text);
  return match?.[1];
}

/** The first calendar version in a command's output, with any suffix, and its numeric parts. */
export function parseVersion(text: string): { version: string; parts: [number, number, number] } | undefined {
  const match = /(\d{4})\.(\d{1,2})\.(\d{1,3})(-[0-9A-Za-z.]+)?/.exec(text);
  if (!match) return undefined;
  return { version: match[0], parts: [Number(match[1]), Number(match[2]), Number(match[3])] };
}

/** Orders calendar versions; a beta sorts before its release, a `-N` respin after it. */
export function compareCalendar(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:-(beta)\.(\d+)|-(\d+))?/.exec(v);
    if (!m) return [0, 0, 0, 0, 0];
    const tier = m[4] ? 0 : m[6] ? 2 : 1;
    return [Number(m[1]), Number(m[2]), Number(m[3]), tier, Number(m[5] ?? m[6] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return Math.sign(pa[i] - pb[i]);
  return 0;
}

/** Whether a release of these numeric parts keeps sessions in SQLite (2026.7.2 and its betas onwards). */
export function isSqliteEra(parts: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (parts[i] !== FIRST_SQLITE_PARTS[i]) return parts[i] > FIRST_SQLITE_PARTS[i];
  return true;
}

/** `v22.5.0` → [22, 5]; undefined when it is not a Node version. */
export function parseNodeVersion(text: string | undefined): [number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)/.exec(text ?? "");
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/** node:sqlite (the SQLite-era exporter's reader) arrived in Node 22.5. */
export function hasNodeSqlite(nodeVersion: string | undefined): boolean {
  const [major, minor] = parseNodeVersion(nodeVersion) ?? [0, 0];
  return major > 22 || (major === 22 && minor >= 5);
}

/** Orders dotted versions (`0.4.80`); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff) return Math.sign(diff);
  }
  return 0;
}
