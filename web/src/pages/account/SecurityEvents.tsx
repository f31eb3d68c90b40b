import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import { SecurityEventType, type SecurityEvent } from "@gen/sqlstudio/auth/v1/auth_pb.js";
import { problemOf, type Problem } from "../../api/errors.js";
import { api } from "../../api/transport.js";
import { useLoad } from "../../ui/async.js";
import { Button, Empty, Loading, Page, ProblemAlert, When } from "../../ui/kit.js";
import { AccountNav } from "./AccountNav.js";

const LABELS: Record<SecurityEventType, string> = {
  [SecurityEventType.UNSPECIFIED]: "Other",
  [SecurityEventType.REGISTERED]: "Account created",
  [SecurityEventType.EMAIL_VERIFIED]: "Email verified",
  [SecurityEventType.LOGIN_SUCCEEDED]: "Signed in",
  [SecurityEventType.LOGIN_FAILED]: "Failed sign-in",
  [SecurityEventType.LOGIN_LOCKED]: "Sign-in locked after failures",
  [SecurityEventType.REFRESH_TOKEN_REUSED]: "Old token reused: session ended",
  [SecurityEventType.PASSWORD_CHANGED]: "Password changed",
  [SecurityEventType.PASSWORD_RESET]: "Password reset",
  [SecurityEventType.SESSION_REVOKED]: "Session signed out",
  [SecurityEventType.PASSWORD_RESET_REQUESTED]: "Password reset requested",
  [SecurityEventType.PROFILE_UPDATED]: "Profile changed",
  [SecurityEventType.EMAIL_CHANGE_REQUESTED]: "Email change requested",
  [SecurityEventType.EMAIL_CHANGED]: "Email changed",
  [SecurityEventType.ACCOUNT_SECURED]: "Account secured from the old address",
  [SecurityEventType.CONNECTION_MOVED]: "Connection moved to another server",
};
const WARN = new Set([SecurityEventType.LOGIN_FAILED, SecurityEventType.LOGIN_LOCKED, SecurityEventType.REFRESH_TOKEN_REUSED, SecurityEventType.ACCOUNT_SECURED]);

export function SecurityEvents() {
  const first = useLoad(() => api.auth.listSecurityEvents({ pageSize: 50 }), []);
  const [more, setMore] = useState<SecurityEvent[]>([]);
  const [token, setToken] = useState<string>();
  const [problem, setProblem] = useState<Problem>();
  const next = token ?? first.data?.nextPageToken;
  const events = [...(first.data?.events ?? []), ...more];
  const loadMore = async () => {
    try {
      const r = await api.auth.listSecurityEvents({ pageSize: 50, pageToken: next });
      setMore([...more, ...r.events]);
      setToken(r.nextPageToken);
    } catch (e) {
      setProblem(problemOf(e));
    }
  };
  return (
    <Page title="Security events">
      <AccountNav />
      <ProblemAlert problem={first.problem ?? problem} />
      {first.loading && !first.data ? (
        <Loading />
      ) : events.length === 0 ? (
        <Empty title="No security events yet." />
      ) : (
        <div class="table-wrap">
          <table class="table">
            <caption class="sr-only">Security events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">When</th>
                <th scope="col">Address</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id}>
                  <td class={WARN.has(e.type) ? "warn" : undefined}>{LABELS[e.type] ?? "Other"}</td>
                  <td>
                    <When at={e.createdAt ? timestampDate(e.createdAt) : undefined} />
                  </td>
                  <td>{e.ipAddress}</td>
                  <td class="small muted" title={e.userAgent}>
                    {Object.entries(e.details)
                      .map(([k, v]) => `${k}: ${v}`)
                      .join(", ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <p>
          <Button onClick={() => void loadMore()}>Show older events</Button>
        </p>
      )}
    </Page>
  );
}
