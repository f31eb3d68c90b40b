/**
 * What each RPC costs, by class: the one table the rate limit interceptor reads. Every method of
 * every service the server answers is here (test/unit/ratelimit/classes.test.ts enumerates the
 * generated descriptors and fails on a method that is not).
 *
 *   read       cheap reads of the app database (per user)
 *   write      writes and heavy work on the app database (per user)
 *   engine     statements on, or connections to, the user's own database (per user)
 *   assistant  a request to the AI provider: limited by the assistant itself, per user, in the
 *              database (AI_REQUESTS_PER_MINUTE, AI_TOKENS_PER_DAY), not again here
 *   public     calls without a caller (sign-up, login, refresh, password reset): per client address
 *   exempt     health checks and reflection: never limited (load balancers and tools poll them)
 *
 * Streams open at once are not a rate: `streams` names the existing per-user cap that bounds the
 * stream's method (ENGINE_MAX_STREAMS_PER_USER for query and export streams,
 * REALTIME_MAX_SUBSCRIPTIONS_PER_USER for Subscribe, AI_REQUESTS_PER_MINUTE for Chat: each chat is
 * a provider request, so a user has at most that many a minute), reused rather than duplicated.
 */
export type CostClass = "read" | "write" | "engine" | "assistant" | "public" | "exempt";

/** The classes with a per-user (or, for `public`, per-address) budget of their own in this limiter. */
export const LIMITED_CLASSES = ["read", "write", "engine", "public"] as const;
export type LimitedClass = (typeof LIMITED_CLASSES)[number];

export type StreamCap = "ENGINE_MAX_STREAMS_PER_USER" | "REALTIME_MAX_SUBSCRIPTIONS_PER_USER" | "AI_REQUESTS_PER_MINUTE" | "exempt";

export interface Cost {
  class: CostClass;
  /** For server-streaming methods: the cap on how many a user holds open at once. */
  streams?: StreamCap;
}

const r: Cost = { class: "read" };
const w: Cost = { class: "write" };
const e: Cost = { class: "engine" };
const ai: Cost = { class: "assistant" };
const pub: Cost = { class: "public" };
const exempt: Cost = { class: "exempt" };

/** Service type name → method name → cost. */
export const RPC_COSTS: Record<string, Record<string, Cost>> = {
  "grpc.health.v1.Health": { Check: exempt, Watch: { class: "exempt", streams: "exempt" } },
  "grpc.reflection.v1.ServerReflection": { ServerReflectionInfo: { class: "exempt", streams: "exempt" } },
  "grpc.reflection.v1alpha.ServerReflection": { ServerReflectionInfo: { class: "exempt", streams: "exempt" } },
  "sqlstudio.auth.v1.AuthService": {
    Register: pub,
    VerifyEmail: pub,
    Login: pub,
    RefreshToken: pub,
    RequestPasswordReset: pub,
    ResetPassword: pub,
    ResendVerificationEmail: w,
    Logout: w,
    GetCurrentUser: r,
    UpdateProfile: w,
    ChangePassword: w,
    DeleteAccount: w,
    // Reads every row of the account: heavy, counted with the writes.
    ExportMyData: w,
    ListSessions: r,
    RevokeSession: w,
    RevokeOtherSessions: w,
    ListSecurityEvents: r,
  },
  "sqlstudio.sync.v1.SyncService": { Push: w, Pull: r, ListConflicts: r, ResolveConflict: w, GetSyncStatus: r },
  "sqlstudio.realtime.v1.RealtimeService": { Subscribe: { class: "read", streams: "REALTIME_MAX_SUBSCRIPTIONS_PER_USER" } },
  "sqlstudio.database.v1.ConnectionService": {
    CreateConnection: w,
    GetConnection: r,
    ListConnections: r,
    UpdateConnection: w,
    DeleteConnection: w,
    TestConnection: e,
    GetConnectionHealth: e,
  },
  "sqlstudio.database.v1.QueryService": {
    ExecuteQuery: { class: "engine", streams: "ENGINE_MAX_STREAMS_PER_USER" },
    // A write, not an engine statement: a user out of engine budget can still stop what runs.
    CancelQuery: w,
    ExplainQuery: e,
    ListQueryHistory: r,
  },
  "sqlstudio.database.v1.SchemaService": { ListSchemas: e, ListTables: e, DescribeTable: e },
  "sqlstudio.database.v1.TableService": {
    GetRows: e,
    InsertRows: e,
    UpdateRows: e,
    DeleteRows: e,
    ExportRows: { class: "engine", streams: "ENGINE_MAX_STREAMS_PER_USER" },
  },
  "sqlstudio.ai.v1.AssistantService": {
    GenerateSql: ai,
    FixSql: ai,
    ExplainSql: ai,
    OptimizeSql: ai,
    Chat: { class: "assistant", streams: "AI_REQUESTS_PER_MINUTE" },
    GetStatus: r,
    ListConversations: r,
    GetConversation: r,
    DeleteConversation: w,
  },
};

/** The cost of a method; undefined for one missing from the table (a test keeps that from shipping). */
export function costOf(service: string, method: string): Cost | undefined {
  return RPC_COSTS[service]?.[method];
}
