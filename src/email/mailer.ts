import { Resend } from "resend";
import type { Logger } from "../observability/logger.js";

export interface Email {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** What kind of message, for logs and metrics (never the content). */
  kind: string;
}

export interface Mailer {
  /** Sends once; throws on failure. */
  send(email: Email): Promise<void>;
}

/** Production: Resend's API through its SDK (RESEND_BASE_URL points it elsewhere in tests). */
export class ResendMailer implements Mailer {
  private readonly client: Resend;

  constructor(apiKey: string, private readonly from: string, baseUrl?: string) {
    this.client = new Resend(apiKey, baseUrl ? { baseUrl: baseUrl.replace(/\/$/, "") } : undefined);
  }

  async send(email: Email): Promise<void> {
    const { error } = await this.client.emails.send({ from: this.from, to: email.to, subject: email.subject, text: email.text, html: email.html });
    if (error) throw new Error(`resend: ${error.name ?? "error"}: ${error.message}`);
  }
}

/**
 * Development: prints the whole message, links included, to the terminal (stdout, not the
 * structured log, so tokens never enter log pipelines).
 */
export class ConsoleMailer implements Mailer {
  constructor(private readonly out: (s: string) => void = (s) => process.stdout.write(s)) {}

  async send(email: Email): Promise<void> {
    const bar = "─".repeat(72);
    this.out(`\n${bar}\n[email] to: ${email.to}\n[email] subject: ${email.subject}\n\n${email.text}\n${bar}\n`);
  }
}

/**
 * EMAIL_PROVIDER=console outside development: nothing is sent and nothing of the message is
 * printed (its links are live credentials in a log that many people read); one log line says
 * that an email of this kind was due, to a masked address.
 */
export class LogOnlyMailer implements Mailer {
  constructor(private readonly logger: Logger) {}

  async send(email: Email): Promise<void> {
    this.logger.warn({ kind: email.kind, to: maskAddress(email.to) }, "email not sent (EMAIL_PROVIDER=console): its content and links are withheld");
  }
}

/** `a••••@example.com`: enough to tell addresses apart in a log, not to read one. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf("@");
  if (at <= 0) return "•••";
  return `${address[0]}••••${address.slice(at)}`;
}

/**
 * Sends in the background with retries and exponential backoff, so a request never waits on
 * (or fails because of) the email provider; every failure is logged without the content.
 */
export class Outbox {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly mailer: Mailer,
    private readonly logger: Logger,
    private readonly opts: { attempts: number; baseDelayMs: number } = { attempts: 5, baseDelayMs: 500 },
  ) {}

  enqueue(email: Email): void {
    const p = this.deliver(email).finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  private async deliver(email: Email): Promise<void> {
    for (let attempt = 1; attempt <= this.opts.attempts; attempt++) {
      try {
        await this.mailer.send(email);
        this.logger.info({ kind: email.kind, attempt }, "email sent");
        return;
      } catch (err) {
        const last = attempt === this.opts.attempts;
        this.logger[last ? "error" : "warn"]({ kind: email.kind, attempt, error: (err as Error).message }, last ? "email not sent: giving up" : "email send failed: retrying");
        if (!last) await new Promise((r) => setTimeout(r, this.opts.baseDelayMs * 2 ** (attempt - 1)).unref());
      }
    }
  }

  /** Waits for queued emails (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
