/**
 * The status page itself: one HTML document with its CSS and script inline (no build step, no CDN, works offline).
 * It polls `api/status` and `api/dead-letters` once a second (relative to the page's path, so it works mounted under a prefix) and
 * builds the DOM with `textContent` only: nothing from events or errors is ever parsed as HTML.
 */
export const pageHtml = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>herald status</title>
<style>
  :root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f8f9fb; --ok: #067647; --warn: #b54708; --bad: #b42318; --accent: #3538cd; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; align-items: center; gap: 16px; padding: 12px 24px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; }
  header .head { color: var(--muted); }
  header .spacer { flex: 1; }
  header input { width: 260px; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
  main { padding: 16px 24px; }
  h2 { font-size: 15px; margin: 20px 0 8px; }
  table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; }
  th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); background: #fcfcfd; }
  td.num { font-variant-numeric: tabular-nums; text-align: right; }
  td:last-child { white-space: nowrap; }
  .state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
  .state.live { background: #ecfdf3; color: var(--ok); }
  .state.running { background: #fffaeb; color: var(--warn); }
  .state.stopped { background: #fef3f2; color: var(--bad); }
  .member { display: block; white-space: nowrap; }
  .muted { color: var(--muted); }
  .error { color: var(--bad); max-width: 420px; overflow-wrap: anywhere; }
  button { font: inherit; padding: 3px 10px; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
  button.primary { border-color: var(--accent); color: var(--accent); }
  button.danger { border-color: var(--bad); color: var(--bad); }
  #notice { margin: 0 0 8px; min-height: 20px; }
  #notice.bad { color: var(--bad); }
  #notice.ok { color: var(--ok); }
  code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
</style>
</head>
<body>
<header>
  <h1>herald</h1>
  <span class="head">head <b id="head">–</b></span>
  <span class="muted" id="updated"></span>
  <span class="spacer"></span>
  <label>token <input id="token" type="password" placeholder="needed for replay, delete, reset" autocomplete="off"></label>
</header>
<main>
  <p id="notice" role="status"></p>
  <h2>Handlers</h2>
  <table id="handlers">
    <thead><tr><th>Handler</th><th>State</th><th>Cursor</th><th>Lag</th><th>Events/s (1 min)</th><th>Slots</th><th>Members (slots held)</th><th>Dead letters</th><th>Last error</th><th></th></tr></thead>
    <tbody></tbody>
  </table>
  <h2>Dead letters</h2>
  <table id="dead-letters">
    <thead><tr><th>Id</th><th>Handler</th><th>Event</th><th>Type</th><th>Stream</th><th>Attempts</th><th>Dead at</th><th>Error</th><th></th></tr></thead>
    <tbody></tbody>
  </table>
</main>
<script>
(() => {
  // Relative to where the page is mounted ('/herald' and '/herald/' alike).
  const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
  const tokenInput = document.getElementById('token');
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) { sessionStorage.setItem('herald-token', fromHash); history.replaceState(null, '', location.pathname + location.search); }
  tokenInput.value = sessionStorage.getItem('herald-token') || '';
  tokenInput.addEventListener('input', () => sessionStorage.setItem('herald-token', tokenInput.value));

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function cell(row, content, className) {
    const td = el('td', undefined, className);
    if (content instanceof Node) td.append(content); else td.textContent = content === undefined ? '' : String(content);
    row.append(td);
    return td;
  }
  function ranges(slots) {
    const parts = []; let start, prev;
    for (const s of slots) {
      if (start !== undefined && s === prev + 1) { prev = s; continue; }
      if (start !== undefined) parts.push(start === prev ? String(start) : start + '-' + prev);
      start = prev = s;
    }
    if (start !== undefined) parts.push(start === prev ? String(start) : start + '-' + prev);
    return parts.join(',');
  }
  function notice(text, ok) {
    const p = document.getElementById('notice');
    p.textContent = text; p.className = ok ? 'ok' : 'bad';
  }
  async function act(method, path, label) {
    const response = await fetch(base + path, { method, headers: { authorization: 'Bearer ' + tokenInput.value } });
    let body = {};
    try { body = await response.json(); } catch {}
    if (response.ok) notice(label + ': ' + (body.message || 'done'), true);
    else notice(label + ' refused (' + response.status + '): ' + (body.error || response.statusText), false);
    refresh();
  }
  function button(text, className, onClick) {
    const b = el('button', text, className);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  function renderHandlers(status, letters) {
    document.getElementById('head').textContent = String(status.head);
    const lastError = new Map();
    for (const d of letters) lastError.set(d.handlerName, d.error.message);
    const body = document.querySelector('#handlers tbody');
    body.replaceChildren();
    for (const h of status.handlers) {
      const row = el('tr');
      row.dataset.handler = h.name;
      cell(row, el('b', h.name));
      cell(row, el('span', h.state, 'state ' + h.state));
      cell(row, h.cursor, 'num');
      cell(row, h.lag, 'num');
      cell(row, h.throughput === undefined ? '–' : h.throughput.toFixed(1), 'num');
      cell(row, h.slots, 'num');
      const members = el('div');
      if (h.members.length === 0) members.append(el('span', 'none', 'muted'));
      for (const m of h.members) members.append(el('span', m.label + ' [' + (ranges(m.slots) || 'standby') + ']', 'member'));
      cell(row, members);
      cell(row, h.deadLetters, 'num');
      cell(row, lastError.get(h.name) || '', 'error');
      cell(row, button('Reset', 'danger', () => {
        if (confirm('Reset ' + h.name + '? Every process stops it and it handles every event again.')) {
          act('POST', 'api/handlers/' + encodeURIComponent(h.name) + '/reset', 'reset ' + h.name);
        }
      }));
      body.append(row);
    }
    if (status.handlers.length === 0) { const row = el('tr'); cell(row, 'no handlers registered', 'muted').colSpan = 10; body.append(row); }
  }

  function renderDeadLetters(letters) {
    const body = document.querySelector('#dead-letters tbody');
    body.replaceChildren();
    for (const d of letters) {
      const row = el('tr');
      row.dataset.id = d.id;
      cell(row, el('code', d.id));
      cell(row, d.handlerName);
      cell(row, d.event.eventNumber, 'num');
      cell(row, d.event.type);
      cell(row, d.event.streamId);
      cell(row, d.attempts, 'num');
      cell(row, new Date(d.deadAt).toLocaleString());
      cell(row, d.error.message, 'error');
      const actions = el('div');
      actions.append(
        button('Replay', 'primary replay', () => act('POST', 'api/dead-letters/' + encodeURIComponent(d.id) + '/replay', 'replay ' + d.id)),
        document.createTextNode(' '),
        button('Delete', 'danger delete', () => act('DELETE', 'api/dead-letters/' + encodeURIComponent(d.id), 'delete ' + d.id)),
      );
      cell(row, actions);
      body.append(row);
    }
    if (letters.length === 0) { const row = el('tr'); cell(row, 'no dead letters', 'muted').colSpan = 9; body.append(row); }
  }

  let busy = false;
  async function refresh() {
    if (busy) return;
    busy = true;
    try {
      const [status, letters] = await Promise.all([
        fetch(base + 'api/status').then((r) => r.json()),
        fetch(base + 'api/dead-letters').then((r) => r.json()),
      ]);
      renderHandlers(status, letters);
      renderDeadLetters(letters);
      document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
      document.body.dataset.loaded = 'true';
    } catch (error) {
      document.getElementById('updated').textContent = 'cannot reach the server: ' + error.message;
    } finally {
      busy = false;
    }
  }
  refresh();
  setInterval(refresh, 1000);
})();
</script>
</body>
</html>
`;
