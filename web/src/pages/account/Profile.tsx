import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { session, updateUser } from "../../api/session.js";
import { api } from "../../api/transport.js";
import { useSubmit } from "../../ui/async.js";
import { Alert, Button, Field, Page, ProblemAlert, When } from "../../ui/kit.js";
import { fieldError } from "../auth/AuthCard.js";
import { AccountNav } from "./AccountNav.js";

export function Profile() {
  const user = session.value!.user;
  return (
    <Page title="Account">
      <AccountNav />
      <div class="cards">
        <ProfileForm key={user.id} />
        <PasswordForm />
      </div>
      <p class="muted">
        Member since <When at={user.createdAt ? timestampDate(user.createdAt) : undefined} />. Press <kbd>?</kbd> anywhere for the keyboard shortcuts.
      </p>
    </Page>
  );
}

function ProfileForm() {
  const user = session.value!.user;
  const [displayName, setDisplayName] = useState(user.displayName);
  const [username, setUsername] = useState(user.username);
  const [email, setEmail] = useState(user.email);
  const [saved, setSaved] = useState(false);
  const s = useSubmit(async () => {
    setSaved(false);
    const changes: { displayName?: string; username?: string; email?: string } = {};
    if (displayName.trim() !== user.displayName) changes.displayName = displayName.trim();
    if (username.trim() !== user.username) changes.username = username.trim();
    if (email.trim() !== user.email) changes.email = email.trim();
    const r = await api.auth.updateProfile(changes);
    updateUser(r.user!);
    setSaved(true);
  });
  const p = s.problem;
  return (
    <section class="card" aria-labelledby="profile-h">
      <h2 id="profile-h">Profile</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void s.run();
        }}
      >
        {p && !["display_name", "username", "email"].includes(p.field) && <ProblemAlert problem={p} />}
        {saved && <Alert kind="success">Saved.</Alert>}
        <Field label="Display name" value={displayName} onInput={setDisplayName} autocomplete="name" error={fieldError(p, "display_name")} />
        <Field label="Username" value={username} onInput={setUsername} autocomplete="username" error={fieldError(p, "username")} />
        <Field label="Email" type="email" value={email} onInput={setEmail} autocomplete="email" hint={user.emailVerified ? "Verified." : "Not verified yet."} error={fieldError(p, "email")} />
        <Button kind="primary" type="submit" busy={s.busy}>
          Save profile
        </Button>
      </form>
    </section>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [done, setDone] = useState<number>();
  const s = useSubmit(async () => {
    setDone(undefined);
    const r = await api.auth.changePassword({ currentPassword: current, newPassword: next });
    setCurrent("");
    setNext("");
    setDone(r.revokedSessions);
  });
  const p = s.problem;
  return (
    <section class="card" aria-labelledby="password-h">
      <h2 id="password-h">Change password</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void s.run();
        }}
      >
        {p && !["current_password", "new_password"].includes(p.field) && <ProblemAlert problem={p} />}
        {done !== undefined && <Alert kind="success">Password changed. {done === 1 ? "One other session was" : `${done} other sessions were`} signed out.</Alert>}
        <input type="text" autocomplete="username" value={session.value!.user.username} hidden readOnly />
        <Field label="Current password" type="password" value={current} onInput={setCurrent} autocomplete="current-password" required error={fieldError(p, "current_password")} />
        <Field label="New password" type="password" value={next} onInput={setNext} autocomplete="new-password" required minLength={10} hint="At least 10 characters; other sessions are signed out." error={fieldError(p, "new_password")} />
        <Button kind="primary" type="submit" busy={s.busy}>
          Change password
        </Button>
      </form>
    </section>
  );
}
