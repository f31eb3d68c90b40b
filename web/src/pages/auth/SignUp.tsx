import { useState } from "preact/hooks";
import { signIn } from "../../api/session.js";
import { api } from "../../api/transport.js";
import { Link, navigate } from "../../router.js";
import { useSubmit } from "../../ui/async.js";
import { Button, Field, ProblemAlert } from "../../ui/kit.js";
import { AuthCard, fieldError } from "./AuthCard.js";

export function SignUp() {
  const [email, setEmail] = useState("");
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const s = useSubmit(async () => {
    await api.auth.register({ email: email.trim(), username: username.trim(), displayName: displayName.trim(), password });
    // Signed in at once; the banner asks for the emailed link until the address is verified.
    await signIn(username.trim(), password);
    navigate("/", { replace: true });
  });
  const p = s.problem;
  const known = ["email", "username", "display_name", "password"];
  return (
    <AuthCard
      title="Create your account"
      footer={
        <>
          Already have one? <Link href="/sign-in">Sign in</Link>
        </>
      }
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void s.run();
        }}
      >
        {p && !known.includes(p.field) && <ProblemAlert problem={p} />}
        <Field label="Email" type="email" value={email} onInput={setEmail} autocomplete="email" required autofocus name="email" error={fieldError(p, "email")} />
        <Field label="Username" value={username} onInput={setUsername} autocomplete="username" required name="username" hint="3–32 characters: a–z, 0–9, _ . -" error={fieldError(p, "username")} />
        <Field label="Display name (optional)" value={displayName} onInput={setDisplayName} autocomplete="name" name="display_name" error={fieldError(p, "display_name")} />
        <Field label="Password" type="password" value={password} onInput={setPassword} autocomplete="new-password" required minLength={10} name="password" hint="At least 10 characters; common passwords are refused." error={fieldError(p, "password")} />
        <Button kind="primary" type="submit" busy={s.busy}>
          Create account
        </Button>
      </form>
    </AuthCard>
  );
}
