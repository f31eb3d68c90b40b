/** The pages behind the emailed links (PUBLIC_URL/verify-email?token=…, /reset-password?token=…) and "forgot password". */
import { useEffect, useState } from "preact/hooks";
import { problemOf, type Problem } from "../../api/errors.js";
import { refresh, session } from "../../api/session.js";
import { api } from "../../api/transport.js";
import { Link, location, navigate } from "../../router.js";
import { useSubmit } from "../../ui/async.js";
import { Alert, Button, Field, Loading, ProblemAlert } from "../../ui/kit.js";
import { AuthCard, fieldError } from "./AuthCard.js";

export function VerifyEmail() {
  const token = location.value.query.get("token") ?? "";
  const [state, setState] = useState<"working" | "done" | Problem>("working");
  useEffect(() => {
    // The token leaves the address bar (and the history) at once.
    window.history.replaceState(null, "", "/verify-email");
    if (!token) return setState({ code: 3, reason: "", field: "token", message: "This link has no token. Open the link from the email again." });
    api.auth.verifyEmail({ token }).then(
      async () => {
        // A signed-in console takes a token that says so (the one it has says unverified): after the
        // start-up refresh settles, once more if that one was issued before the verification.
        await refresh();
        if (session.value && !session.value.user.emailVerified) await refresh();
        setState("done");
      },
      (e) => setState(problemOf(e)),
    );
  }, []);
  return (
    <AuthCard title="Verify your email">
      {state === "working" && <Loading label="Verifying…" />}
      {state === "done" && (
        <>
          <Alert kind="success">Your email address is verified.</Alert>
          <p>
            <Link href={session.value ? "/" : "/sign-in"}>{session.value ? "Continue to SQL Studio" : "Sign in"}</Link>
          </p>
        </>
      )}
      {typeof state === "object" && (
        <>
          <Alert>
            {state.message} {state.reason === "TOKEN_INVALID" || state.reason === "TOKEN_EXPIRED" ? "Links work once and expire after 24 hours." : ""}
          </Alert>
          <p>{session.value ? <Link href="/account">Send a new link from your profile</Link> : <Link href="/sign-in">Sign in to send a new link</Link>}</p>
        </>
      )}
    </AuthCard>
  );
}

export function ForgotPassword() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const s = useSubmit(async () => {
    await api.auth.requestPasswordReset({ email: email.trim() });
    setSent(true);
  });
  return (
    <AuthCard
      title="Reset your password"
      footer={
        <>
          Remembered it? <Link href="/sign-in">Sign in</Link>
        </>
      }
    >
      {sent ? (
        <Alert kind="success">If an account uses {email}, a link to reset its password is on its way. It works once, for an hour.</Alert>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void s.run();
          }}
        >
          <p class="muted">Enter the email address of your account; we send a link to choose a new password.</p>
          {s.problem?.field !== "email" && <ProblemAlert problem={s.problem} />}
          <Field label="Email" type="email" value={email} onInput={setEmail} autocomplete="email" required autofocus error={fieldError(s.problem, "email")} />
          <Button kind="primary" type="submit" busy={s.busy}>
            Send the link
          </Button>
        </form>
      )}
    </AuthCard>
  );
}

export function ResetPassword() {
  const [token] = useState(() => location.value.query.get("token") ?? "");
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [done, setDone] = useState(false);
  useEffect(() => window.history.replaceState(null, "", "/reset-password"), []);
  const s = useSubmit(async () => {
    if (password !== confirm) throw Object.assign(new Error("The two passwords differ."), { field: "confirm" });
    await api.auth.resetPassword({ token, newPassword: password });
    setDone(true);
  });
  const mismatch = s.problem?.message === "The two passwords differ." ? s.problem.message : undefined;
  return (
    <AuthCard title="Choose a new password">
      {done ? (
        <>
          <Alert kind="success">Your password is changed, and every session of your account was signed out.</Alert>
          <Button kind="primary" onClick={() => navigate("/sign-in", { replace: true })}>
            Sign in
          </Button>
        </>
      ) : !token ? (
        <Alert>This link has no token. Open the link from the email again, or <Link href="/forgot-password">ask for a new one</Link>.</Alert>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void s.run();
          }}
        >
          {s.problem && !mismatch && s.problem.field !== "new_password" && <ProblemAlert problem={s.problem} />}
          <Field label="New password" type="password" value={password} onInput={setPassword} autocomplete="new-password" required minLength={10} autofocus hint="At least 10 characters; common passwords are refused." error={fieldError(s.problem, "new_password")} />
          <Field label="New password, again" type="password" value={confirm} onInput={setConfirm} autocomplete="new-password" required error={mismatch} />
          <Button kind="primary" type="submit" busy={s.busy}>
            Change password
          </Button>
        </form>
      )}
    </AuthCard>
  );
}
