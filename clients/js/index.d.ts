// Type declarations for @courier/client (hand-written; the sources are
// plain ES modules under src/). Wire names and fields are PROTOCOL.md's.

export type Role = 'rider' | 'customer' | 'store' | 'admin';
export type OrderStatus =
  | 'placed' | 'paid' | 'accepted' | 'cooking' | 'ready' | 'picked_up' | 'delivering' | 'delivered'
  | 'payment_failed' | 'rejected' | 'cancelled';
export type ServerErrorCode =
  | 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'out_of_area'
  | 'rate_limited' | 'overloaded' | 'unavailable' | 'internal';
export type LocalErrorCode =
  | 'timeout' | 'disconnected' | 'closed' | 'queue_full' | 'too_many_pending' | 'duplicate_ref' | 'transport';
export type ErrorCode = ServerErrorCode | LocalErrorCode;
export type Trigger = 'rider_shortage' | 'system_error' | 'weather' | 'manual' | 'restore';

export interface LatLng { lat: number; lng: number }
export interface Item { sku: string; qty: number; price: number }

/** Any message: `type` plus its fields (unknown fields are kept). */
export interface Message { type: string; ref?: string; [field: string]: unknown }

export interface Welcome extends Message { type: 'welcome'; role: Role; id: string; server_time_ms: number }
export interface Ok extends Message { type: 'ok'; version?: number }
export interface ErrorMessage extends Message { type: 'error'; code: ServerErrorCode; message: string }
export interface Ack extends Message { type: 'ack'; seq: number }
export interface Offer extends Message {
  type: 'offer'; offer_id: string; order_id: string; store: LatLng; dropoff: LatLng; distance_m: number; expires_ms: number;
}
export interface Assignment extends Message { type: 'assignment'; order_id: string; offer_id: string }
export interface OrderPlaced extends Message { type: 'order_placed'; order_id: string; request_id: string }
export interface Snapshot {
  status: OrderStatus; version: number; rider_id?: string; lat?: number; lng?: number; eta_s?: number;
}
export interface Subscribed extends Message { type: 'subscribed'; order_id: string; snapshot: Snapshot }
export interface OrderStatusPush extends Message {
  type: 'order_status'; order_id: string; status: OrderStatus; version: number; at_ms: number;
}
export interface RiderPosition extends Message {
  type: 'rider_position'; order_id: string; rider_id: string; lat: number; lng: number; at_ms: number; eta_s: number;
}
export interface RiderNearby extends Message { type: 'rider_nearby'; order_id: string; distance_m: number }
export interface NewOrder extends Message { type: 'new_order'; order_id: string; items: Item[]; total: number }
export interface RiderArriving extends Message { type: 'rider_arriving'; order_id: string; eta_s: number }
export interface RadiusResult extends Message {
  type: 'radius_result'; target: string; radius_m: number; applied: boolean; reason?: string;
}
export interface RegionStats extends Message {
  type: 'region_stats'; cell: string; riders_available: number; riders_busy: number;
  orders_by_status: Record<string, number>; at_ms: number;
  riders?: { rider_id: string; lat: number; lng: number; state: string }[];
  orders?: { order_id: string; status: OrderStatus; lat: number; lng: number }[];
  truncated?: boolean;
  /** A split hot cell's deepest cells (res 8/9); empty unless split. */
  split_cells?: { cell: string; riders_available: number; riders_busy: number }[];
}
export interface DelayedOrders extends Message {
  type: 'delayed_orders'; orders: { order_id: string; status: OrderStatus; age_s: number }[]; truncated?: boolean;
}

/** Pushes by type (the client's events of the same name). */
export interface PushMap {
  ack: Ack; offer: Offer; assignment: Assignment; order_status: OrderStatusPush;
  rider_position: RiderPosition; rider_nearby: RiderNearby; new_order: NewOrder;
  rider_arriving: RiderArriving; region_stats: RegionStats;
}
export interface ClientEvents extends PushMap {
  /** Every push (after dedupe). */
  push: Message;
  /** Each subscription's snapshot: the reply to subscribe, also after reconnects. */
  subscribed: Subscribed;
  /** Every message received, before matching and dedupe. */
  message: Message;
  /** A reply whose request no longer waits (timed out, or sent with send()). */
  reply: Message;
  /** A re-sent push that dedupe dropped. */
  duplicate: Message;
  /** An error no request waits for (e.g. token expiry), or a failed re-subscribe. */
  error: CourierError;
  open: { welcome: Welcome; reconnected: boolean };
  close: { code: number; reason: string; willReconnect: boolean };
  reconnecting: { attempt: number; delayMs: number };
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ClientOptions {
  /** `ws://host:8080/v1/ws` (default: the page's host, else 127.0.0.1:8080) or `tcp://host:7070` (Node; protobuf). */
  url?: string;
  /** The token for hello, or a function asked on every (re)connect. */
  token: string | (() => string | Promise<string>);
  /** Default 'json'; 'protobuf' = binary frames (needs protobufjs). */
  encoding?: 'json' | 'protobuf';
  /** A WebSocket class (default: globalThis.WebSocket, else the `ws` package). */
  WebSocket?: unknown;
  /** The protobufjs module (default: imported when protobuf is used). */
  protobuf?: unknown;
  /** courier.proto text (default: the package's proto/courier.proto). */
  proto?: string;
  /** Reconnect after a lost connection (default true). */
  reconnect?: boolean;
  /** Full-jitter backoff: delay = random() * min(maxMs, minMs * 2^attempt). Defaults 250, 15000. */
  backoff?: { minMs?: number; maxMs?: number };
  random?: () => number;
  timers?: Timers;
  /** Default REQUEST_TIMEOUT_MS (10,000). */
  requestTimeoutMs?: number;
  /** Default HELLO_TIMEOUT_MS (10,000). */
  helloTimeoutMs?: number;
  /** Default PENDING_MAX (1,024). */
  pendingMax?: number;
  /** Default SEND_QUEUE_MAX (256). */
  sendQueueMax?: number;
  /** Drop re-sent pushes (protocol-additions.md keys); default true. */
  dedupe?: boolean;
  /** Default DEDUPE_MAX (4,096). */
  dedupeMax?: number;
  /** Prefix of generated refs (default 'c'). */
  refPrefix?: string;
}

export const PENDING_MAX: number;
export const SEND_QUEUE_MAX: number;
export const REQUEST_TIMEOUT_MS: number;
export const HELLO_TIMEOUT_MS: number;
export const BACKOFF_MIN_MS: number;
export const BACKOFF_MAX_MS: number;
export const DEDUPE_MAX: number;
export const SERVER_CODES: readonly ServerErrorCode[];
export const LOCAL_CODES: readonly LocalErrorCode[];

export class CourierError extends Error {
  constructor(code: ErrorCode, message: string, more?: { ref?: string; reply?: ErrorMessage; local?: boolean });
  readonly code: ErrorCode;
  readonly ref?: string;
  /** The server's error message (undefined for local errors). */
  readonly reply?: ErrorMessage;
  /** True for errors raised by the client itself. */
  readonly local: boolean;
  static fromReply(m: ErrorMessage): CourierError;
}

export class Emitter<Events = Record<string, unknown>> {
  on<K extends keyof Events & string>(type: K, fn: (payload: Events[K]) => void): () => void;
  off<K extends keyof Events & string>(type: K, fn: (payload: Events[K]) => void): void;
  once<K extends keyof Events & string>(type: K, fn: (payload: Events[K]) => void): () => void;
  emit<K extends keyof Events & string>(type: K, payload: Events[K]): number;
}

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export class Client extends Emitter<ClientEvents> {
  static connect(opts: ClientOptions): Promise<Client>;
  on<K extends keyof ClientEvents>(type: K, fn: (payload: ClientEvents[K]) => void): () => void;
  on(type: string, fn: (payload: Message) => void): () => void;
  once<K extends keyof ClientEvents>(type: K, fn: (payload: ClientEvents[K]) => void): () => void;
  once(type: string, fn: (payload: Message) => void): () => void;
  off<K extends keyof ClientEvents>(type: K, fn: (payload: ClientEvents[K]) => void): void;
  off(type: string, fn: (payload: Message) => void): void;
  constructor(opts: ClientOptions);
  readonly state: ClientState;
  readonly welcome: Welcome | null;
  readonly reconnects: number;
  readonly pendingCount: number;
  readonly queuedCount: number;
  connect(): Promise<Welcome>;
  request<R extends Message = Message>(msg: Message, opts?: { timeoutMs?: number }): Promise<R>;
  send(msg: Message): boolean;
  refresh(token: string): Promise<Ok>;
  subscriptions(): string[];
  close(): void;
}

export function backoffDelay(attempt: number, opts?: { minMs?: number; maxMs?: number; random?: () => number }): number;
export function dedupeKey(m: Message): string | undefined;
export class Deduper {
  constructor(max?: number);
  seen(m: Message): boolean;
  clear(): void;
}

export interface Codec {
  name: 'json' | 'protobuf';
  binary: boolean;
  encode(m: Message): string | Uint8Array;
  decode(data: string | ArrayBuffer | Uint8Array): Message | undefined;
}
export const jsonCodec: Codec;
export function protobufCodec(opts?: { protobuf?: unknown; proto?: string }): Promise<Codec>;

export function orderTotal(items: Item[]): number;

export interface CustomerApi {
  client: Client;
  placeOrder(o: { request_id?: string; store_id: string; items: Item[]; total?: number; dropoff: LatLng }): Promise<OrderPlaced>;
  track(order_id: string): Promise<Subscribed>;
  untrack(order_id: string): Promise<Ok>;
  cancel(order_id: string): Promise<Ok>;
}
export interface RiderApi {
  client: Client;
  readonly lastSeq: number;
  position(p: { lat: number; lng: number; time_ms?: number; accuracy_m?: number; speed_mps?: number; heading_deg?: number }): number;
  availability(available: boolean): Promise<Ok>;
  acceptOffer(offer_id: string): Promise<Ok>;
  rejectOffer(offer_id: string): Promise<Ok>;
  status(order_id: string, status: 'picked_up' | 'delivering' | 'delivered'): Promise<Ok>;
}
export interface StoreApi {
  client: Client;
  accept(order_id: string, prep_minutes: number): Promise<Ok>;
  reject(order_id: string, reason: string): Promise<Ok>;
  cooking(order_id: string): Promise<Ok>;
  ready(order_id: string): Promise<Ok>;
}
export interface AdminApi {
  client: Client;
  upsertStore(s: { store_id: string; lat: number; lng: number; radius_m: number; open: boolean }): Promise<Ok>;
  radiusTrigger(target: string, trigger: Trigger, radius_m: number): Promise<RadiusResult>;
  restore(target: string): Promise<RadiusResult>;
  watchRegion(cell: string): Promise<Message>;
  delayedOrders(): Promise<DelayedOrders>;
}
export function customer(client: Client): CustomerApi;
export function rider(client: Client, opts?: { seqStart?: number }): RiderApi;
export function store(client: Client): StoreApi;
export function admin(client: Client): AdminApi;
