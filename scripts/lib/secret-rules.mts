// This project's own secretlint rules: credentials that show up in an OpenClaw bot's chats and tool output and
// that secretlint's recommended preset does not look for. They have the shape of any secretlint rule
// (meta, messages, create → { file(source) }) and run next to the preset's rules in secrets.mts, with the same
// `allows` option (.secretsallow). Each rule's fixed part is in the prefilter there (secrets.mts, the gates).
//
//   google-api-key      AIza + 35 characters (Maps, Gemini, Firebase, YouTube … API keys)
//   aws-access-key-id   AKIA / ASIA + 16 (a long-term or temporary access key id; the preset only knows the
//                       secret access key, and its id scan is off by default)
//   fly-token           FlyV1 fm1_/fm2_… (flyctl tokens, e.g. the FLY_API_TOKEN of this project's workflow)
//   telegram-bot-token  <bot id>:AA + 33 characters (BotFather's tokens; OpenClaw's Telegram channel uses one)
//   openrouter          sk-or-v1- + 64 hex digits

interface Source {
  content: string;
}
interface Context {
  createTranslator(
    messages: Record<string, unknown>,
  ): (messageId: string, props?: Record<string, unknown>) => unknown;
  report(descriptor: { message: unknown; range: readonly [number, number] }): void;
}

interface Spec {
  name: string;
  kind: string;
  description: string;
  pattern: RegExp;
  /** Documentation examples that are not secrets. */
  ignored?: string[];
}

const SPECS: Spec[] = [
  {
    name: "google-api-key",
    kind: "GOOGLE_API_KEY",
    description: "found a Google API key",
    pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])/g,
  },
  {
    name: "aws-access-key-id",
    kind: "AWS_ACCESS_KEY_ID",
    description: "found an AWS access key id",
    pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Za-z0-9])/g,
    ignored: ["AKIAIOSFODNN7EXAMPLE"],
  },
  {
    name: "fly-token",
    kind: "FLY_API_TOKEN",
    description: "found a Fly.io API token",
    pattern:
      /(?:FlyV1 )?(?<![A-Za-z0-9_])fm[12][ar]?_[A-Za-z0-9+/]{32,}={0,2}(?:,fm[12][ar]?_[A-Za-z0-9+/]+={0,2})*/g,
  },
  {
    name: "telegram-bot-token",
    kind: "TELEGRAM_BOT_TOKEN",
    description: "found a Telegram bot token",
    pattern: /(?<![0-9])[0-9]{8,10}:AA[0-9A-Za-z_-]{33}(?![A-Za-z0-9_-])/g,
  },
  {
    name: "openrouter",
    kind: "OPENROUTER_API_KEY",
    description: "found an OpenRouter API key",
    pattern: /(?<![A-Za-z0-9_-])sk-or-v1-[0-9a-f]{64}(?![0-9a-f])/g,
  },
];

export const PROJECT_RULE_PREFIX = "openclaw-memory-sync/secret-";

/** secretlint's `allows`: a literal, or `/source/flags`, tested against the matched secret. */
function allowed(text: string, allows: string[]): boolean {
  for (const allow of allows) {
    const regex = /^\/(.+)\/([guimysd]*)$/.exec(allow);
    if (regex) {
      if (new RegExp(regex[1], regex[2].replace(/[gy]/g, "")).test(text)) return true;
    } else if (text.includes(allow)) return true;
  }
  return false;
}

function ruleOf(spec: Spec) {
  const messages = {
    [spec.kind]: {
      en: (props: { ID: string }) => `${spec.description}: ${props.ID}`,
    },
  };
  return {
    meta: {
      id: `${PROJECT_RULE_PREFIX}${spec.name}`,
      recommended: true,
      type: "scanner",
      supportedContentTypes: ["text"],
      docs: { url: "README.md#secrets" },
    },
    messages,
    create(context: Context, options: { allows?: string[] }) {
      const t = context.createTranslator(messages);
      const allows = options.allows ?? [];
      return {
        file(source: Source) {
          for (const match of source.content.matchAll(spec.pattern)) {
            const text = match[0];
            if (spec.ignored?.includes(text) || allowed(text, allows)) continue;
            const start = match.index ?? 0;
            context.report({ message: t(spec.kind, { ID: text }), range: [start, start + text.length] });
          }
        },
      };
    },
  };
}

/** The project's rules, in secretlint's rule shape. */
export const projectRules = SPECS.map(ruleOf);
