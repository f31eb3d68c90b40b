/**
 * The API clients, generated from proto/ (gen/, the same tree the server compiles) and sent over
 * Connect with binary protobuf on this origin. Every call carries the access token; a call that
 * answers Unauthenticated refreshes the token once and is retried.
 */
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AuthService } from "@gen/sqlstudio/auth/v1/auth_pb.js";
import { ConnectionService } from "@gen/sqlstudio/database/v1/connection_pb.js";
import { QueryService } from "@gen/sqlstudio/database/v1/query_pb.js";
import { SchemaService } from "@gen/sqlstudio/database/v1/schema_pb.js";
import { TableService } from "@gen/sqlstudio/database/v1/table_pb.js";
import { SyncService } from "@gen/sqlstudio/sync/v1/sync_pb.js";
import { accessToken, refresh, sessionLost } from "./session.js";

const withToken: Interceptor = (next) => async (req) => {
  const token = accessToken();
  if (token) req.header.set("authorization", `Bearer ${token}`);
  try {
    return await next(req);
  } catch (e) {
    const err = ConnectError.from(e);
    if (err.code !== Code.Unauthenticated || req.stream || !token) throw e;
    if (!(await refresh())) {
      sessionLost("Your session ended. Sign in again.");
      throw e;
    }
    req.header.set("authorization", `Bearer ${accessToken()}`);
    return await next(req);
  }
};

export const transport = createConnectTransport({ baseUrl: window.location.origin, useBinaryFormat: true, interceptors: [withToken] });

export const api = {
  auth: createClient(AuthService, transport),
  connections: createClient(ConnectionService, transport),
  queries: createClient(QueryService, transport),
  schemas: createClient(SchemaService, transport),
  tables: createClient(TableService, transport),
  sync: createClient(SyncService, transport),
};
