import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  AuthService,
  Role,
  SecurityEventSchema,
  SecurityEventType,
  SessionSchema,
  UserSchema,
} from "../../gen/sqlstudio/auth/v1/auth_pb.js";
import { callerOf, requestInfoKey } from "../common/caller.js";
import type { Accounts, TokenPair } from "./accounts.js";
import type { Profiles } from "./profile.js";
import type { SecurityEventRow, SessionRow, UserRow } from "./store.js";
import * as v from "./validate.js";

/** The RPCs anyone may call; every other AuthService RPC needs a session. */
export const PUBLIC_AUTH_METHODS = ["Register", "VerifyEmail", "Login", "RefreshToken", "RequestPasswordReset", "ResetPassword"];

const info = (ctx: HandlerContext) => ctx.values.get(requestInfoKey);

export function toUser(u: UserRow): MessageInitShape<typeof UserSchema> {
  return {
    id: u.id,
    email: u.email,
    username: u.username,
    displayName: u.displayName,
    role: u.role === "admin" ? Role.ADMIN : Role.USER,
    emailVerified: u.emailVerified,
    createdAt: timestampFromMs(u.createdAt),
    pendingEmail: u.pendingEmail ?? "",
  };
}

function toSession(s: SessionRow & { current: boolean }): MessageInitShape<typeof SessionSchema> {
  return {
    id: s.id,
    deviceName: s.deviceName,
    userAgent: s.userAgent,
    ipAddress: s.ipAddress,
    createdAt: timestampFromMs(s.createdAt),
    lastSeenAt: timestampFromMs(s.lastSeenAt),
    expiresAt: timestampFromMs(s.expiresAt),
    current: s.current,
  };
}

const EVENT_TYPES: Record<string, SecurityEventType> = {
  registered: SecurityEventType.REGISTERED,
  email_verified: SecurityEventType.EMAIL_VERIFIED,
  login_succeeded: SecurityEventType.LOGIN_SUCCEEDED,
  login_failed: SecurityEventType.LOGIN_FAILED,
  login_locked: SecurityEventType.LOGIN_LOCKED,
  refresh_token_reused: SecurityEventType.REFRESH_TOKEN_REUSED,
  password_changed: SecurityEventType.PASSWORD_CHANGED,
  password_reset: SecurityEventType.PASSWORD_RESET,
  password_reset_requested: SecurityEventType.PASSWORD_RESET_REQUESTED,
  session_revoked: SecurityEventType.SESSION_REVOKED,
  profile_updated: SecurityEventType.PROFILE_UPDATED,
  email_change_requested: SecurityEventType.EMAIL_CHANGE_REQUESTED,
  email_changed: SecurityEventType.EMAIL_CHANGED,
  account_secured: SecurityEventType.ACCOUNT_SECURED,
  connection_moved: SecurityEventType.CONNECTION_MOVED,
};

function toEvent(e: SecurityEventRow): MessageInitShape<typeof SecurityEventSchema> {
  return {
    id: e.id,
    type: EVENT_TYPES[e.type] ?? SecurityEventType.UNSPECIFIED,
    createdAt: timestampFromMs(e.createdAt),
    ipAddress: e.ipAddress,
    userAgent: e.userAgent,
    sessionId: e.sessionId ?? "",
    details: e.details,
  };
}

function tokens(p: TokenPair) {
  return {
    accessToken: p.accessToken,
    refreshToken: p.refreshToken,
    accessTokenExpiresAt: timestampFromMs(p.accessTokenExpiresAt),
    refreshTokenExpiresAt: timestampFromMs(p.refreshTokenExpiresAt),
    sessionId: p.sessionId,
    user: toUser(p.user),
  };
}

/** sqlstudio.auth.v1.AuthService: check input → Accounts / Profiles → response. */
export function authService(accounts: Accounts, profiles: Profiles): ServiceImpl<typeof AuthService> {
  return {
    async register(req, ctx) {
      const input = {
        email: v.email(req.email),
        username: v.username(req.username),
        password: req.password,
        displayName: v.displayName(req.displayName),
      };
      return { user: toUser(await accounts.emailFlows.register(input, info(ctx))) };
    },
    async verifyEmail(req, ctx) {
      return { user: toUser(await accounts.emailFlows.verifyEmail(v.opaqueToken(req.token, "token"), info(ctx))) };
    },
    async resendVerificationEmail(_req, ctx) {
      return { sent: await accounts.emailFlows.resendVerification(callerOf(ctx)) };
    },
    async login(req, ctx) {
      const identifier = v.identifier(req.identifier);
      const password = v.givenPassword(req.password, "password");
      return tokens(await accounts.login(identifier, password, v.deviceName(req.deviceName), info(ctx)));
    },
    async refreshToken(req, ctx) {
      return tokens(await accounts.sessions.refresh(v.refreshToken(req.refreshToken, "refresh_token"), info(ctx)));
    },
    async logout(_req, ctx) {
      await accounts.sessions.logout(callerOf(ctx), info(ctx));
      return {};
    },
    async getCurrentUser(_req, ctx) {
      return { user: toUser(await accounts.sessions.requireUser(callerOf(ctx))) };
    },
    async updateProfile(req, ctx) {
      const changes: { displayName?: string; username?: string; email?: string } = {};
      if (req.displayName !== undefined) changes.displayName = v.displayName(req.displayName);
      if (req.username !== undefined) changes.username = v.username(req.username);
      if (req.email !== undefined) changes.email = v.email(req.email);
      const current = req.currentPassword ? v.givenPassword(req.currentPassword, "current_password") : undefined;
      return { user: toUser(await profiles.updateProfile(callerOf(ctx), changes, current, info(ctx))) };
    },
    async changePassword(req, ctx) {
      const current = v.givenPassword(req.currentPassword, "current_password");
      const revoked = await accounts.changePassword(callerOf(ctx), current, req.newPassword, info(ctx));
      return { revokedSessions: revoked };
    },
    async requestPasswordReset(req, ctx) {
      await accounts.emailFlows.requestPasswordReset(v.email(req.email), info(ctx));
      return {};
    },
    async resetPassword(req, ctx) {
      await accounts.emailFlows.resetPassword(v.opaqueToken(req.token, "token"), req.newPassword, info(ctx));
      return {};
    },
    async deleteAccount(req, ctx) {
      await profiles.deleteAccount(callerOf(ctx), v.givenPassword(req.currentPassword, "current_password"));
      return {};
    },
    async exportMyData(_req, ctx) {
      return await profiles.exportMyData(callerOf(ctx));
    },
    async listSessions(req, ctx) {
      const page = await accounts.sessions.list(callerOf(ctx), req.pageSize, req.pageToken);
      return { sessions: page.sessions.map(toSession), nextPageToken: page.next };
    },
    async revokeSession(req, ctx) {
      await accounts.sessions.revokeOne(callerOf(ctx), v.id(req.sessionId, "session_id"), info(ctx));
      return {};
    },
    async revokeOtherSessions(_req, ctx) {
      return { revokedSessions: await accounts.sessions.revokeOthers(callerOf(ctx), info(ctx)) };
    },
    async listSecurityEvents(req, ctx) {
      const page = await accounts.listEvents(callerOf(ctx), req.pageSize, req.pageToken);
      return { events: page.events.map(toEvent), nextPageToken: page.next };
    },
  };
}
