// The HTTP API (docs/openapi.yaml) with the tokens kept in localStorage, so that a reload
// keeps the session. Access tokens are refreshed silently: before they expire, and once on
// any 401 that says the token is stale. Every new access token is announced with a
// 'tokens' event (the socket renews its connection with it).

const STORAGE_KEY = 'chatchat.session';

// ApiError is what every failed call throws: the server's {error: {code, message}} and the
// HTTP status; status 0 means the network failed (the request may or may not have arrived).
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
  // transient is true for failures worth retrying as they are: the network, rate limits
  // and a server that is briefly unavailable.
  get transient() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

// Human messages for the codes a person can meet; the server's message otherwise.
const FRIENDLY = {
  invalid_credentials: 'Wrong username or password.',
  username_taken: 'That username is taken. Try another one.',
  rate_limited: 'Too many attempts. Wait a moment and try again.',
  network: 'Cannot reach the server. Check your connection.',
  invalid_refresh_token: 'Your session has ended. Please sign in again.',
};

export function describeError(err) {
  if (err instanceof ApiError) return FRIENDLY[err.code] || err.message || 'Something went wrong.';
  return 'Something went wrong.';
}

// renewAt returns when an access token is due for renewal, in ms since the epoch: 30 s
// before it expires, or its last quarter of life when it lives shorter; 0 when the token
// says nothing. The client only reads the token to renew early; the server is the judge
// of validity, and a 401 refreshes too.
export function renewAt(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const { exp, iat } = JSON.parse(atob(payload));
    if (!exp) return 0;
    const margin = Math.min(30, iat ? (exp - iat) / 4 : 30);
    return (exp - margin) * 1000;
  } catch {
    return 0;
  }
}

// refreshDue says whether an access token is near its end.
function refreshDue(token) {
  const at = renewAt(token);
  return at > 0 && Date.now() > at;
}

function msgPath(roomId, id) {
  return `/rooms/${encodeURIComponent(roomId)}/messages/${encodeURIComponent(id)}`;
}

export class Api extends EventTarget {
  constructor() {
    super();
    this.session = null; // {user, accessToken, refreshToken}
    try {
      this.session = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
    } catch {
      this.session = null;
    }
    this.refreshing = null;
    // Another tab of the same browser may rotate the tokens: take its newer ones.
    window.addEventListener('storage', (e) => {
      if (e.key !== STORAGE_KEY) return;
      const next = e.newValue ? JSON.parse(e.newValue) : null;
      const had = this.session;
      this.session = next;
      if (had && !next) this.dispatchEvent(new Event('signedout'));
      else if (next && (!had || had.accessToken !== next.accessToken)) this.announce();
    });
  }

  get currentUser() {
    return this.session && this.session.user;
  }

  save(session) {
    this.session = session;
    if (session) localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else localStorage.removeItem(STORAGE_KEY);
  }

  async signup(username, password, displayName) {
    const r = await this.raw('POST', '/auth/signup', { username, password, displayName }, false);
    this.save(r);
    return r.user;
  }

  async login(username, password) {
    const r = await this.raw('POST', '/auth/login', { username, password }, false);
    this.save(r);
    return r.user;
  }

  signOut() {
    this.save(null);
    this.dispatchEvent(new Event('signedout'));
  }

  // logout ends the session on the server (its tokens are refused from then on and its
  // sockets closed, on every device that shares it), then signs out here. Signing out here
  // happens whatever the server says: a person who asked to leave is not kept in.
  async logout() {
    const s = this.session;
    if (s) {
      try {
        await this.call('POST', '/auth/logout', { refreshToken: s.refreshToken });
      } catch {
        /* the tokens die of age; this device forgets them now */
      }
    }
    this.signOut();
  }

  // announce tells listeners (the socket) that there is a new access token.
  announce() {
    this.dispatchEvent(new CustomEvent('tokens', { detail: this.session.accessToken }));
  }

  // accessToken returns a token that is good for a while, refreshing first when the one
  // held is near its end.
  async accessToken() {
    if (!this.session) throw new ApiError(401, 'unauthorized', 'Not signed in.');
    if (refreshDue(this.session.accessToken)) await this.refresh(this.session.accessToken);
    return this.session.accessToken;
  }

  // refresh exchanges the refresh token for new tokens, once for all callers that saw
  // `stale` fail. Refresh tokens are single use and a reused one revokes the whole login,
  // so tabs of one browser take turns (Web Locks) and a tab that finds the tokens already
  // rotated by another uses those.
  refresh(stale) {
    if (!this.refreshing) {
      const run = async () => {
        try {
          const stored = JSON.parse(localStorage.getItem(STORAGE_KEY) || 'null');
          if (stored && stored.accessToken !== stale) {
            this.session = stored;
            this.announce();
            return;
          }
        } catch {
          /* fall through to a refresh */
        }
        if (!this.session) throw new ApiError(401, 'unauthorized', 'Not signed in.');
        try {
          const t = await this.raw('POST', '/auth/refresh', { refreshToken: this.session.refreshToken }, false);
          this.save({ ...this.session, ...t });
          this.announce();
        } catch (err) {
          if (err instanceof ApiError && err.status === 401) this.signOut();
          throw err;
        }
      };
      const locked = navigator.locks ? navigator.locks.request('chatchat-refresh', run) : run();
      this.refreshing = locked.finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  // call sends an authenticated request and decodes the JSON answer; a 401 refreshes the
  // tokens and tries once more.
  async call(method, path, body) {
    const token = await this.accessToken();
    try {
      return await this.raw(method, path, body, token);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401 || !this.session) throw err;
      await this.refresh(token);
      return this.raw(method, path, body, this.session.accessToken);
    }
  }

  async raw(method, path, body, token) {
    const headers = {};
    let payload;
    if (body instanceof FormData) {
      payload = body;
    } else if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    if (token) headers.Authorization = 'Bearer ' + token;
    let res;
    try {
      res = await fetch('/api/v1' + path, { method, headers, body: payload, cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'network', FRIENDLY.network);
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(res.status, e.code || 'http_' + res.status, e.message || res.statusText,
        Number(res.headers.get('Retry-After')) || 0);
    }
    return data;
  }

  // The endpoints the client uses.
  me() { return this.call('GET', '/users/me'); }
  getUser(id) { return this.call('GET', '/users/' + encodeURIComponent(id)); }
  searchUsers(q) { return this.call('GET', '/users?limit=20&q=' + encodeURIComponent(q)); }
  searchMessages(q, { beforeId, limit = 20 } = {}) {
    const p = new URLSearchParams({ q, limit: String(limit) });
    if (beforeId) p.set('beforeId', beforeId);
    return this.call('GET', '/search/messages?' + p.toString());
  }
  presence(ids) { return this.call('GET', '/presence?userIds=' + ids.map(encodeURIComponent).join(',')); }
  rooms({ limit, cursor } = {}) {
    const q = new URLSearchParams();
    if (limit) q.set('limit', String(limit));
    if (cursor) q.set('cursor', cursor);
    const qs = q.toString();
    return this.call('GET', '/rooms' + (qs ? '?' + qs : ''));
  }
  room(id) { return this.call('GET', '/rooms/' + encodeURIComponent(id)); }
  createRoom(type, memberIds, name) {
    const body = { type, memberIds };
    if (name) body.name = name;
    return this.call('POST', '/rooms', body);
  }
  history(roomId, { beforeSeq, afterSeq, limit = 50 } = {}) {
    const q = new URLSearchParams({ limit: String(limit) });
    if (beforeSeq) q.set('beforeSeq', String(beforeSeq));
    if (afterSeq !== undefined) q.set('afterSeq', String(afterSeq));
    return this.call('GET', `/rooms/${encodeURIComponent(roomId)}/messages?${q}`);
  }
  send(roomId, msg) { return this.call('POST', `/rooms/${encodeURIComponent(roomId)}/messages`, msg); }
  markRead(roomId, seq) { return this.call('POST', `/rooms/${encodeURIComponent(roomId)}/read`, { seq }); }
  // Changes to messages (docs/protocol.md "Changes to messages"): each answers the message
  // as it now is, except a delete (204: the MESSAGE_UPDATED event brings the tombstone).
  editMessage(roomId, id, body) { return this.call('PATCH', msgPath(roomId, id), body); }
  deleteMessage(roomId, id) { return this.call('DELETE', msgPath(roomId, id)); }
  react(roomId, id, emoji) { return this.call('PUT', `${msgPath(roomId, id)}/reactions/${encodeURIComponent(emoji)}`); }
  unreact(roomId, id, emoji) { return this.call('DELETE', `${msgPath(roomId, id)}/reactions/${encodeURIComponent(emoji)}`); }
  pin(roomId, id) { return this.call('PUT', `/rooms/${encodeURIComponent(roomId)}/pins/${encodeURIComponent(id)}`); }
  unpin(roomId, id) { return this.call('DELETE', `/rooms/${encodeURIComponent(roomId)}/pins/${encodeURIComponent(id)}`); }
  pins(roomId) { return this.call('GET', `/rooms/${encodeURIComponent(roomId)}/pins`); }
  changes(roomId, afterRev, limit = 500) {
    const q = new URLSearchParams({ afterRev: String(afterRev), limit: String(limit) });
    return this.call('GET', `/rooms/${encodeURIComponent(roomId)}/changes?${q}`);
  }
  blocks() { return this.call('GET', '/users/me/blocks'); }
  block(userId) { return this.call('POST', '/users/me/blocks', { userId }); }
  unblock(userId) { return this.call('DELETE', '/users/me/blocks/' + encodeURIComponent(userId)); }
  upload(roomId, file) {
    const form = new FormData();
    form.append('file', file, file.name);
    return this.call('POST', `/rooms/${encodeURIComponent(roomId)}/media`, form);
  }
  // Administration (server administrators only: 403 not_admin otherwise).
  adminUsers(q, cursor) {
    const p = new URLSearchParams({ limit: '50' });
    if (q) p.set('q', q);
    if (cursor) p.set('cursor', cursor);
    return this.call('GET', '/admin/users?' + p);
  }
  suspend(userId) { return this.call('POST', `/admin/users/${encodeURIComponent(userId)}/suspend`); }
  unsuspend(userId) { return this.call('POST', `/admin/users/${encodeURIComponent(userId)}/unsuspend`); }
  eraseUser(userId) { return this.call('DELETE', `/admin/users/${encodeURIComponent(userId)}`); }
  adminRooms() { return this.call('GET', '/admin/rooms'); }
  setRoomRetention(roomId, retentionDays) {
    return this.call('PATCH', `/admin/rooms/${encodeURIComponent(roomId)}`, { retentionDays });
  }
  reports(status, cursor) {
    const p = new URLSearchParams({ limit: '50' });
    if (status) p.set('status', status);
    if (cursor) p.set('cursor', cursor);
    return this.call('GET', '/admin/reports?' + p);
  }
  resolveReport(reportId, action) {
    return this.call('POST', `/admin/reports/${encodeURIComponent(reportId)}/resolve`, { action });
  }
  audit(cursor) {
    const p = new URLSearchParams({ limit: '50' });
    if (cursor) p.set('cursor', cursor);
    return this.call('GET', '/admin/audit?' + p);
  }
  // mediaBlob fetches media with the token, for when a signed URL has expired.
  async mediaBlob(mediaId, thumb) {
    const token = await this.accessToken();
    const res = await fetch(`/api/v1/media/${encodeURIComponent(mediaId)}${thumb ? '?thumb=1' : ''}`, {
      headers: { Authorization: 'Bearer ' + token },
    });
    if (!res.ok) throw new ApiError(res.status, 'http_' + res.status, res.statusText);
    return res.blob();
  }
}
