// The web client in headless Chromium against the real binary: what two and three people
// see when they chat. Screenshots of each step go to artifacts/.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  bubble, connected, dropFile, imageLoaded, launch, newChat, openRoom, person, png, send, shot, signIn, signUp,
} from './helpers.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('two people chat in a direct room', async (t) => {
  const ann = await person(browser, 'Ann');
  const bob = await person(browser, 'Bob');
  t.after(() => Promise.all([ann.context.close(), bob.context.close()]));
  // The steps build on each other: after one fails, the rest are skipped, not failed.
  let failed = false;
  const step = (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });

  await step('both sign up', async () => {
    await signUp(ann);
    await signUp(bob);
    await shot(ann.page, '01-signed-up.png');
  });

  await step('Ann opens a direct room and writes; Bob sees it live with an unread badge', async () => {
    await newChat(ann, [bob]);
    await send(ann, 'Hi Bob! 👋');
    await bubble(ann.page, 'Hi Bob! 👋').waitFor();
    // Bob has not opened the room: the message shows "1" unread beside it for Ann.
    await ann.page.locator('.msg.mine .unread', { hasText: '1' }).waitFor();
    const item = bob.page.locator('.room-link', { hasText: ann.displayName });
    await item.locator('.badge', { hasText: '1' }).waitFor();
    await item.locator('.room-preview', { hasText: 'Hi Bob!' }).waitFor();
    await shot(ann.page, '02-ann-sent-unread-1.png');
    await shot(bob.page, '03-bob-room-list-badge.png');
  });

  await step('the unread "1" disappears when Bob opens the room', async () => {
    await openRoom(bob, ann.displayName);
    await bubble(bob.page, 'Hi Bob! 👋').waitFor();
    await ann.page.locator('.msg.mine .unread').waitFor({ state: 'detached' });
    await bob.page.locator('.room-link .badge').waitFor({ state: 'detached' });
    await shot(ann.page, '04-ann-read-by-bob.png');
  });

  await step('messages go both ways live', async () => {
    await send(bob, 'Hey Ann, how are you?');
    await bubble(ann.page, 'Hey Ann, how are you?').waitFor();
    await send(ann, 'Great, thanks 😊');
    await bubble(bob.page, 'Great, thanks 😊').waitFor();
    // Shift+Enter makes a new line instead of sending.
    const box = ann.page.getByLabel('Message', { exact: true });
    await box.fill('');
    await box.type('line one');
    await box.press('Shift+Enter');
    await box.type('line two');
    assert.equal(await box.inputValue(), 'line one\nline two');
    await box.press('Enter');
    const two = bubble(bob.page, 'line one');
    await two.waitFor();
    assert.equal(await two.evaluate((el) => el.textContent), 'line one\nline two');
    // Both have the room open: new messages are read at once, no "1" stays.
    await bob.page.locator('.msg .unread').waitFor({ state: 'detached' });
    await shot(bob.page, '05-bob-conversation.png');
  });

  await step('a typing indicator shows', async () => {
    await bob.page.getByLabel('Message', { exact: true }).type('I am typ');
    await ann.page.locator('.typing', { hasText: `${bob.displayName} is typing` }).waitFor();
    await shot(ann.page, '06-ann-sees-typing.png');
    await bob.page.getByLabel('Message', { exact: true }).fill('');
  });

  await step('a message with <script> renders as text', async () => {
    const evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold?</b>';
    await send(ann, evil);
    const b = bubble(bob.page, '<script>window.__pwned = 1</script>');
    await b.waitFor();
    assert.equal(await b.evaluate((el) => el.textContent), evil);
    assert.equal(await b.locator('script, img, b').count(), 0);
    assert.equal(await bob.page.evaluate(() => window.__pwned), undefined);
    await shot(bob.page, '07-script-as-text.png');
  });

  await step('a reload keeps the session, the open room and the history', async () => {
    await bob.page.reload();
    await connected(bob.page);
    await bob.page.locator('.chat-title', { hasText: ann.displayName }).waitFor();
    for (const text of ['Hi Bob! 👋', 'Hey Ann, how are you?', 'line one', '<script>']) {
      await bubble(bob.page, text).waitFor();
    }
    assert.equal(await bob.page.locator('.day-sep', { hasText: 'Today' }).count(), 1);
    // Live again after the reload.
    await send(ann, 'still there?');
    await bubble(bob.page, 'still there?').waitFor();
    await shot(bob.page, '08-bob-after-reload.png');
  });

  await step('at phone width one pane shows at a time', async () => {
    await bob.page.setViewportSize({ width: 390, height: 844 });
    await bob.page.locator('.chat-title', { hasText: ann.displayName }).waitFor();
    assert.equal(await bob.page.locator('.sidebar').isVisible(), false);
    await shot(bob.page, '09-phone-chat.png');
    await bob.page.getByRole('button', { name: 'Back to conversations' }).click();
    await bob.page.locator('.room-link', { hasText: ann.displayName }).waitFor();
    assert.equal(await bob.page.locator('.chat').isVisible(), false);
    await shot(bob.page, '10-phone-list.png');
  });

  await step('signing out shows the sign-in screen and forgets the session', async () => {
    await ann.page.getByRole('button', { name: 'Sign out' }).click();
    await ann.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await ann.page.reload();
    await ann.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await ann.page.getByLabel('Username').fill(ann.username);
    await ann.page.getByLabel('Password').fill('wrong password');
    await ann.page.getByRole('button', { name: 'Sign in' }).click();
    await ann.page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor();
    await shot(ann.page, '11-wrong-password.png');
    await signIn(ann);
  });

  ann.check();
  bob.check();
});

test('a group of three sees presence dots change', async (t) => {
  const cat = await person(browser, 'Cat');
  const dan = await person(browser, 'Dan');
  let eve = await person(browser, 'Eve');
  t.after(() => Promise.all([cat.context.close(), dan.context.close(), eve.context.close()]));
  await signUp(cat);
  await signUp(dan);
  await signUp(eve);

  await newChat(cat, [dan, eve], 'Weekend plans');
  await dan.page.locator('.room-link', { hasText: 'Weekend plans' }).waitFor();
  await openRoom(dan, 'Weekend plans');
  const member = (p, who) => p.page.locator(`.members .member[aria-label^="${who.displayName},"]`);
  await member(cat, dan).and(cat.page.locator('[data-status="online"]')).waitFor();
  await member(cat, eve).and(cat.page.locator('[data-status="online"]')).waitFor();
  await cat.page.locator('.chat-subtitle', { hasText: '3 members · 2 online' }).waitFor();
  await send(cat, 'Who is in for a hike?');
  await bubble(dan.page, 'Who is in for a hike?').waitFor();
  await shot(cat.page, '20-group-all-online.png');

  // Eve closes her browser: her last session ends, and she goes offline at once.
  const eveAccount = { username: eve.username, password: eve.password, displayName: eve.displayName };
  eve.check();
  await eve.context.close();
  await member(cat, eve).and(cat.page.locator('[data-status="offline"]')).waitFor();
  await member(dan, eve).and(dan.page.locator('[data-status="offline"]')).waitFor();
  await cat.page.locator('.chat-subtitle', { hasText: '3 members · 1 online' }).waitFor();
  await shot(cat.page, '21-group-eve-offline.png');

  // She comes back on another browser, and is online again.
  eve = Object.assign(await person(browser, 'Eve'), eveAccount);
  await signIn(eve);
  await member(cat, eve).and(cat.page.locator('[data-status="online"]')).waitFor();
  await openRoom(eve, 'Weekend plans');
  await bubble(eve.page, 'Who is in for a hike?').waitFor();
  await eve.page.locator('.room-link .badge').waitFor({ state: 'detached' });
  await cat.page.locator('.msg.mine .unread').waitFor({ state: 'detached' });
  await shot(cat.page, '22-group-eve-back.png');
  await shot(eve.page, '23-eve-group-view.png');

  cat.check();
  dan.check();
  eve.check();
});

test('images and files, by picker and by drag and drop', async (t) => {
  const fay = await person(browser, 'Fay');
  const gus = await person(browser, 'Gus');
  t.after(() => Promise.all([fay.context.close(), gus.context.close()]));
  await signUp(fay);
  await signUp(gus);
  await newChat(fay, [gus]);
  await send(fay, 'Here are the photos');
  await openRoom(gus, fay.displayName);
  await bubble(gus.page, 'Here are the photos').waitFor();

  // The picker (the paperclip opens it).
  await fay.page.locator('#composer-file').setInputFiles({ name: 'sunset.png', mimeType: 'image/png', buffer: png(320, 200, [245, 130, 60]) });
  await imageLoaded(gus.page.locator('.bubble.media img[alt="sunset.png"]'));
  await imageLoaded(fay.page.locator('.bubble.media img[alt="sunset.png"]'));

  // Drag and drop, an image and a plain file.
  await dropFile(fay.page, 'sea.png', 'image/png', png(200, 260, [40, 120, 220]));
  await imageLoaded(gus.page.locator('.bubble.media img[alt="sea.png"]'));
  await dropFile(fay.page, 'notes.txt', 'text/plain', Buffer.from('bring water\n'));
  const card = gus.page.locator('.bubble.file .file-card', { hasText: 'notes.txt' });
  await card.waitFor();
  const href = await card.getAttribute('href');
  const res = await gus.page.request.get(new URL(href, gus.page.url()).href);
  assert.equal(res.status(), 200);
  assert.equal(await res.text(), 'bring water\n');
  await gus.page.locator('.room-link', { hasText: fay.displayName }).locator('.room-preview', { hasText: 'notes.txt' }).waitFor();
  await shot(gus.page, '30-images-and-files.png');

  fay.check();
  gus.check();
});

test('after a dropped connection the client reconnects and RESUME brings what it missed', async (t) => {
  const hal = await person(browser, 'Hal');
  const ivy = await person(browser, 'Ivy');
  t.after(() => Promise.all([hal.context.close(), ivy.context.close()]));
  // Ivy's WebSocket passes through a proxy in the test, which can cut it and keep her off.
  let blocked = false;
  let current = null;
  const sent = [];
  await ivy.page.routeWebSocket(/\/ws\b/, (ws) => {
    if (blocked) {
      ws.close({ code: 1011, reason: 'test: server unavailable' });
      return;
    }
    current = ws;
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      sent.push(JSON.parse(m));
      server.send(m);
    });
  });
  await signUp(hal);
  await signUp(ivy);
  await newChat(hal, [ivy]);
  await send(hal, 'first, while Ivy is connected');
  await ivy.page.locator('.room-link', { hasText: 'first, while Ivy' }).waitFor();

  blocked = true;
  await current.close({ code: 1001, reason: 'test: going away' });
  await ivy.page.locator('.conn:not([data-state="open"])').waitFor();
  await ivy.page.locator('.conn-text', { hasText: /Reconnecting|Connecting/ }).waitFor();
  await shot(ivy.page, '40-ivy-reconnecting.png');
  await send(hal, 'second, while Ivy is away');
  await send(hal, 'third, while Ivy is away');
  await bubble(hal.page, 'third, while Ivy is away').waitFor();

  sent.length = 0;
  blocked = false;
  await connected(ivy.page);
  await openRoom(ivy, hal.displayName);
  for (const text of ['first, while Ivy', 'second, while Ivy', 'third, while Ivy']) {
    await bubble(ivy.page, text).waitFor();
    assert.equal(await bubble(ivy.page, text).count(), 1, `"${text}" shown once`);
  }
  const resume = sent.find((f) => f.type === 'RESUME');
  assert.ok(resume, 'RESUME sent after reconnecting');
  assert.equal(Object.values(resume.data.rooms)[0], 1, 'RESUME from the last seq Ivy had');
  await shot(ivy.page, '41-ivy-resumed.png');

  hal.check();
  ivy.check();
});

test('a send that fails is retried with the same clientMsgId, and shown once', async (t) => {
  const jay = await person(browser, 'Jay');
  const kim = await person(browser, 'Kim');
  t.after(() => Promise.all([jay.context.close(), kim.context.close()]));
  await signUp(jay);
  await signUp(kim);
  await newChat(jay, [kim]);
  await openRoom(kim, jay.displayName);

  // The network drops every send until the test lets it through.
  let down = true;
  const ids = [];
  await jay.page.route(/\/api\/v1\/rooms\/[^/]+\/messages$/, (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    ids.push(route.request().postDataJSON().clientMsgId);
    return down ? route.abort('internetdisconnected') : route.continue();
  });
  await send(jay, 'this one goes through in the end');
  await jay.page.locator('.msg.pending.failed').getByRole('alert').waitFor({ timeout: 20_000 });
  await shot(jay.page, '50-jay-send-failed.png');
  down = false;
  await jay.page.locator('.msg.pending.failed').getByRole('button', { name: 'Retry' }).click();
  await jay.page.locator('.msg.pending').waitFor({ state: 'detached' });
  await bubble(kim.page, 'this one goes through in the end').waitFor();
  assert.ok(ids.length >= 2, `${ids.length} attempts`);
  assert.equal(new Set(ids).size, 1, 'every attempt carries the same clientMsgId');
  assert.equal(await bubble(jay.page, 'this one goes through in the end').count(), 1);
  assert.equal(await bubble(kim.page, 'this one goes through in the end').count(), 1);

  jay.check();
  kim.check();
});

test('older history loads when scrolling up', async (t) => {
  const lea = await person(browser, 'Lea');
  const max = await person(browser, 'Max');
  t.after(() => Promise.all([lea.context.close(), max.context.close()]));
  await signUp(lea);
  await signUp(max);
  await newChat(lea, [max]);
  // 130 messages through the API with Lea's session (more than two pages of 50).
  await lea.page.evaluate(async () => {
    const s = JSON.parse(localStorage.getItem('chatchat.session'));
    const roomId = decodeURIComponent(location.hash.split('/')[2]);
    for (let i = 1; i <= 130; i++) {
      const res = await fetch(`/api/v1/rooms/${roomId}/messages`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + s.accessToken },
        body: JSON.stringify({ clientMsgId: 'seed-' + i, type: 'text', text: `message number ${i}` }),
      });
      if (!res.ok) throw new Error(`seed ${i}: ${res.status}`);
    }
  });
  await openRoom(max, lea.displayName);
  await bubble(max.page, 'message number 130').waitFor();
  const first = bubble(max.page, /^message number 1$/);
  for (let i = 0; i < 20 && (await first.count()) === 0; i++) {
    await max.page.locator('.messages').evaluate((el) => { el.scrollTop = 0; });
    await max.page.waitForTimeout(200);
  }
  await first.waitFor();
  assert.equal(await max.page.locator('.msg[data-seq]').count(), 130);
  await shot(max.page, '60-max-scrolled-to-the-start.png');
  lea.check();
  max.check();
});

test('an expired access token is refreshed silently', async (t) => {
  const nia = await person(browser, 'Nia');
  const oz = await person(browser, 'Oz');
  t.after(() => Promise.all([nia.context.close(), oz.context.close()]));
  await signUp(nia);
  await signUp(oz);
  await newChat(nia, [oz]);
  const token = () => nia.page.evaluate(() => JSON.parse(localStorage.getItem('chatchat.session')).accessToken);
  const first = await token();
  // scripts/browser-test.sh gives tokens 20 s: wait until this one has expired.
  await nia.page.waitForFunction((tok) => {
    const { exp } = JSON.parse(atob(tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return Date.now() / 1000 > exp + 1;
  }, first, { timeout: 120_000, polling: 500 });
  await send(nia, 'sent with a token refreshed on the way');
  await openRoom(oz, nia.displayName);
  await bubble(oz.page, 'sent with a token refreshed on the way').waitFor();
  await nia.page.locator('.msg.pending').waitFor({ state: 'detached' });
  assert.notEqual(await token(), first, 'the tokens were rotated');
  await nia.page.reload();
  await bubble(nia.page, 'sent with a token refreshed on the way').waitFor();
  await connected(nia.page);
  nia.check();
  oz.check();
});
