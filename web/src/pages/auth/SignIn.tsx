import { useState } from "preact/hooks";
import { endedBecause, signIn } from "../../api/session.js";
import { Link, location, navigate } from "../../router.js";
import { useSubmit } from "../../ui/async.js";
import { Alert, Button, Field, ProblemAlert } from "../../ui/kit.js";
import { AuthCard, fieldError } from "./AuthCard.js";

export function SignIn() {
  const [identifier, setIdentifier] = useState("");
  const [password, setPassword] = useState("");
  const next = location.value.query.get("next");
  const s = useSubmit(async () => {
    await signIn(identifier.trim(), password);
    navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
  });
  const problem = s.problem;
  const fieldLevel = fieldError(problem, "identifier", "password");
  return (
    <AuthCard
      title="Sign in"
      footer={
        <>
          New here? <Link href="/sign-up">Create an account</Link>
        </>
      }
    >
      {endedBecause.value && <Alert kind="info">{endedBecause.value}</Alert>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void s.run();
        }}
      >
        {!fieldLevel && <ProblemAlert problem={problem} />}
        <Field label="Username or email" value={identifier} onInput={setIdentifier} autocomplete="username" required autofocus name="identifier" error={fieldError(problem, "identifier")} />
        <Field label="Password" type="password" value={password} onInput={setPassword} autocomplete="current-password" required name="password" error={fieldError(problem, "password")} />
        <Button kind="primary" type="submit" busy={s.busy}>
          Sign in
        </Button>
        <p class="form-aside">
          <Link href="/forgot-password">Forgot your password?</Link>
        </p>
      </form>
    </AuthCard>
  );
}
