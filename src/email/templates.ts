import type { Email } from "./mailer.js";

/**
 * The emails. `name` is user-chosen text (display name or username): callers pass it only for
 * an address the account has verified, so nothing an attacker typed reaches an address that
 * never agreed to hear from this account; without it the greeting is generic.
 */

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function layout(title: string, paragraphs: string[], action?: { label: string; url: string }): string {
  const body = paragraphs.map((p) => `<p>${escape(p)}</p>`).join("\n");
  const button = action
    ? `<p><a href="${escape(action.url)}" style="display:inline-block;padding:10px 16px;background:#2f6feb;color:#fff;text-decoration:none;border-radius:6px">${escape(action.label)}</a></p>
<p style="color:#666;font-size:12px">Or paste this link into your browser: ${escape(action.url)}</p>`
    : "";
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:560px;margin:auto">
<h2>${escape(title)}</h2>
${body}
${button}
<p style="color:#666;font-size:12px">SQL Studio</p>
</body></html>`;
}

const hello = (name?: string) => (name ? `Hello ${name},` : "Hello,");

export function verificationEmail(to: string, url: string): Email {
  const subject = "Verify your email for SQL Studio";
  const lines = [hello(), "Confirm this address to use it for your SQL Studio account. The link is valid for 24 hours."];
  const after = "If you did not ask for this, ignore this message: the address is not used until it is confirmed.";
  return {
    kind: "verify_email",
    to,
    subject,
    text: `${lines.join("\n\n")}\n\n${url}\n\n${after}\n`,
    html: layout(subject, [...lines, after], { label: "Verify email", url }),
  };
}

export function passwordResetEmail(to: string, name: string | undefined, url: string): Email {
  const subject = "Reset your SQL Studio password";
  const lines = [hello(name), "Someone asked to reset the password of your SQL Studio account. The link is valid for 1 hour and works once."];
  return {
    kind: "reset_password",
    to,
    subject,
    text: `${lines.join("\n\n")}\n\n${url}\n\nIf it was not you, ignore this message: your password stays as it is.\n`,
    html: layout(subject, [...lines, "If it was not you, ignore this message: your password stays as it is."], { label: "Reset password", url }),
  };
}

export function passwordChangedEmail(to: string, name: string | undefined): Email {
  const subject = "Your SQL Studio password was changed";
  const lines = [
    hello(name),
    "The password of your SQL Studio account was just changed, and your other sessions were signed out.",
    "If this was not you, reset your password at once.",
  ];
  return { kind: "password_changed", to, subject, text: `${lines.join("\n\n")}\n`, html: layout(subject, lines) };
}

/** To the address an email change moves away from: what happened, and the way back. */
export function emailChangeNoticeEmail(to: string, name: string | undefined, secureUrl: string, validDays: number): Email {
  const subject = "Your SQL Studio email address is being changed";
  const lines = [
    hello(name),
    "Someone signed in to your SQL Studio account asked to move it to a new email address. Once the new address is confirmed, this one is no longer used to sign in.",
    `If this was not you, secure your account with the link below (valid for ${validDays} days, even after the change): it sets a new password, signs out every device and makes this address the account's again.`,
  ];
  return {
    kind: "email_change_notice",
    to,
    subject,
    text: `${lines.join("\n\n")}\n\n${secureUrl}\n\nIf it was you, there is nothing to do.\n`,
    html: layout(subject, [...lines, "If it was you, there is nothing to do."], { label: "Secure my account", url: secureUrl }),
  };
}

export function accountDeletedEmail(to: string, name: string | undefined): Email {
  const subject = "Your SQL Studio account was deleted";
  const lines = [hello(name), "Your SQL Studio account and everything in it were deleted, and every device was signed out.", "If this was not you, your password was known to someone else: change it wherever you used it."];
  return { kind: "account_deleted", to, subject, text: `${lines.join("\n\n")}\n`, html: layout(subject, lines) };
}
