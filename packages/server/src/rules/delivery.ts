/**
 * Sends a fired rule's actions (EXPORT_RULES.md §4.2, §4.4): webhook POSTs and e-mail over
 * SMTP (nodemailer), each held to IoT Central's rate limit (e-mail once a minute, webhook once
 * per 10 s, per rule and action); an alert held back is counted as suppressed, a failure is
 * recorded in words (refused connection, DNS, timeout, HTTP status with the body's first line).
 */
import nodemailer, { type Transporter } from 'nodemailer';

import { emailContent, webhookPayload, type ApplicationIdentity, type FiredRule } from './payload.js';
import type { RuleAction } from './rule-shape.js';
import type { ActionOutcome, RuleStore } from './rule-store.js';

/** EXPORT_RULES.md §4.4 (D-LIM). */
export const RATE_LIMIT_MS = { email: 60_000, webhook: 10_000 } as const;
const WEBHOOK_TIMEOUT_MS = 10_000;

export interface DeliveryOptions {
  store: RuleStore;
  app: ApplicationIdentity;
  /** `smtp://user:pass@host:port` or `smtps://…`; absent: e-mail actions are refused at save. */
  smtpUrl?: string;
  smtpFrom?: string;
  now: () => Date;
}

/** Words for a failed fetch or SMTP send: the system error code first, where there is one. */
export function describeFailure(err: unknown, target: string): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? (err as { code?: string })?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${target}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `DNS: ${target} not found`;
    case 'ECONNRESET':
      return `connection reset by ${target}`;
    case 'ETIMEDOUT':
    case 'ETIMEOUT':
      return `timed out talking to ${target}`;
  }
  if ((err as Error)?.name === 'TimeoutError')
    return `no answer from ${target} in ${WEBHOOK_TIMEOUT_MS / 1000} s`;
  const message = cause?.message ?? (err as Error)?.message ?? String(err);
  return `${target}: ${message}`;
}

export class RuleDelivery {
  private readonly transport: Transporter | undefined;
  /** When this node last sent each rule's action: within the limit, no need to ask the store. */
  private readonly lastSent = new Map<string, number>();

  constructor(private readonly options: DeliveryOptions) {
    this.transport = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : undefined;
  }

  get smtpConfigured(): boolean {
    return this.transport !== undefined;
  }

  /** Runs every action of the firing (each once, or suppressed) and says what each did. */
  async run(
    fired: FiredRule,
    actions: readonly RuleAction[],
    components: ReadonlySet<string>,
  ): Promise<ActionOutcome[]> {
    return Promise.all(actions.map((a) => this.one(fired, a, components)));
  }

  private async one(
    fired: FiredRule,
    action: RuleAction,
    components: ReadonlySet<string>,
  ): Promise<ActionOutcome> {
    const base = { id: action.id, type: action.type };
    const key = `${fired.rule.id}\u0000${action.id}`;
    const now = this.options.now();
    // Sent from here within the limit: suppressed for certain. Otherwise the store decides (another
    // node may have sent, and the limit holds across restarts).
    const mine = this.lastSent.get(key);
    if (mine !== undefined && now.getTime() - mine < RATE_LIMIT_MS[action.type])
      return { ...base, outcome: 'suppressed' };
    const turn = await this.options.store.claimSend(
      fired.rule.id,
      action.id,
      now,
      RATE_LIMIT_MS[action.type],
    );
    if (!turn) return { ...base, outcome: 'suppressed' };
    this.lastSent.set(key, now.getTime());
    try {
      if (action.type === 'webhook') await this.webhook(fired, action, components);
      else await this.email(fired, action);
      return { ...base, outcome: 'sent' };
    } catch (err) {
      return { ...base, outcome: 'failed', error: err instanceof ActionError ? err.message : String(err) };
    }
  }

  private async webhook(
    fired: FiredRule,
    action: Extract<RuleAction, { type: 'webhook' }>,
    components: ReadonlySet<string>,
  ): Promise<void> {
    const target = new URL(action.url).host;
    let res: Response;
    try {
      res = await fetch(action.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(webhookPayload(fired, action, this.options.app, components)),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
    } catch (err) {
      throw new ActionError(describeFailure(err, target));
    }
    const body = await res.text().catch(() => '');
    if (!res.ok) {
      const first = body.split(/\r?\n/, 1)[0]?.slice(0, 200) ?? '';
      throw new ActionError(`HTTP ${res.status} from ${target}${first ? `: ${first}` : ''}`);
    }
  }

  private async email(fired: FiredRule, action: Extract<RuleAction, { type: 'email' }>): Promise<void> {
    if (!this.transport) throw new ActionError('no SMTP server configured (--smtp-url)');
    const content = emailContent(fired, action, this.options.app);
    const smtpHost = new URL(this.options.smtpUrl!).host;
    try {
      await this.transport.sendMail({
        from: this.options.smtpFrom ?? `gatehouse@${this.options.app.host}`,
        to: action.to,
        ...content,
      });
    } catch (err) {
      throw new ActionError(`SMTP: ${describeFailure(err, smtpHost)}`);
    }
  }

  close(): void {
    this.transport?.close();
  }
}

class ActionError extends Error {}
