// Helpers of the browser tests: Chromium, people who sign up through the page, and the
// steps a person takes. scripts/browser-test.sh starts the server and sets CHATCHAT_URL.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

export const BASE = (process.env.CHATCHAT_URL || '').replace(/\/$/, '');
if (!BASE) throw new Error('CHATCHAT_URL is not set: run the tests with scripts/browser-test.sh');

export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));
mkdirSync(ARTIFACTS, { recursive: true });

// A run id keeps usernames unique when the tests run twice against one server.
const RUN = Date.now().toString(36).slice(-6);
let seq = 0;

// launch starts Debian's Chromium (it cannot be downloaded here). Playwright gives every
// launch a fresh temporary --user-data-dir of its own; the flags stop the background
// connections Chromium makes to Google, which this machine refuses, many at a time.
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

// person opens a browser context (a separate person: own storage, own session) and checks
// what its page does: no script errors, no CSP violations, no request to another host.
export async function person(browser, name, viewport = { width: 1200, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Uncaught/i.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(BASE + '/') && !u.startsWith(BASE.replace(/^http/, 'ws') + '/') && !/^(blob|data):/.test(u)) {
      problems.push(`request to another host: ${u}`);
    }
  });
  seq++;
  const p = {
    name,
    username: `${name.toLowerCase()}${RUN}${seq}`,
    displayName: `${name} ${RUN}`,
    password: 'correct horse battery',
    context,
    page,
    problems,
    // check fails the test on anything the page reported.
    check() {
      assert.deepEqual(problems, [], `${name}'s page reported problems`);
    },
  };
  return p;
}

export async function shot(page, file) {
  await page.screenshot({ path: ARTIFACTS + file });
}

// signUp creates the person's account through the sign-up form.
export async function signUp(p) {
  const { page } = p;
  await page.goto(BASE + '/');
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(p.username);
  await page.getByLabel('Display name').fill(p.displayName);
  await page.getByLabel('Password').fill(p.password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('.me-name', { hasText: p.displayName }).waitFor();
  await connected(page);
}

// signIn signs an existing account in through the sign-in form.
export async function signIn(p) {
  const { page } = p;
  await page.goto(BASE + '/');
  await page.getByLabel('Username').fill(p.username);
  await page.getByLabel('Password').fill(p.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.me-name', { hasText: p.displayName }).waitFor();
  await connected(page);
}

export async function connected(page) {
  await page.locator('.conn[data-state="open"]').waitFor();
}

// newChat opens the "New chat" dialog, picks the people by username, names a group, and
// starts the chat.
export async function newChat(p, others, groupName = '') {
  const { page } = p;
  await page.getByRole('button', { name: 'New chat' }).click();
  for (const o of others) {
    await page.getByRole('searchbox', { name: 'People' }).fill(o.username);
    await page.getByRole('button', { name: new RegExp(o.displayName) }).click();
  }
  if (groupName) await page.getByLabel('Group name (optional)').fill(groupName);
  await page.locator('dialog .btn.primary').click();
  const title = groupName || others.map((o) => o.displayName).join(', ');
  await page.locator('.chat-title', { hasText: title }).waitFor();
}

// openRoom clicks a conversation in the room list.
export async function openRoom(p, title) {
  await p.page.locator('.room-link', { hasText: title }).click();
  await p.page.locator('.chat-title', { hasText: title }).waitFor();
}

// send types a message and presses Enter.
export async function send(p, text) {
  const box = p.page.getByLabel('Message', { exact: true });
  await box.fill(text);
  await box.press('Enter');
}

// bubble is the message with exactly this text.
export function bubble(page, text) {
  return page.locator('.msg .bubble').filter({ hasText: text });
}

// png makes a small solid-colour PNG, for uploads.
export function png(width, height, [r, g, b]) {
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [r, g, b]).flat())]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

// dropFile drops a file on the open room, as a drag from the desktop does.
export async function dropFile(page, name, mimeType, bytes) {
  await page.locator('.room').evaluate((room, { name, mimeType, b64 }) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bin], name, { type: mimeType }));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      room.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  }, { name, mimeType, b64: Buffer.from(bytes).toString('base64') });
}

// imageLoaded waits until the image of a message has loaded its bytes.
export async function imageLoaded(locator) {
  await locator.waitFor();
  await locator.evaluate((img) => (img.complete && img.naturalWidth > 0) || new Promise((resolve, reject) => {
    img.addEventListener('load', resolve, { once: true });
    img.addEventListener('error', () => setTimeout(() => (img.naturalWidth > 0 ? resolve() : reject(new Error('image did not load'))), 3000), { once: true });
  }));
}

// msg is the message row (li) whose bubble has this text.
export function msg(page, text) {
  return page.locator('li.msg').filter({ has: page.locator('.bubble', { hasText: text }) });
}

// messageMenu opens the menu of the message with this text and returns it.
export async function messageMenu(page, text) {
  const row = msg(page, text);
  await row.scrollIntoViewIfNeeded();
  await row.hover();
  await row.getByRole('button', { name: 'Message actions' }).click();
  const menu = page.getByRole('menu', { name: 'Message actions' });
  await menu.waitFor();
  return menu;
}

// proxySocket passes a person's WebSocket through the test: it records the frames the
// page sends, can keep the page off (blocked), and can hand each server frame to
// onServer(frame, pass) to change or drop it (pass(frame) sends one on).
export async function proxySocket(p) {
  const ctl = { blocked: false, current: null, sent: [], onServer: null };
  await p.page.routeWebSocket(/\/ws\b/, (ws) => {
    if (ctl.blocked) {
      ws.close({ code: 1011, reason: 'test: server unavailable' });
      return;
    }
    ctl.current = ws;
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      ctl.sent.push({ ...JSON.parse(m), at: Date.now() });
      server.send(m);
    });
    server.onMessage((m) => {
      if (!ctl.onServer) return ws.send(m);
      ctl.onServer(JSON.parse(m), (f) => ws.send(JSON.stringify(f)));
    });
  });
  // cut closes the connection and keeps the page off until restore.
  ctl.cut = async () => {
    ctl.blocked = true;
    await ctl.current.close({ code: 1001, reason: 'test: going away' });
    await p.page.locator('.conn:not([data-state="open"])').waitFor();
  };
  ctl.restore = async () => {
    ctl.sent.length = 0;
    ctl.blocked = false;
    await connected(p.page);
  };
  return ctl;
}

// api calls the HTTP API with the person's session, from their page.
export function api(p, method, path, body) {
  return p.page.evaluate(async ({ method, path, body }) => {
    // The page refreshes its short-lived tokens (20 s in the tests): a 401 means it is
    // about to; ask again with the one it stores next.
    for (let attempt = 0; ; attempt++) {
      const s = JSON.parse(localStorage.getItem('chatchat.session'));
      const res = await fetch('/api/v1' + path, {
        method, headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + s.accessToken },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status === 401 && attempt < 10) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      return { status: res.status, body: res.status === 204 ? null : await res.json() };
    }
  }, { method, path, body });
}

// roomIdOf is the id of the room open in the person's page.
export function roomIdOf(p) {
  return p.page.evaluate(() => decodeURIComponent(location.hash.split('/')[2]));
}
