import { timestampDate } from "@bufbuild/protobuf/wkt";
import { api } from "../../api/transport.js";
import { useLoad, useSubmit } from "../../ui/async.js";
import { Alert, Button, Empty, Loading, Page, ProblemAlert, When } from "../../ui/kit.js";
import { AccountNav } from "./AccountNav.js";

/** The sessions of the account (one per signed-in device), with revoke and "sign out everywhere else". */
export function Devices() {
  const list = useLoad(() => api.auth.listSessions({ pageSize: 200 }), []);
  const revoke = useSubmit(async (id: string) => {
    await api.auth.revokeSession({ sessionId: id });
    await list.reload();
  });
  const others = useSubmit(async () => {
    await api.auth.revokeOtherSessions({});
    await list.reload();
  });
  const sessions = list.data?.sessions ?? [];
  return (
    <Page
      title="Devices"
      actions={
        sessions.length > 1 && (
          <Button kind="danger" busy={others.busy} onClick={() => void others.run()}>
            Sign out everywhere else
          </Button>
        )
      }
    >
      <AccountNav />
      <ProblemAlert problem={list.problem ?? revoke.problem ?? others.problem} />
      {list.loading && !list.data ? (
        <Loading />
      ) : sessions.length === 0 ? (
        <Empty title="No sessions." />
      ) : (
        <div class="table-wrap">
          <table class="table">
            <caption class="sr-only">Signed-in devices</caption>
            <thead>
              <tr>
                <th scope="col">Device</th>
                <th scope="col">Address</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last active</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr key={s.id} data-session={s.id}>
                  <td>
                    <strong>{s.deviceName || "Unnamed device"}</strong>
                    {s.current && <span class="tag">This device</span>}
                    <div class="muted small" title={s.userAgent}>
                      {s.userAgent.slice(0, 80)}
                    </div>
                  </td>
                  <td>{s.ipAddress}</td>
                  <td>
                    <When at={s.createdAt ? timestampDate(s.createdAt) : undefined} />
                  </td>
                  <td>
                    <When at={s.lastSeenAt ? timestampDate(s.lastSeenAt) : undefined} />
                  </td>
                  <td class="actions">
                    {!s.current && (
                      <Button kind="secondary" busy={revoke.busy} onClick={() => void revoke.run(s.id)} aria-label={`Revoke ${s.deviceName || "this session"}`}>
                        Revoke
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {sessions.length === 1 && <Alert kind="info">This is your only signed-in device.</Alert>}
    </Page>
  );
}
