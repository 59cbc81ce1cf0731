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
  SENDGRID_KEY: ["SG", run(22), run(43)].join("."),
  NPM_ACCESS_TOKEN: ["npm", run(36)].join("_"),
  SHOPIFY_KEY: ["shpat", run(32)].join("_"),
  HUGGINGFACE_USER_ACCESS_TOKEN: ["hf", run(60).replace(/[0-9]/g, "").slice(0, 34)].join("_"),
  LINEAR_API_TOKEN: ["lin", "api", run(40)].join("_"),
  GROQ_API_KEY: ["gsk", run(52)].join("_"),
  HASHICORP_VAULT_SERVICE_TOKEN: ["hvs", run(95)].join("."),
  DATABRICKS_PERSONAL_ACCESS_TOKEN: `dapi${"0123456789abcdef".repeat(2)}`,
  DOCKER_PERSONAL_ACCESS_TOKEN: ["dckr", "pat", run(27)].join("_"),
  FIGMA_PERSONAL_ACCESS_TOKEN: ["figd", run(40)].join("_"),
  TAILSCALE_API_KEY: ["tskey", "api", run(10), run(20)].join("-"),
  VERCEL_PERSONAL_ACCESS_TOKEN: ["vcp", run(24)].join("_"),
  GRAFANA_SERVICE_ACCOUNT_TOKEN: ["glsa", run(32), "0a1b2c3d"].join("_"),
  CLOUDFLARE_USER_API_TOKEN: ["cfut", `${run(40)}0a1b2c3d`].join("_"),
  NOTION_INTEGRATION_TOKEN: ["ntn", `12345678901${run(35)}`].join("_"),
  BasicAuth: ["https", "//deploy:Zq8vLm2pWx9r@git.internal.corp/repo.git"].join(":"),
  IncomingWebhook: ["https", `//hooks.slack.com/services/T${run(8)}/B${run(8)}/${run(24)}`].join(":"),
  MongoDBConnection: ["mongodb+srv", "//billing:Zq8vLm2pWx9r@cluster0.internal.corp/app"].join(":"),
  // this project's own rules (scripts/lib/secret-rules.mts)
  GOOGLE_API_KEY: ["AIza", "Sy", run(33)].join(""),
  AWS_ACCESS_KEY_ID: ["AKIA", "QYLPMN5HHHFPZAM2"].join(""),
  FLY_API_TOKEN: ["FlyV1", ` fm2_${run(60).replace(/[0-9]/g, "+")}==,fm2_${run(40)}`].join(""),
  TELEGRAM_BOT_TOKEN: ["7123456789", `AA${run(33)}`].join(":"),
  OPENROUTER_API_KEY: ["sk", "or", "v1", "0123456789abcdef".repeat(4)].join("-"),
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
  if (kind === "PostgreSQLConnection" || kind === "BasicAuth" || kind === "MongoDBConnection")
    return "Zq8vLm2pWx9r";
  if (kind === "PrivateKey") return sample.split("\n")[2];
  return sample;
}
