// The administration page: someone who is not an administrator is told so; an operator
// grants it with `chatchat admin grant`; the administrator finds a user, suspends them
// (their open page is signed out of its socket with 4003 and cannot sign in again), lifts
// it, and reads each action in the audit log.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { BASE, connected, launch, person, shot, signUp } from './helpers.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// operator runs the server's binary as an operator would: chatchat admin VERB USERNAME.
function operator(verb, username) {
  const bin = process.env.CHATCHAT_BIN;
  const dataDir = process.env.CHATCHAT_DATA_DIR;
  assert.ok(bin && dataDir, 'CHATCHAT_BIN and CHATCHAT_DATA_DIR are set by scripts/browser-test.sh');
  return execFileSync(bin, ['admin', verb, '--data-dir', dataDir, username], { encoding: 'utf8' });
}

test('an administrator suspends and reinstates a user from the administration page', async () => {
  const boss = await person(browser, 'Boss');
  const eve = await person(browser, 'Eve');
  await signUp(boss);
  await signUp(eve);
  await connected(eve.page);

  await boss.page.goto(BASE + '/admin');
  await boss.page.getByText('You are not a server administrator').waitFor();
  await shot(boss.page, 'admin-1-denied.png');

  assert.match(operator('grant', boss.username), /now administers the server/);
  // The chat app shows administrators the way to the page (eve, no administrator, not).
  await boss.page.goto(BASE + '/');
  await boss.page.getByRole('link', { name: 'Administration' }).click();
  assert.equal(await eve.page.getByRole('link', { name: 'Administration' }).count(), 0);
  await boss.page.getByRole('heading', { name: 'Administration' }).waitFor();
  await boss.page.getByRole('searchbox', { name: 'Search users' }).fill(eve.username);
  const row = boss.page.locator(`tr[data-username="${eve.username}"]`);
  // The search narrows the list to eve alone.
  await boss.page.waitForFunction((name) => {
    const rows = document.querySelectorAll('tbody tr[data-username]');
    return rows.length === 1 && rows[0].dataset.username === name;
  }, eve.username);

  await row.getByRole('button', { name: 'Suspend' }).click();
  await row.locator('.admin-state', { hasText: 'Suspended' }).waitFor();
  // Her app's socket was closed with 4003: the app stops reconnecting and shows it is offline
  // (any other close code makes it reconnect).
  await eve.page.locator('.conn[data-state="closed"]').waitFor();
  await shot(boss.page, 'admin-2-suspended.png');

  // Eve cannot sign in while suspended.
  const login = await fetch(`${BASE}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: eve.username, password: eve.password }),
  });
  assert.equal(login.status, 403);
  assert.equal((await login.json()).error.code, 'suspended');

  await row.getByRole('button', { name: 'Unsuspend' }).click();
  await row.locator('.admin-state', { hasText: 'Active' }).waitFor();
  const again = await fetch(`${BASE}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: eve.username, password: eve.password }),
  });
  assert.equal(again.status, 200);

  // The audit log, newest first: unsuspend, suspend, then the operator's grant.
  const audit = boss.page.locator('section[aria-labelledby="admin-audit"] tbody tr');
  await boss.page.waitForFunction(() => document.querySelectorAll('section[aria-labelledby="admin-audit"] tbody tr').length >= 3);
  const actions = await audit.evaluateAll((rows) => rows.slice(0, 3).map((r) => r.dataset.action));
  assert.deepEqual(actions, ['unsuspend', 'suspend', 'grant_admin']);
  const grant = await audit.nth(2).innerText();
  assert.match(grant, /the command line/);
  assert.match(await audit.nth(0).innerText(), new RegExp(boss.username));
  await shot(boss.page, 'admin-3-audit.png');
  boss.check();
  eve.check();
});

async function api(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE}/api/v1${path}`, { method, headers, body: body && JSON.stringify(body) });
  assert.ok(res.ok, `${method} ${path}: ${res.status}`);
  return res.status === 204 ? null : res.json();
}

test('an administrator resolves a reported message by deleting it', async () => {
  const run = Date.now().toString(36).slice(-6);
  const signup = (name) => api('POST', '/auth/signup', { username: `${name}${run}`, password: 'correct horse battery', displayName: `${name} ${run}` });
  const sender = await signup('rude');
  const reporter = await signup('carl');
  const room = await api('POST', '/rooms', { type: 'group', name: `Reports ${run}`, memberIds: [reporter.user.id] }, sender.accessToken);
  await api('POST', `/rooms/${room.id}/messages`, { text: `what did you say ${run}` }, reporter.accessToken);
  const m = await api('POST', `/rooms/${room.id}/messages`, { text: `rude words ${run}` }, sender.accessToken);
  await api('POST', `/rooms/${room.id}/messages`, { text: `that is not ok ${run}` }, reporter.accessToken);
  const filed = await api('POST', `/rooms/${room.id}/messages/${m.id}/reports`, { reason: 'insults' }, reporter.accessToken);
  assert.ok(filed.id);

  const boss = await person(browser, 'Moderator');
  await signUp(boss);
  operator('grant', boss.username);
  await boss.page.goto(BASE + '/admin');
  const item = boss.page.locator(`li[data-report-id="${filed.id}"]`);
  await item.waitFor();
  assert.match(await item.innerText(), new RegExp(`rude words ${run}`));
  assert.match(await item.innerText(), /insults/);
  // In its context: the message before and after it, the reported one marked.
  const context = item.getByRole('list', { name: 'The conversation around it' });
  assert.deepEqual(await context.locator('li').evaluateAll((ls) => ls.map((l) => l.textContent)),
    [`@${reporter.user.username}: what did you say ${run}`, `@${sender.user.username}: rude words ${run}`, `@${reporter.user.username}: that is not ok ${run}`]);
  assert.match(await context.locator('li.reported').textContent(), /rude words/);
  await shot(boss.page, 'admin-4-report.png');
  await item.getByRole('button', { name: 'Delete message' }).click();
  await item.waitFor({ state: 'detached' });
  // The message is a tombstone for the room's members.
  const page = await api('GET', `/rooms/${room.id}/messages?limit=10`, null, reporter.accessToken);
  const gone = page.messages.find((x) => x.id === m.id);
  assert.ok(gone.deletedAt, 'the reported message is deleted');
  assert.equal(gone.text, '');
  await boss.page.locator('section[aria-labelledby="admin-audit"] tbody tr[data-action="resolve_report"]').waitFor();
  boss.check();
});

test('an administrator sets a room\'s retention and erases a user from the administration page', async () => {
  const run = Date.now().toString(36).slice(-6);
  const signup = (name) => api('POST', '/auth/signup', { username: `${name}${run}`, password: 'correct horse battery', displayName: `${name} ${run}` });
  const owner = await signup('olga');
  const leaver = await signup('gone');
  const room = await api('POST', '/rooms', { type: 'group', name: `Kept ${run}`, memberIds: [leaver.user.id] }, owner.accessToken);
  await api('POST', `/rooms/${room.id}/messages`, { text: `last words ${run}` }, leaver.accessToken);

  const boss = await person(browser, 'Keeper');
  await signUp(boss);
  operator('grant', boss.username);
  await boss.page.goto(BASE + '/admin');
  await boss.page.getByRole('heading', { name: 'Room retention' }).waitFor();
  await boss.page.getByLabel('Room id').fill(room.id);
  await boss.page.getByLabel('Retention in days').fill('30');
  await boss.page.getByRole('button', { name: 'Set retention' }).click();
  const row = boss.page.locator(`tr[data-room-id="${room.id}"]`);
  await row.waitFor();
  assert.equal(await row.locator('td.retention').textContent(), '30 days');
  assert.match(await row.innerText(), new RegExp(`Kept ${run}`));
  await boss.page.locator('section[aria-labelledby="admin-audit"] tbody tr[data-action="set_retention"]').waitFor();
  const seen = await api('GET', `/rooms/${room.id}`, null, owner.accessToken);
  assert.equal(seen.retentionDays, 30);
  await shot(boss.page, 'admin-5-retention.png');

  // Erase asks twice.
  await boss.page.getByRole('searchbox', { name: 'Search users' }).fill(leaver.user.username);
  const user = boss.page.locator(`tr[data-user-id="${leaver.user.id}"]`);
  await user.waitFor();
  await user.getByRole('button', { name: 'Erase' }).click();
  await user.getByRole('button', { name: `Erase ${leaver.user.username} for good?` }).click();
  await boss.page.locator('.admin-status', { hasText: 'is erased' }).waitFor();
  await shot(boss.page, 'admin-6-erased.png');
  const after = await api('GET', `/rooms/${room.id}`, null, owner.accessToken);
  assert.ok(!after.memberIds.includes(leaver.user.id), 'the erased user left the room');
  const page = await api('GET', `/rooms/${room.id}/messages?limit=10`, null, owner.accessToken);
  assert.ok(page.messages.every((x) => x.senderId !== leaver.user.id || (x.deletedAt && x.text === '')), 'their messages are deleted');
  boss.check();
});
