// Small DOM helpers. Text from users only ever reaches the page as text nodes or
// textContent: nothing here parses HTML.

// h creates an element. props: class, text, on{event: fn}, dataset{}, and attributes
// (true adds a boolean attribute, false/null/undefined leave it out). Children are nodes,
// strings (added as text) or arrays of them; null and false are skipped.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

// fill replaces el's children, with h's rules for children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// icon clones one of index.html's icon templates.
export function icon(name) {
  const t = document.getElementById('icon-' + name);
  return t ? t.content.firstElementChild.cloneNode(true) : document.createElement('span');
}

// reconcile makes container's children the elements of items, in order, reusing the
// element of each key (so scroll position, focus and running animations survive), with
// make(item) for new keys and update(el, item) for every item.
export function reconcile(container, items, key, make, update) {
  const old = new Map();
  for (const el of container.children) if (el.dataset.key) old.set(el.dataset.key, el);
  let cursor = container.firstElementChild;
  const keep = new Set();
  for (const item of items) {
    const k = key(item);
    keep.add(k);
    let el = old.get(k);
    if (!el) {
      el = make(item);
      el.dataset.key = k;
    }
    if (update) update(el, item);
    if (el !== cursor) container.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const [k, el] of old) if (!keep.has(k)) el.remove();
}

// avatar is a circle of initials in a colour derived from the id.
export function avatar(id, name, size = '') {
  const initials = (name || '?').trim().split(/\s+/).slice(0, 2).map((w) => [...w][0] || '').join('').toUpperCase() || '?';
  let hash = 0;
  for (const ch of id || '') hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const el = h('span', { class: `avatar ${size}`, 'aria-hidden': 'true' }, initials);
  // Through CSSOM, not a style attribute: the page's CSP allows no inline styles.
  el.style.setProperty('--hue', String(hash % 360));
  return el;
}

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dateFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const longDateFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export const formatTime = (d) => timeFmt.format(new Date(d));

export function dayKey(d) {
  const x = new Date(d);
  return `${x.getFullYear()}-${x.getMonth()}-${x.getDate()}`;
}

function daysAgo(d) {
  const a = new Date(d);
  const b = new Date();
  a.setHours(0, 0, 0, 0);
  b.setHours(0, 0, 0, 0);
  return Math.round((b - a) / 86_400_000);
}

// formatDay is the label of a day separator.
export function formatDay(d) {
  const n = daysAgo(d);
  if (n === 0) return 'Today';
  if (n === 1) return 'Yesterday';
  return longDateFmt.format(new Date(d));
}

// formatListTime is the short time of a room list entry.
export function formatListTime(d) {
  const n = daysAgo(d);
  if (n === 0) return formatTime(d);
  if (n === 1) return 'Yesterday';
  return dateFmt.format(new Date(d));
}

// formatLastSeen says when someone was last active, for a presence that is offline.
export function formatLastSeen(t) {
  if (!t) return 'offline';
  const s = Math.round((new Date(t) - Date.now()) / 1000);
  if (s > -60) return 'last seen just now';
  if (s > -3600) return 'last seen ' + relFmt.format(Math.round(s / 60), 'minute');
  if (s > -86400) return 'last seen ' + relFmt.format(Math.round(s / 3600), 'hour');
  return 'last seen ' + dateFmt.format(new Date(t));
}

export function formatSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
