/**
 * Builds the rules context for a server: the store, the action delivery, the engine on this
 * node's hub events, and the service `/api/rules` calls.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Logger } from 'pino';

import type { TemplateSummary } from '../app/dtdl-summary.js';
import type { EventBus } from '../events/event-bus.js';
import { RuleDelivery } from './delivery.js';
import { RuleEngine } from './engine.js';
import type { ApplicationIdentity } from './payload.js';
import { RuleService } from './rule-service.js';
import { RuleStore } from './rule-store.js';

export interface RulesOptions {
  db: Kysely<Database>;
  events: EventBus;
  template(id: string): Promise<TemplateSummary | undefined>;
  app: ApplicationIdentity;
  logger: Logger;
  smtpUrl?: string;
  smtpFrom?: string;
  /** Tests: a clock to move (windows, disconnection times, rate limits) and a faster tick. */
  now?: () => number;
  tickMs?: number;
  lease?: () => Promise<(() => Promise<void>) | undefined>;
}

export interface Rules {
  service: RuleService;
  engine: RuleEngine;
  close(): Promise<void>;
}

export async function startRules(options: RulesOptions): Promise<Rules> {
  const store = new RuleStore(options.db);
  const now = options.now ?? Date.now;
  const delivery = new RuleDelivery({
    store,
    app: options.app,
    now: () => new Date(now()),
    ...(options.smtpUrl !== undefined ? { smtpUrl: options.smtpUrl } : {}),
    ...(options.smtpFrom !== undefined ? { smtpFrom: options.smtpFrom } : {}),
  });
  const engine = new RuleEngine({
    db: options.db,
    store,
    delivery,
    template: options.template,
    logger: options.logger,
    now,
    ...(options.tickMs !== undefined ? { tickMs: options.tickMs } : {}),
    ...(options.lease ? { lease: options.lease } : {}),
  });
  await engine.start();
  const unsubscribe = options.events.subscribeLocal((event) => engine.onEvent(event));
  const service = new RuleService({
    store,
    template: options.template,
    smtpConfigured: delivery.smtpConfigured,
    changed: () => engine.reload(),
    now: () => new Date(now()),
  });
  return {
    service,
    engine,
    async close() {
      unsubscribe();
      await engine.close();
      delivery.close();
    },
  };
}
