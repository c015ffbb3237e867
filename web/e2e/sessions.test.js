// Sessions that end: signing out ends the session on the server (its sockets closed, its
// token refused), and a connection outlives its access token by renewing it with AUTH.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, connected, launch, person, shot, signUp } from './helpers.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const accessToken = (page) => page.evaluate(() => JSON.parse(localStorage.getItem('chatchat.session')).accessToken);

// sockets records the page's WebSockets: the frames each sent and received, and its end.
function sockets(page) {
  const list = [];
  page.on('websocket', (ws) => {
    const s = { ws, sent: [], received: [], closed: false };
    ws.on('framesent', (f) => s.sent.push(JSON.parse(f.payload)));
    ws.on('framereceived', (f) => s.received.push(JSON.parse(f.payload)));
    ws.on('close', () => { s.closed = true; });
    list.push(s);
  });
  return list;
}

// until polls cond for up to 10 s.
async function until(what, cond) {
  for (let i = 0; i < 100; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('signing out ends the session on the server and closes its sockets', async (t) => {
  const uma = await person(browser, 'Uma');
  // Another browser that holds a copy of Uma's token: what a stolen token, or a second tab
  // of the same session, would be.
  const copy = await person(browser, 'Copy');
  t.after(() => Promise.all([uma.context.close(), copy.context.close()]));
  const umaSockets = sockets(uma.page);
  await signUp(uma);
  const token = await accessToken(uma.page);

  await copy.page.goto(BASE + '/');
  await copy.page.evaluate((tok) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`${location.origin.replace(/^http/, 'ws')}/ws?access_token=${encodeURIComponent(tok)}`);
    window.closedWith = new Promise((done) => ws.addEventListener('close', (e) => done(e.code)));
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('the copied token did not connect')));
  }), token);

  const logout = uma.page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/logout') && r.request().method() === 'POST');
  await uma.page.getByRole('button', { name: 'Sign out' }).click();
  assert.equal((await logout).status(), 204, 'POST /auth/logout answered 204');
  await uma.page.getByRole('heading', { name: 'Welcome back' }).waitFor();
  await shot(uma.page, '70-uma-signed-out.png');

  // The server closed the session's other socket with 4001, on its own.
  assert.equal(await copy.page.evaluate(() => window.closedWith), 4001, 'the copied session\'s socket closed with 4001');
  // The page's own socket is closed, and the token is dead.
  assert.ok(umaSockets.length >= 1, 'the page had a socket');
  await until('every socket of the page to close', () => umaSockets.every((s) => s.closed));
  const status = await copy.page.evaluate(async (tok) => (await fetch('/api/v1/users/me', { headers: { Authorization: 'Bearer ' + tok } })).status, token);
  assert.equal(status, 401, 'the ended session\'s access token is refused');
  uma.check();
  copy.check();
});

test('a connection outlives its access token: the client renews it with AUTH', async (t) => {
  const wes = await person(browser, 'Wes');
  t.after(() => wes.context.close());
  const wesSockets = sockets(wes.page);
  await signUp(wes);
  const first = await accessToken(wes.page);
  // scripts/browser-test.sh gives tokens 20 s: wait until this one has expired.
  await wes.page.waitForFunction((tok) => {
    const { exp } = JSON.parse(atob(tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return Date.now() / 1000 > exp + 1;
  }, first, { timeout: 120_000, polling: 500 });
  await connected(wes.page);

  assert.equal(wesSockets.length, 1, 'one socket: it was renewed, not reopened');
  const [s] = wesSockets;
  assert.ok(!s.closed, 'the socket is still open past its first token\'s expiry');
  const auth = s.sent.find((f) => f.type === 'AUTH');
  assert.ok(auth, 'AUTH sent before the token expired');
  assert.notEqual(auth.data.accessToken, first, 'AUTH carries a fresh token');
  assert.ok(s.received.some((f) => f.type === 'AUTH_OK'), 'the server answered AUTH_OK');
  wes.check();
});
