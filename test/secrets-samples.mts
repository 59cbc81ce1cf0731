// Fake credentials shaped like the real thing (they match secretlint's recommended rules), built at run time so
// that this repository's own files hold no literal token. Never real, never valid.
const filler =
  "aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zA1bC2dE3fG4hJ5kL6mN7pQ8rS9tU0vW1xY2zA3bC4dE5fG6hJ7kL8mN9pQ0rS1tU2vW3xY4z";
const run = (n: number) => filler.repeat(3).slice(0, n);

/** kind (secretlint message id) → a string holding one such secret. */
export const SAMPLES: Record<string, string> = {
  GITHUB_TOKEN: ["ghp", run(36)].join("_"),
  OPENAI_TOKEN: ["sk", "proj", `${run(74)}T3BlbkFJ${run(74)}`].join("-"),
  ANTHROPIC_API_KEY: ["sk", "ant", "api03", `${run(93)}AA`].join("-"),
  AWSSecretAccessKey: `aws_secret_access_key = ${run(40)}`,
  SLACK_TOKEN: ["xoxb", "1234567890", "1234567890123", run(24)].join("-"),
  STRIPE_SECRET_KEY_LIVE: ["sk", "live", run(24)].join("_"),
  GITLAB_PERSONAL_ACCESS_TOKEN: ["glpat", run(20)].join("-"),
  PostgreSQLConnection: ["postgres", "//billing:Zq8vLm2pWx9r@db.internal.corp:5432/app"].join(":"),
  PrivateKey: [
    `-----BEGIN RSA PRIVATE KEY-----`,
    `MII${run(61)}`,
    run(64),
    run(64),
    `-----END RSA PRIVATE KEY-----`,
  ].join("\n"),
};

/** The part of a sample that must never appear in output (the token itself, without a keyword prefix). */
export function secretPart(kind: string): string {
  const sample = SAMPLES[kind];
  if (kind === "AWSSecretAccessKey") return sample.split(" = ")[1];
  if (kind === "PostgreSQLConnection") return "Zq8vLm2pWx9r";
  if (kind === "PrivateKey") return sample.split("\n")[2];
  return sample;
}
