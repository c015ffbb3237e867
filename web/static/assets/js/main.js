// The entry point: the sign-in screen, or the chat app for a signed-in user (the
// administration page at /admin).

import { adminApp } from './admin.js';
import { Api } from './api.js';
import { chatApp } from './app.js';
import { authView } from './auth.js';

const api = new Api();
const root = document.getElementById('app');
let current = null;

function show() {
  if (current && current.destroy) current.destroy();
  root.replaceChildren();
  if (api.session) {
    current = location.pathname === '/admin' ? adminApp(api) : chatApp(api);
    root.append(current.el);
  } else {
    current = null;
    root.append(authView(api, show));
  }
}

api.addEventListener('signedout', show);
show();
