// Message search in the web client: the box above the room list finds messages of the
// reader's rooms by the start of their words (Korean stems too), marks what matched, and a
// result opens its room at the message, loading older history when it is not there yet.
// Screenshots go to artifacts/.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, bubble, launch, newChat, person, roomIdOf, send, shot, signUp } from './helpers.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('search: find a message by the start of a word and open it in its room', async (t) => {
  const ann = await person(browser, 'Ann');
  const bob = await person(browser, 'Bob');
  t.after(() => Promise.all([ann.context.close(), bob.context.close()]));

  await signUp(ann);
  await signUp(bob);
  await newChat(ann, [bob]);
  await send(ann, '서울에서 만나요');
  await send(ann, 'Café at noon?');
  const roomId = await roomIdOf(ann);
  // Enough later messages that the first ones are not in the page a room opens with.
  for (let i = 0; i < 70; i++) {
    const res = await api(ann, 'POST', `/rooms/${encodeURIComponent(roomId)}/messages`, { clientMsgId: `filler-${i}`, text: `filler ${i}` });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  await bubble(ann.page, 'filler 69').waitFor();

  const box = bob.page.getByRole('searchbox', { name: 'Search messages' });
  await box.fill('서울');
  const result = bob.page.locator('.search-result', { hasText: '서울에서 만나요' });
  await result.waitFor();
  assert.equal(await result.locator('mark').first().textContent(), '서울');
  assert.match(await bob.page.locator('.search-status').textContent(), /1 message found/);
  await shot(bob.page, 's01-search-korean.png');

  await box.fill('cafe');
  const cafe = bob.page.locator('.search-result', { hasText: 'Café at noon?' });
  await cafe.waitFor();
  assert.equal(await cafe.locator('mark').first().textContent(), 'Café');

  await box.fill('nothing like this');
  await bob.page.locator('.search-status', { hasText: 'No messages match' }).waitFor();

  await box.fill('서울');
  await result.waitFor();
  await result.getByRole('button').click();
  const target = bubble(bob.page, '서울에서 만나요');
  await target.waitFor();
  // Scrolled into view: its box is inside the conversation's scroller.
  await bob.page.waitForFunction(() => {
    const el = [...document.querySelectorAll('.msg .bubble')].find((b) => b.textContent.includes('서울에서 만나요'));
    const sc = el && el.closest('.messages, .scroller, [class*="scroll"]');
    const r = el && el.getBoundingClientRect();
    return r && r.top >= 0 && r.bottom <= window.innerHeight && (!sc || (r.top >= sc.getBoundingClientRect().top && r.bottom <= sc.getBoundingClientRect().bottom));
  });
  await shot(bob.page, 's02-search-opened.png');

  // Escape brings the room list back.
  await box.press('Escape');
  await bob.page.locator('nav.rooms').waitFor();
  assert.equal(await bob.page.locator('.search-panel').isVisible(), false);

  ann.check();
  bob.check();
});
