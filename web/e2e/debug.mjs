import { launch, person, signUp, shot, BASE } from './helpers.js';
const b = await launch();
const p = await person(b, 'Zed');
try { await signUp(p); } catch (e) { console.log('ERR', e.message.split('\n')[0]); }
console.log(await p.page.evaluate(() => localStorage.getItem('chatchat.session')));
console.log(await p.page.evaluate(() => document.querySelector('.side-head').outerHTML));
await b.close();
