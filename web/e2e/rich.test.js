// Rich messages in the web client (docs/protocol.md "Changes to messages"): edits,
// deletes, reactions, replies, mentions, pins, delivery ticks and blocking, each as two or
// three people see it in Chromium against the real binary. Screenshots go to artifacts/.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  api, BASE, bubble, connected, launch, messageMenu, msg, newChat, openRoom, person, proxySocket, roomIdOf, send, shot, signUp,
} from './helpers.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// steps runs dependent steps: after one fails, the rest are skipped, not failed.
function steps(t) {
  let failed = false;
  return (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

test('edit, delete and react from the message menu; a tab that was away catches up', async (t) => {
  const ann = await person(browser, 'Ann');
  const bob = await person(browser, 'Bob');
  t.after(() => Promise.all([ann.context.close(), bob.context.close()]));
  const step = steps(t);
  const bobSocket = await proxySocket(bob);
  const changesRequests = [];
  bob.page.on('request', (req) => {
    if (/\/rooms\/[^/]+\/changes\?/.test(req.url())) changesRequests.push(req.url());
  });

  await step('two people with four messages', async () => {
    await signUp(ann);
    await signUp(bob);
    await newChat(ann, [bob]);
    for (const text of ['first draft', 'take me back', 'react to me', 'fourth']) await send(ann, text);
    await openRoom(bob, ann.displayName);
    await bubble(bob.page, 'fourth').waitFor();
  });

  await step('Ann edits from the menu; Bob sees the new text marked "edited"', async () => {
    const menu = await messageMenu(ann.page, 'first draft');
    await shot(ann.page, 'r01-message-menu.png');
    await menu.getByRole('menuitem', { name: 'Edit' }).click();
    const box = ann.page.getByRole('textbox', { name: 'Edit message' });
    await box.waitFor();
    await shot(ann.page, 'r02-inline-editor.png');
    await box.fill('first, edited');
    await box.press('Enter');
    await msg(bob.page, 'first, edited').locator('.edited', { hasText: 'edited' }).waitFor();
    assert.equal(await bubble(bob.page, 'first draft').count(), 0);
    await msg(ann.page, 'first, edited').locator('.edited').waitFor();
  });

  await step('↑ in the empty composer edits Ann\'s last message', async () => {
    const composer = ann.page.getByLabel('Message', { exact: true });
    await composer.fill('');
    await composer.press('ArrowUp');
    const box = ann.page.getByRole('textbox', { name: 'Edit message' });
    assert.equal(await box.inputValue(), 'fourth');
    await box.fill('fourth, edited by arrow');
    await box.press('Enter');
    await msg(bob.page, 'fourth, edited by arrow').locator('.edited').waitFor();
    // Escape leaves an edit without saving.
    await composer.press('ArrowUp');
    await box.fill('never saved');
    await box.press('Escape');
    await box.waitFor({ state: 'detached' });
    assert.equal(await bubble(ann.page, 'never saved').count(), 0);
  });

  await step('Ann deletes a message: both see a tombstone', async () => {
    const menu = await messageMenu(ann.page, 'take me back');
    await menu.getByRole('menuitem', { name: 'Delete…' }).click();
    await menu.getByRole('menuitem', { name: 'Delete', exact: true }).click();
    await ann.page.locator('.bubble.tombstone', { hasText: 'Message deleted' }).waitFor();
    await bob.page.locator('.bubble.tombstone', { hasText: 'Message deleted' }).waitFor();
    assert.equal(await bubble(bob.page, 'take me back').count(), 0);
    await shot(bob.page, 'r03-bob-sees-edit-and-tombstone.png');
  });

  await step('Bob reacts from the picker; Ann sees the count and who reacted, and toggles her own', async () => {
    const menu = await messageMenu(bob.page, 'react to me');
    await menu.getByRole('menuitem', { name: 'React with 👍' }).click();
    const chip = msg(ann.page, 'react to me').locator('.reaction', { hasText: '👍' });
    await chip.locator('.reaction-count', { hasText: '1' }).waitFor();
    assert.equal(await chip.getAttribute('title'), bob.displayName);
    assert.equal(await chip.getAttribute('aria-pressed'), 'false');
    await chip.click();
    await chip.locator('.reaction-count', { hasText: '2' }).waitFor();
    assert.equal(await chip.getAttribute('aria-pressed'), 'true');
    const bobChip = msg(bob.page, 'react to me').locator('.reaction', { hasText: '👍' });
    await bobChip.locator('.reaction-count', { hasText: '2' }).waitFor();
    assert.match(await bobChip.getAttribute('title'), new RegExp(`${bob.displayName.split(' ')[0]}|You`));
    await shot(ann.page, 'r04-reactions.png');
    await ann.page.emulateMedia({ colorScheme: 'dark' });
    await shot(ann.page, 'r04-reactions-dark.png');
    await ann.page.emulateMedia({ colorScheme: 'light' });
    await chip.click();
    await bobChip.locator('.reaction-count', { hasText: '1' }).waitFor();
  });

  await step('the menu works from the keyboard', async () => {
    const row = msg(ann.page, 'react to me');
    await row.getByRole('button', { name: 'Message actions' }).focus();
    await ann.page.keyboard.press('Enter');
    const menu = ann.page.getByRole('menu', { name: 'Message actions' });
    await menu.waitFor();
    assert.equal(await ann.page.evaluate(() => document.activeElement.getAttribute('role')), 'menuitem');
    await ann.page.keyboard.press('ArrowDown');
    await ann.page.keyboard.press('Escape');
    await menu.waitFor({ state: 'hidden' });
    assert.equal(await ann.page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Message actions');
  });

  await step('Bob is away during an edit, a delete and a reaction; RESUME with revs brings them', async () => {
    await bobSocket.cut();
    await ann.page.getByLabel('Message', { exact: true }).fill('');
    let menu = await messageMenu(ann.page, 'react to me');
    await menu.getByRole('menuitem', { name: 'Edit' }).click();
    const box = ann.page.getByRole('textbox', { name: 'Edit message' });
    await box.fill('react to me, edited while Bob was away');
    await box.press('Enter');
    await bubble(ann.page, 'edited while Bob was away').waitFor();
    menu = await messageMenu(ann.page, 'first, edited');
    await menu.getByRole('menuitem', { name: 'React with ❤️' }).click();
    await msg(ann.page, 'first, edited').locator('.reaction', { hasText: '❤️' }).waitFor();
    menu = await messageMenu(ann.page, 'fourth, edited by arrow');
    await menu.getByRole('menuitem', { name: 'Delete…' }).click();
    await menu.getByRole('menuitem', { name: 'Delete', exact: true }).click();
    await ann.page.locator('.bubble.tombstone').nth(1).waitFor();

    await bobSocket.restore();
    await bubble(bob.page, 'react to me, edited while Bob was away').waitFor();
    await msg(bob.page, 'first, edited').locator('.reaction', { hasText: '❤️' }).waitFor();
    assert.equal(await bob.page.locator('.bubble.tombstone').count(), 2);
    assert.equal(await bubble(bob.page, 'fourth, edited by arrow').count(), 0);
    const resume = bobSocket.sent.find((f) => f.type === 'RESUME');
    const roomId = await roomIdOf(bob);
    assert.ok(resume.data.revs[roomId] > 0, `RESUME carries the room's rev: ${JSON.stringify(resume.data)}`);
    assert.equal(changesRequests.length, 0, 'a complete replay needs no changes feed');
    await shot(bob.page, 'r05-bob-caught-up.png');
  });

  await step('when RESUME_OK says the replay was cut, the changes feed brings the rest', async () => {
    await bobSocket.cut();
    const menu = await messageMenu(ann.page, 'first, edited');
    await menu.getByRole('menuitem', { name: 'Edit' }).click();
    const box = ann.page.getByRole('textbox', { name: 'Edit message' });
    await box.fill('first, edited once more');
    await box.press('Enter');
    await bubble(ann.page, 'first, edited once more').waitFor();
    await msg(ann.page, 'first, edited once more').locator('.reaction', { hasText: '❤️' }).click();
    await msg(ann.page, 'first, edited once more').locator('.reaction').waitFor({ state: 'detached' });

    // The proxy drops the replayed MESSAGE_UPDATEDs and says the replay stopped where
    // Bob's revs were, as a server does when the replay's bound cuts it.
    const dropped = [];
    bobSocket.onServer = (f, pass) => {
      if (f.type === 'MESSAGE_UPDATED') return dropped.push(f);
      if (f.type === 'RESUME_OK') {
        const resume = bobSocket.sent.find((x) => x.type === 'RESUME');
        f.data.complete = false;
        f.data.revs = resume.data.revs;
        bobSocket.onServer = null;
      }
      pass(f);
    };
    await bobSocket.restore();
    await bubble(bob.page, 'first, edited once more').waitFor();
    await msg(bob.page, 'first, edited once more').locator('.reaction').waitFor({ state: 'detached' });
    assert.ok(dropped.length >= 1, 'the proxy dropped the replayed MESSAGE_UPDATED');
    assert.ok(changesRequests.length >= 1, 'the changes feed was asked');
    assert.match(changesRequests[0], /afterRev=\d+/);
  });

  ann.check();
  bob.check();
});

test('replies: a quote above the composer and the bubble; the quote scrolls to the target, loading older history', async (t) => {
  const cal = await person(browser, 'Cal');
  const dee = await person(browser, 'Dee');
  t.after(() => Promise.all([cal.context.close(), dee.context.close()]));
  const step = steps(t);

  await step('130 messages', async () => {
    await signUp(cal);
    await signUp(dee);
    await newChat(cal, [dee]);
    const roomId = await roomIdOf(cal);
    for (let i = 1; i <= 130; i++) {
      const r = await api(cal, 'POST', `/rooms/${roomId}/messages`, { clientMsgId: 'seed-' + i, type: 'text', text: `message number ${i}` });
      assert.ok(r.status === 201, `seed ${i}: ${r.status}`);
    }
    await bubble(cal.page, 'message number 130').waitFor();
  });

  await step('Cal replies to the very first message', async () => {
    const menu = await messageMenu(cal.page, /^message number 1$/);
    await menu.getByRole('menuitem', { name: 'Reply' }).click();
    await cal.page.locator('.reply-bar', { hasText: 'message number 1' }).waitFor();
    await shot(cal.page, 'r10-replying.png');
    await send(cal, 'replying to the very first');
    await cal.page.locator('.reply-bar').waitFor({ state: 'hidden' });
    await msg(cal.page, 'replying to the very first').locator('.reply-quote', { hasText: 'message number 1' }).waitFor();
  });

  await step('Dee clicks the quote: older pages load until the target shows', async () => {
    // A fresh page: the messages that arrived live are not held any more.
    await dee.page.reload();
    await connected(dee.page);
    await openRoom(dee, cal.displayName);
    const quote = msg(dee.page, 'replying to the very first').locator('.reply-quote');
    await quote.waitFor();
    await shot(dee.page, 'r11-quote-above-bubble.png');
    assert.equal(await bubble(dee.page, /^message number 1$/).count(), 0, 'the first message is not loaded yet');
    await quote.click();
    const target = msg(dee.page, /^message number 1$/);
    await target.waitFor();
    await dee.page.waitForFunction(() => document.activeElement?.matches('li.msg') && document.activeElement.textContent.includes('message number 1'));
    const inView = await target.evaluate((li) => {
      const a = li.getBoundingClientRect();
      const b = li.closest('.messages').getBoundingClientRect();
      return a.top >= b.top && a.bottom <= b.bottom;
    });
    assert.ok(inView, 'the target is scrolled into view');
    await shot(dee.page, 'r12-jumped-to-target.png');
  });

  await step('the target deleted: the quote says "deleted message"', async () => {
    const roomId = await roomIdOf(cal);
    const first = (await api(cal, 'GET', `/rooms/${roomId}/messages?afterSeq=0&limit=1`)).body.messages[0];
    assert.equal((await api(cal, 'DELETE', `/rooms/${roomId}/messages/${first.id}`)).status, 204);
    await msg(dee.page, 'replying to the very first').locator('.reply-quote.deleted', { hasText: 'deleted message' }).waitFor();
    await msg(cal.page, 'replying to the very first').locator('.reply-quote.deleted', { hasText: 'deleted message' }).waitFor();
  });

  cal.check();
  dee.check();
});

test('mentions: @ completion from the members, highlighted for the reader, a badge in the room list', async (t) => {
  const cat = await person(browser, 'Cat');
  const dan = await person(browser, 'Dan');
  const eve = await person(browser, 'Eve');
  t.after(() => Promise.all([cat.context.close(), dan.context.close(), eve.context.close()]));
  const step = steps(t);

  await step('a group of three; Dan has it open, Eve does not', async () => {
    await signUp(cat);
    await signUp(dan);
    await signUp(eve);
    await newChat(cat, [dan, eve], 'Mention club');
    await dan.page.locator('.room-link', { hasText: 'Mention club' }).waitFor();
    await openRoom(dan, 'Mention club');
    await eve.page.locator('.room-link', { hasText: 'Mention club' }).waitFor();
  });

  await step('Cat mentions Dan by keyboard and Eve by mouse; the send carries their ids', async () => {
    const box = cat.page.getByLabel('Message', { exact: true });
    await box.fill('');
    await box.type('Look @');
    const options = cat.page.getByRole('listbox', { name: 'People to mention' }).getByRole('option');
    await options.nth(1).waitFor();
    assert.equal(await options.count(), 2, 'both other members offered');
    await box.type('Da');
    await options.filter({ hasText: dan.displayName }).waitFor();
    assert.equal(await options.count(), 1);
    await shot(cat.page, 'r20-mention-completion.png');
    await box.press('Enter');
    assert.equal(await box.inputValue(), `Look @${dan.displayName} `);
    await box.type('and @');
    await options.filter({ hasText: eve.displayName }).click();
    await box.type('see this');
    const posted = cat.page.waitForRequest((r) => r.method() === 'POST' && /\/messages$/.test(r.url()));
    await box.press('Enter');
    const body = (await posted).postDataJSON();
    const ids = await Promise.all([dan, eve].map(async (p) => (await api(p, 'GET', '/users/me')).body.id));
    assert.deepEqual([...body.mentions].sort(), [...ids].sort());
    assert.equal(body.text, `Look @${dan.displayName} and @${eve.displayName} see this`);
  });

  await step('Dan sees his mention highlighted', async () => {
    const row = msg(dan.page, 'see this');
    await row.waitFor();
    assert.match(await row.getAttribute('class'), /mentions-me/);
    assert.equal(await row.locator('.mention.mention-me').textContent(), `@${dan.displayName}`);
    assert.equal(await row.locator('.mention:not(.mention-me)').textContent(), `@${eve.displayName}`);
    await shot(dan.page, 'r21-mention-highlighted.png');
  });

  await step('Eve sees a mention badge, from the server after a reload too, gone once she reads', async () => {
    const item = eve.page.locator('.room-link', { hasText: 'Mention club' });
    await item.locator('.mention-badge').waitFor();
    await eve.page.reload();
    await connected(eve.page);
    await item.locator('.mention-badge').waitFor();
    await shot(eve.page, 'r22-mention-badge.png');
    await openRoom(eve, 'Mention club');
    await item.locator('.mention-badge').waitFor({ state: 'detached' });
  });

  await step('in a group, pinning is for its owner or admins: a member sees the refusal, the owner pins', async () => {
    const menu = await messageMenu(dan.page, 'see this');
    await menu.getByRole('menuitem', { name: 'Pin' }).click();
    const alert = dan.page.locator('.room-notice[role="alert"]', { hasText: 'Could not pin the message' });
    await alert.waitFor();
    assert.match(await alert.textContent(), /owner or admin/i);
    assert.equal(await dan.page.locator('.pinned-bar').isVisible(), false);
    await shot(dan.page, 'r23-group-pin-refused.png');
    await alert.getByRole('button', { name: 'Dismiss' }).click();
    await alert.waitFor({ state: 'detached' });
    // Cat created the group, so Cat is its owner.
    const own = await messageMenu(cat.page, 'see this');
    await own.getByRole('menuitem', { name: 'Pin' }).click();
    await dan.page.locator('.pinned-bar', { hasText: 'see this' }).waitFor();
    await shot(dan.page, 'r24-group-pinned-by-owner.png');
  });

  cat.check();
  dan.check();
  eve.check();
});

test('pins: pinned from the menu in a direct room, a bar that jumps to the message', async (t) => {
  const fay = await person(browser, 'Fay');
  const gus = await person(browser, 'Gus');
  t.after(() => Promise.all([fay.context.close(), gus.context.close()]));
  const step = steps(t);

  await step('Fay pins a message; both see the bar', async () => {
    await signUp(fay);
    await signUp(gus);
    await newChat(fay, [gus]);
    await send(fay, 'the address is 12 Elm Street');
    for (let i = 1; i <= 40; i++) await send(fay, `chatter ${i}`);
    await bubble(fay.page, 'chatter 40').waitFor();
    const menu = await messageMenu(fay.page, '12 Elm Street');
    await menu.getByRole('menuitem', { name: 'Pin' }).click();
    await fay.page.locator('.pinned-bar', { hasText: '12 Elm Street' }).waitFor();
    await msg(fay.page, '12 Elm Street').locator('.pinned-mark').waitFor();
    await openRoom(gus, fay.displayName);
    await gus.page.locator('.pinned-bar', { hasText: '12 Elm Street' }).waitFor();
    await shot(gus.page, 'r30-pinned-bar.png');
  });

  await step('the bar jumps to the pinned message', async () => {
    await gus.page.locator('.messages').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await gus.page.getByRole('button', { name: /^Pinned message: the address is 12 Elm Street/ }).click();
    await gus.page.waitForFunction(() => document.activeElement?.matches('li.msg') && document.activeElement.textContent.includes('12 Elm Street'));
    const inView = await msg(gus.page, '12 Elm Street').evaluate((li) => {
      const a = li.getBoundingClientRect();
      const b = li.closest('.messages').getBoundingClientRect();
      return a.top >= b.top && a.bottom <= b.bottom;
    });
    assert.ok(inView);
  });

  await step('Gus unpins: the bar goes on both sides', async () => {
    const menu = await messageMenu(gus.page, '12 Elm Street');
    await menu.getByRole('menuitem', { name: 'Unpin' }).click();
    await gus.page.locator('.pinned-bar').waitFor({ state: 'hidden' });
    await fay.page.locator('.pinned-bar').waitFor({ state: 'hidden' });
  });

  fay.check();
  gus.check();
});

test('delivery: DELIVERED coalesced per room; ✓ sent, ✓✓ delivered, ✓✓ read in direct rooms', async (t) => {
  const hal = await person(browser, 'Hal');
  const ivy = await person(browser, 'Ivy');
  t.after(() => Promise.all([hal.context.close(), ivy.context.close()]));
  const step = steps(t);
  const ivySocket = await proxySocket(ivy);
  let roomId;

  await step('Ivy is away: Hal\'s message shows one tick, "sent"', async () => {
    await signUp(hal);
    await signUp(ivy);
    await newChat(hal, [ivy]);
    roomId = await roomIdOf(hal);
    await ivy.page.locator('.room-link', { hasText: hal.displayName }).waitFor();
    await ivySocket.cut();
    await send(hal, 'are you there?');
    const ticks = msg(hal.page, 'are you there?').locator('.ticks');
    await ticks.and(hal.page.locator('[aria-label="Sent"]')).waitFor();
    assert.equal(await ticks.textContent(), '✓');
    await shot(hal.page, 'r40-tick-sent.png');
  });

  await step('Ivy\'s tab comes back without opening the room: DELIVERED, and ✓✓ "delivered"', async () => {
    await ivySocket.restore();
    const ticks = msg(hal.page, 'are you there?').locator('.ticks');
    await ticks.and(hal.page.locator('[aria-label="Delivered"]')).waitFor();
    assert.equal(await ticks.textContent(), '✓✓');
    const delivered = ivySocket.sent.filter((f) => f.type === 'DELIVERED');
    assert.deepEqual(delivered.map((f) => f.data), [{ roomId, seq: 1 }]);
    await shot(hal.page, 'r41-tick-delivered.png');
  });

  await step('a burst of messages is acknowledged with few DELIVERED frames, 500 ms apart', async () => {
    ivySocket.sent.length = 0;
    for (let i = 1; i <= 12; i++) {
      assert.equal((await api(hal, 'POST', `/rooms/${roomId}/messages`, { clientMsgId: 'burst-' + i, type: 'text', text: `burst ${i}` })).status, 201);
    }
    await msg(hal.page, 'burst 12').locator('.ticks[aria-label="Delivered"]').waitFor();
    const frames = ivySocket.sent.filter((f) => f.type === 'DELIVERED');
    assert.equal(frames[frames.length - 1].data.seq, 13, 'the last DELIVERED names the newest seq');
    assert.ok(frames.length < 12, `${frames.length} DELIVERED frames for 12 messages`);
    for (let i = 1; i < frames.length; i++) {
      assert.ok(frames[i].at - frames[i - 1].at >= 400, `DELIVERED ${i} came ${frames[i].at - frames[i - 1].at} ms after the one before`);
    }
  });

  await step('Ivy opens the room: ✓✓ "read"', async () => {
    await openRoom(ivy, hal.displayName);
    const ticks = msg(hal.page, 'burst 12').locator('.ticks');
    await ticks.and(hal.page.locator('.read[aria-label="Read"]')).waitFor();
    await msg(hal.page, 'are you there?').locator('.ticks.read').waitFor();
    await shot(hal.page, 'r42-tick-read.png');
  });

  await step('a message that came while Ivy had no tab open is delivered when she opens the app', async () => {
    await ivy.page.goto('about:blank');
    await send(hal, 'sent while Ivy had no tab open');
    const ticks = msg(hal.page, 'sent while Ivy had no tab open').locator('.ticks');
    await ticks.and(hal.page.locator('[aria-label="Sent"]')).waitFor();
    ivySocket.sent.length = 0;
    await ivy.page.goto(BASE + '/');
    await ivy.page.locator('.room-link', { hasText: hal.displayName }).locator('.badge', { hasText: '1' }).waitFor();
    await ticks.and(hal.page.locator('[aria-label="Delivered"]')).waitFor();
    // 1 + 12 + this one: seq 14.
    assert.deepEqual(ivySocket.sent.filter((f) => f.type === 'DELIVERED').map((f) => f.data), [{ roomId, seq: 14 }]);
  });

  hal.check();
  ivy.check();
});

test('blocking: Block in a direct room\'s header; a blocked user\'s group messages behind a line', async (t) => {
  const jo = await person(browser, 'Jo');
  const kit = await person(browser, 'Kit');
  const lu = await person(browser, 'Lu');
  t.after(() => Promise.all([jo.context.close(), kit.context.close(), lu.context.close()]));
  const step = steps(t);

  await step('a group of three with a message from each of Kit and Lu', async () => {
    await signUp(jo);
    await signUp(kit);
    await signUp(lu);
    await newChat(lu, [jo, kit], 'Neighbours');
    await send(lu, 'hello from Lu');
    await kit.page.locator('.room-link', { hasText: 'Neighbours' }).waitFor();
    await openRoom(kit, 'Neighbours');
    await send(kit, 'hello from Kit');
    await bubble(lu.page, 'hello from Kit').waitFor();
  });

  await step('Jo blocks Kit from their direct room; it holds after a reload', async () => {
    await newChat(jo, [kit]);
    await jo.page.getByRole('button', { name: `Block ${kit.displayName}` }).click();
    await jo.page.getByRole('button', { name: `Unblock ${kit.displayName}` }).waitFor();
    const kitId = (await api(kit, 'GET', '/users/me')).body.id;
    const blocks = (await api(jo, 'GET', '/users/me/blocks')).body.users.map((u) => u.id);
    assert.deepEqual(blocks, [kitId]);
    await shot(jo.page, 'r50-blocked.png');
    await jo.page.reload();
    await connected(jo.page);
    await jo.page.getByRole('button', { name: `Unblock ${kit.displayName}` }).waitFor();
  });

  await step('in the group, Kit\'s message is behind a line that shows it on click', async () => {
    await openRoom(jo, 'Neighbours');
    await bubble(jo.page, 'hello from Lu').waitFor();
    const line = jo.page.locator('.blocked-line', { hasText: 'Message from a blocked user' });
    await line.waitFor();
    assert.equal(await bubble(jo.page, 'hello from Kit').count(), 0);
    // Nor does the room list show it.
    await jo.page.locator('.room-link', { hasText: 'Neighbours' }).locator('.room-preview', { hasText: 'Message from a blocked user' }).waitFor();
    await shot(jo.page, 'r51-blocked-in-group.png');
    await line.getByRole('button', { name: 'Show the message from a blocked user' }).click();
    await bubble(jo.page, 'hello from Kit').waitFor();
  });

  await step('Jo unblocks Kit', async () => {
    await jo.page.getByRole('link', { name: new RegExp(`^${kit.displayName}`) }).click();
    await jo.page.locator('.chat-title', { hasText: kit.displayName }).waitFor();
    await jo.page.getByRole('button', { name: `Unblock ${kit.displayName}` }).click();
    await jo.page.getByRole('button', { name: `Block ${kit.displayName}` }).waitFor();
    assert.deepEqual((await api(jo, 'GET', '/users/me/blocks')).body.users, []);
  });

  jo.check();
  kit.check();
  lu.check();
});
