// Stage 3, choose the era: pick the agent, find its storage era (openclaw/era.mts), let the era refuse what
// cannot work, and write down where this run's history comes from (the provenance's `lastSync`).
import { type Reporter } from "../cli.mts";
import { VERSION_SOURCE_TEXT, chooseAgent, type AgentInfo } from "../openclaw/discovery.mts";
import { eraOf, type EraStrategy } from "../openclaw/era.mts";
import type { TransportSource } from "../remote/connect.mts";
import type { SyncSource } from "../store/provenance.mts";
import type { Discovered } from "./discover.mts";
import { TOOL } from "./types.mts";

export interface EraChoice {
  agent: AgentInfo;
  era: EraStrategy;
  source: SyncSource;
}

export function chooseEra(
  { discovery, version, versionSource }: Discovered,
  transportSource: TransportSource,
  options: { agent?: string; reporter: Reporter },
): EraChoice {
  const agent = chooseAgent(discovery, options.agent);
  const era = eraOf(agent);
  options.reporter.info(`agent ${agent.id}: storage era ${era.era}${era.describe(agent)}`);
  era.check({ discovery, agent, version, reporter: options.reporter });
  const source: SyncSource = {
    at: new Date().toISOString(),
    ...transportSource,
    stateDir: discovery.stateDir,
    agent: agent.id,
    openclawVersion: version,
    versionSource: versionSource ? VERSION_SOURCE_TEXT[versionSource] : undefined,
    era: era.era,
    tool: TOOL,
  };
  return { agent, era, source };
}
