// The chat server connection (docs/protocol.md): connects with the access token in the
// query, sends RESUME and the focused room after every connect, heartbeats every 25 s, and
// reconnects with jittered back-off. The server closes a connection whose access token
// expires, so the socket renews it: AUTH with every new access token, and a refresh when
// the one it lives on is due. Frames arrive as 'frame' events; the connection state as
// 'state' events ('connecting', 'open', 'waiting', 'closed').

import { renewAt } from './api.js';

const HEARTBEAT_MS = 25_000;

export class Socket extends EventTarget {
  // api gives tokens; hello() returns the frames to send right after each connect.
  constructor(api, hello) {
    super();
    this.api = api;
    this.hello = hello;
    this.ws = null;
    this.state = 'closed';
    this.retryAt = 0;
    this.attempt = 0;
    this.stopped = true;
    this.timer = 0;
    this.heartbeat = 0;
    this.renewal = 0;
    this.token = null; // the access token the open connection lives on
    this.onOnline = () => this.connectNow();
    this.onTokens = (e) => this.auth(e.detail);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.api.addEventListener('tokens', this.onTokens);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    this.api.removeEventListener('tokens', this.onTokens);
    clearTimeout(this.timer);
    clearTimeout(this.renewal);
    clearInterval(this.heartbeat);
    if (this.ws) this.ws.close(1000, 'signed out');
    this.ws = null;
    this.setState('closed');
  }

  // connectNow skips the back-off wait (the browser came back online, or the user asked).
  connectNow() {
    if (this.stopped || this.state !== 'waiting') return;
    clearTimeout(this.timer);
    this.connect();
  }

  send(type, data = {}) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type, data }));
      return true;
    }
    return false;
  }

  // auth moves the open connection to a new access token (AUTH); the server answers
  // AUTH_OK, or closes with 4001 if it refuses the token.
  auth(token) {
    if (!token || token === this.token) return;
    if (this.send('AUTH', { accessToken: token })) {
      this.token = token;
      this.scheduleRenewal();
    }
  }

  // scheduleRenewal wakes up when the connection's token is due: asking for a token then
  // refreshes it (or takes the one another tab refreshed), and the 'tokens' event, or the
  // check below, sends AUTH.
  scheduleRenewal() {
    clearTimeout(this.renewal);
    const at = renewAt(this.token);
    if (!at) return;
    this.renewal = setTimeout(async () => {
      try {
        this.auth(await this.api.accessToken());
      } catch {
        /* signed out, or the server is away: the close that follows says what to do */
      }
      if (this.ws && renewAt(this.token) <= Date.now()) {
        this.renewal = setTimeout(() => this.scheduleRenewal(), 2000);
      }
    }, Math.max(0, at - Date.now()) + 250);
  }

  setState(s) {
    this.state = s;
    this.dispatchEvent(new CustomEvent('state', { detail: s }));
  }

  async connect() {
    this.setState('connecting');
    let token;
    try {
      // A handshake with a bad token is refused before the upgrade (401), and the browser
      // does not say why. After such a failure, an authenticated API call tells: it
      // refreshes the tokens on 401, and fails plainly when the server is down.
      if (this.lastFailedBeforeOpen) await this.api.me();
      token = await this.api.accessToken();
    } catch (err) {
      if (err.status === 401 || err.status === 403) return; // signed out: the app shows sign-in
      return this.retry();
    }
    if (this.stopped) return;
    const ws = new WebSocket(`${socketURL()}?access_token=${encodeURIComponent(token)}`);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.lastFailedBeforeOpen = false;
      this.token = token;
      this.scheduleRenewal();
      for (const [type, data] of this.hello()) this.send(type, data);
      this.send('HEART_BEAT');
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => this.send('HEART_BEAT'), HEARTBEAT_MS);
      this.setState('open');
    };
    ws.onmessage = (e) => {
      let frame;
      try {
        frame = JSON.parse(e.data);
      } catch {
        return;
      }
      this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      clearInterval(this.heartbeat);
      clearTimeout(this.renewal);
      this.ws = null;
      this.token = null;
      if (this.stopped) return;
      this.lastFailedBeforeOpen = !opened || e.code === 4001;
      if (e.code === 4003) {
        this.setState('closed');
        return;
      }
      this.retry(e.code === 4029 ? 5000 : 0);
    };
  }

  // retry waits 250 ms doubling to 10 s, with jitter so that the clients of a restarted
  // server do not all come back at once.
  retry(minDelay = 0) {
    if (this.stopped) return;
    const base = Math.min(10_000, 250 * 2 ** this.attempt);
    const delay = Math.max(minDelay, base / 2 + Math.random() * base / 2);
    this.attempt++;
    this.retryAt = Date.now() + delay;
    this.setState('waiting');
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

// socketURL is the chat server's WebSocket endpoint: the one the server named in the page
// (deployments with separate API and chat hosts), or this origin's /ws.
function socketURL() {
  const configured = document.querySelector('meta[name="chatchat-ws-url"]')?.content;
  if (configured) return configured;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/ws`;
}
