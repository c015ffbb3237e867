// A user added to a large group: the app loads the profiles it shows (the senders on
// screen), not one request per member.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, bubble, connected, launch, openRoom, person, shot, signUp } from './helpers.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function call(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/api/v1${path}`, { method, headers, body: body && JSON.stringify(body) });
  assert.ok(res.ok, `${method} ${path}: ${res.status}`);
  return res.status === 204 ? null : res.json();
}

test('a large group loads only the profiles it shows', async () => {
  const run = Date.now().toString(36).slice(-6);
  const members = [];
  for (let i = 0; i < 120; i++) {
    const a = await call('POST', '/auth/signup', { username: `big${run}x${i}`, password: 'correct horse battery', displayName: `Big ${i}` });
    members.push(a);
  }
  const viewer = await person(browser, 'Viewer');
  await signUp(viewer);
  const token = await viewer.page.evaluate(() => JSON.parse(localStorage.getItem('chatchat.session')).accessToken);
  const me = await call('GET', '/users/me', null, token);
  const owner = members[0];
  const room = await call('POST', '/rooms', {
    type: 'group', name: `Big ${run}`, memberIds: [...members.slice(1).map((a) => a.user.id), me.id],
  }, owner.accessToken);
  await call('POST', `/rooms/${room.id}/messages`, { text: `hello all ${run}` }, owner.accessToken);

  let profiles = 0;
  viewer.page.on('request', (req) => {
    const path = new URL(req.url()).pathname;
    if (/^\/api\/v1\/users\/[^/]+$/.test(path) && !path.endsWith('/me')) profiles++;
  });
  await viewer.page.reload();
  await connected(viewer.page);
  await viewer.page.locator('.room-link', { hasText: `Big ${run}` }).waitFor();
  await openRoom(viewer, `Big ${run}`);
  await bubble(viewer.page, `hello all ${run}`).waitFor();
  await shot(viewer.page, 'large-room.png');
  assert.ok(profiles <= 5, `the app fetched ${profiles} profiles for a group of 121 with one sender on screen`);
  viewer.check();
});

test('a user in more rooms than one frame loads the room list in pages and resumes them in chunks', async () => {
  const run = Date.now().toString(36).slice(-6);
  const owner = await call('POST', '/auth/signup', { username: `many${run}`, password: 'correct horse battery', displayName: `Many ${run}` });
  const viewer = await person(browser, 'Member');
  await signUp(viewer);
  const token = await viewer.page.evaluate(() => JSON.parse(localStorage.getItem('chatchat.session')).accessToken);
  const me = await call('GET', '/users/me', null, token);
  for (let i = 0; i < 620; i++) {
    await call('POST', '/rooms', { type: 'group', name: `Many ${run} ${i}`, memberIds: [me.id] }, owner.accessToken);
  }
  const frames = { resumes: [], oks: 0, errors: [] };
  viewer.page.on('websocket', (ws) => {
    ws.on('framesent', (f) => {
      const m = JSON.parse(f.payload);
      if (m.type === 'RESUME') frames.resumes.push(Object.keys(m.data.rooms).length);
    });
    ws.on('framereceived', (f) => {
      const m = JSON.parse(f.payload);
      if (m.type === 'RESUME_OK') frames.oks++;
      if (m.type === 'ERROR') frames.errors.push(m.data.code + ': ' + m.data.message);
    });
  });
  const pages = [];
  viewer.page.on('response', async (res) => {
    const u = new URL(res.url());
    if (u.pathname === '/api/v1/rooms' && res.request().method() === 'GET') {
      pages.push({ limit: u.searchParams.get('limit'), cursor: u.searchParams.get('cursor'), rooms: (await res.json()).rooms.length });
    }
  });
  await viewer.page.reload();
  await connected(viewer.page);
  // The room list came a page at a time: 620 rooms (and the viewer's own) in pages of 200.
  assert.ok(pages.length >= 4 && pages.every((p) => p.limit === '200' && p.rooms <= 200), `room list pages ${JSON.stringify(pages)}`);
  assert.equal(pages[0].cursor, null);
  assert.ok(pages.slice(1).every((p) => p.cursor), 'later pages name the cursor');
  assert.ok(pages.reduce((a, p) => a + p.rooms, 0) >= 620, `pages held ${pages.map((p) => p.rooms)} rooms`);
  for (let i = 0; i < 100 && frames.oks < 2; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(frames.errors, []);
  assert.ok(frames.resumes.length >= 2 && frames.resumes.every((n) => n <= 500), `RESUME frames of ${frames.resumes} rooms`);
  assert.equal(frames.resumes.reduce((a, b) => a + b, 0) >= 620, true, `RESUME named ${frames.resumes} rooms in all`);
  assert.equal(frames.oks, frames.resumes.length, `${frames.oks} RESUME_OK for ${frames.resumes.length} RESUMEs`);
  viewer.check();
});
