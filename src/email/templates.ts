import type { Email } from "./mailer.js";

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

export function verificationEmail(to: string, name: string, url: string): Email {
  const subject = "Verify your email for SQL Studio";
  const lines = [`Hello ${name},`, "Confirm this address to finish setting up your SQL Studio account. The link is valid for 24 hours."];
  return {
    kind: "verify_email",
    to,
    subject,
    text: `${lines.join("\n\n")}\n\n${url}\n\nIf you did not create an account, ignore this message.\n`,
    html: layout(subject, [...lines, "If you did not create an account, ignore this message."], { label: "Verify email", url }),
  };
}

export function passwordResetEmail(to: string, name: string, url: string): Email {
  const subject = "Reset your SQL Studio password";
  const lines = [`Hello ${name},`, "Someone asked to reset the password of your SQL Studio account. The link is valid for 1 hour and works once."];
  return {
    kind: "reset_password",
    to,
    subject,
    text: `${lines.join("\n\n")}\n\n${url}\n\nIf it was not you, ignore this message: your password stays as it is.\n`,
    html: layout(subject, [...lines, "If it was not you, ignore this message: your password stays as it is."], { label: "Reset password", url }),
  };
}

export function passwordChangedEmail(to: string, name: string): Email {
  const subject = "Your SQL Studio password was changed";
  const lines = [
    `Hello ${name},`,
    "The password of your SQL Studio account was just changed, and your other sessions were signed out.",
    "If this was not you, reset your password at once.",
  ];
  return { kind: "password_changed", to, subject, text: `${lines.join("\n\n")}\n`, html: layout(subject, lines) };
}
