import { decodePageToken, pageOf, pageSize, type PageScope } from "../common/paging.js";
import { invalidArgument } from "../common/errors.js";
import type { AssistantCore } from "./assistant.js";
import { ID, messageOut, type ChatMessageOut } from "./chat.js";
import { conversationNotFound } from "./errors.js";
import { isTimeout } from "./providers/errors.js";
import type { ProviderKind, Usage } from "./providers/types.js";
import type { AssistantStore, ConversationRow } from "./store.js";

export interface Status {
  configured: boolean;
  provider: ProviderKind | undefined;
  model: string;
  models: string[];
  reachable: boolean;
  unreachableReason: string;
  limits: { requestsPerMinute: number; tokensPerDay: number; contextTokens: number; maxOutputTokens: number };
  usageToday: Usage;
}

/** How long one instance trusts a provider check. */
const PING_TTL_MS = 30_000;
const PING_TIMEOUT_MS = 5_000;

/** The caller's stored conversations (FailedPrecondition without a provider, like every RPC but GetStatus), and GetStatus. */
export class Conversations {
  private ping?: { at: number; value: Promise<{ ok: boolean; reason: string }> };

  constructor(
    private readonly core: AssistantCore,
    private readonly store: AssistantStore,
  ) {}

  async list(userId: string, req: { pageSize: number; pageToken: string; connectionId: string }): Promise<{ conversations: ConversationRow[]; next: string }> {
    this.core.provider();
    const limit = pageSize(req.pageSize);
    const scope: PageScope = ["conversations", req.connectionId];
    const before = decodePageToken(req.pageToken, scope, (key) => {
      const m = /^(\d{1,16}):(.{1,64})$/.exec(key);
      return m ? { updatedAt: Number(m[1]), id: m[2] } : undefined;
    });
    if (req.connectionId.length > 128) throw invalidArgument("connection_id", "is not a connection id");
    const rows = await this.store.listConversations(userId, { limit: limit + 1, before, connectionId: req.connectionId || undefined });
    const { page, next } = pageOf(rows, limit, scope, (last) => `${last.updatedAt}:${last.id}`);
    return { conversations: page, next };
  }

  async get(userId: string, id: string): Promise<{ conversation: ConversationRow; messages: ChatMessageOut[] }> {
    this.core.provider();
    const conversation = ID.test(id) ? await this.store.getConversation(userId, id) : undefined;
    if (!conversation) throw conversationNotFound();
    return { conversation, messages: (await this.store.messages(userId, id)).map(messageOut) };
  }

  async delete(userId: string, id: string): Promise<void> {
    this.core.provider();
    if (!ID.test(id) || !(await this.store.deleteConversation(userId, id))) throw conversationNotFound();
  }

  async status(userId: string, checkProvider: boolean): Promise<Status> {
    const { settings, provider, limits } = this.core.deps;
    const models = this.core.models();
    let reachable = false;
    let unreachableReason = "";
    if (provider && checkProvider) {
      const r = await this.check();
      reachable = r.ok;
      unreachableReason = r.reason;
    }
    return {
      configured: provider !== undefined,
      provider: provider?.kind,
      model: models[0] ?? "",
      models,
      reachable,
      unreachableReason,
      limits: { requestsPerMinute: settings.requestsPerMinute, tokensPerDay: settings.tokensPerDay, contextTokens: settings.contextTokens, maxOutputTokens: settings.maxOutputTokens },
      usageToday: await limits.today(userId),
    };
  }

  /** Lists the provider's models (cached a while): whether it answers and accepts the key. */
  private check(): Promise<{ ok: boolean; reason: string }> {
    const now = this.core.deps.runtime.now();
    if (this.ping && now - this.ping.at < PING_TTL_MS) return this.ping.value;
    const signal = AbortSignal.timeout(PING_TIMEOUT_MS);
    const value = this.core.provider().ping(signal).then(
      () => ({ ok: true, reason: "" }),
      (err: unknown) => {
        const status = (err as { status?: unknown }).status;
        return { ok: false, reason: typeof status === "number" ? `HTTP ${status}` : signal.aborted || isTimeout(err) ? "timeout" : "connection failed" };
      },
    );
    this.ping = { at: now, value };
    return value;
  }
}
