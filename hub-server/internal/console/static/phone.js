// Quartierhub phone page: live updates over a WebSocket, a character
// counter and the phase timer. No framework; the page works without it
// (forms post, the server redirects back). The server pushes the whole
// view as JSON; when the phase (the page's structure) changes the page
// reloads, otherwise the lists are rendered again here. A lost socket is
// said on the page and retried with a short backoff. Every text comes
// from the server in the participant's language.
(function () {
  'use strict';
  var root = document.getElementById('phone');
  if (!root) { return; }

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); }); }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function fill(s, n) { return String(s).split('{n}').join(String(n)); }
  function csrf() { var i = document.querySelector('input[name=csrf]'); return i ? i.value : ''; }

  // An idea being typed survives a reload (the phase changed, a form
  // was answered): kept per page in this tab only.
  var text = $('idea-text'), draftKey = 'qh-draft:' + location.pathname;
  if (text) {
    try {
      // Forgotten only once the server said the idea is in.
      if (/[?&]ok=idea\b/.test(location.search)) { sessionStorage.removeItem(draftKey); }
      var kept = sessionStorage.getItem(draftKey);
      if (kept && !text.value) { text.value = kept; }
    } catch (e) { /* storage off: nothing kept */ }
  }

  // Characters left, said where the field's description is.
  var chars = $('idea-chars');
  if (text && chars) {
    var max = Number(chars.getAttribute('data-max')) || 280;
    var tmpl = chars.getAttribute('data-left');
    var count = function () {
      var n = Array.from(text.value).length;
      chars.textContent = fill(tmpl, max - n);
      chars.classList.toggle('over', n > max);
      try { sessionStorage.setItem(draftKey, text.value); } catch (e) { /* ignore */ }
    };
    text.addEventListener('input', count);
    count();
  }

  // The timer says minutes left and the time of day; it never acts.
  var timer = $('timer');
  function tick() {
    if (!timer) { return; }
    var ends = Number(timer.getAttribute('data-ends'));
    if (!ends) { timer.hidden = true; return; }
    timer.hidden = false;
    var left = ends - Date.now();
    if (left <= 0) { timer.textContent = timer.getAttribute('data-over'); return; }
    var at = new Date(ends);
    var hm = String(at.getHours()).padStart(2, '0') + ':' + String(at.getMinutes()).padStart(2, '0');
    timer.textContent = timer.getAttribute('data-tmpl').split('{minutes}').join(String(Math.ceil(left / 60000))).split('{at}').join(hm);
  }
  if (timer && timer.getAttribute('data-tmpl')) { tick(); setInterval(tick, 15000); }

  function renderList(ul, items, empty) {
    ul.textContent = '';
    if (!items.length && empty) { ul.appendChild(el('li', { 'class': 'muted' }, empty)); }
    items.forEach(function (li) { ul.appendChild(li); });
  }

  function renderThemes(v) {
    var box = $('themes');
    if (!box) { return; }
    box.textContent = '';
    v.themes.forEach(function (t) {
      var s = el('section', { 'class': 'theme' });
      s.appendChild(el('h3', null, t.name));
      var ul = el('ul');
      renderList(ul, t.ideas.map(function (i) { return el('li', null, i); }), v.words.empty_theme);
      s.appendChild(ul);
      box.appendChild(s);
    });
    if (v.unsorted.length) {
      var s = el('section', { 'class': 'theme unsorted' });
      s.appendChild(el('h3', null, v.words.unsorted));
      var ul = el('ul');
      renderList(ul, v.unsorted.map(function (i) { return el('li', null, i); }));
      s.appendChild(ul);
      box.appendChild(s);
    }
  }

  function form(action, fields, label, cls, describedBy) {
    var f = el('form', { method: 'post', action: action, 'class': cls });
    fields.csrf = csrf();
    Object.keys(fields).forEach(function (k) { f.appendChild(el('input', { type: 'hidden', name: k, value: fields[k] })); });
    var b = el('button', { type: 'submit', 'aria-describedby': describedBy }, label);
    if (cls === 'add') { b.className = 'primary'; } else { b.className = 'take'; }
    f.appendChild(b);
    return f;
  }

  function renderVote(v) {
    var box = $('vote');
    if (!box || !v.vote) { return; }
    var vote = v.vote, base = '/w/' + encodeURIComponent(v.code);
    $('dots-left').firstChild.textContent = vote.left_text;
    $('dots-summary').textContent = vote.summary;
    var focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('li.item');
    var focusedID = focused ? focused.id : '';
    renderList($('items'), vote.items.map(function (it) {
      var li = el('li', { 'class': 'item', id: 'item-' + it.id });
      li.appendChild(el('p', { 'class': 'item-text', id: 't-' + it.id }, it.text));
      if (it.total >= 0) { li.appendChild(el('p', { 'class': 'total' }, fill(v.words.total, it.total))); }
      if (it.mine.length) {
        var ul = el('ul', { 'class': 'mydots' });
        it.mine.forEach(function (d) {
          var dl = el('li');
          dl.appendChild(el('span', { 'class': 'dot dot-' + d.status }, d.word));
          dl.appendChild(document.createTextNode(' '));
          dl.appendChild(form(base + '/dots/take', { dot: d.id, item: it.id }, v.words.take, 'inline', 't-' + it.id));
          ul.appendChild(dl);
        });
        li.appendChild(ul);
      }
      if (it.can_add) { li.appendChild(form(base + '/dots', { round: String(vote.round), item: it.id }, v.words.add, 'add', 't-' + it.id)); }
      return li;
    }));
    // Keep the keyboard where it was: the item's first button.
    if (focusedID && $(focusedID)) { var b = $(focusedID).querySelector('button'); if (b) { b.focus(); } }
  }

  function renderResults(v) {
    var box = $('results');
    if (!box) { return; }
    box.textContent = '';
    v.results.forEach(function (r) {
      var s = el('section', { 'class': 'results' });
      s.appendChild(el('h2', null, fill(v.words.round, r.round)));
      var ol = el('ol', { 'class': 'ranking' });
      r.items.forEach(function (it) {
        var li = el('li');
        li.appendChild(el('span', { 'class': 'rank' }, it.rank + '.'));
        li.appendChild(document.createTextNode(' '));
        li.appendChild(el('span', { 'class': 'rtext' }, it.text));
        li.appendChild(document.createTextNode(' '));
        li.appendChild(el('span', { 'class': 'rdots' }, fill(v.words.total, it.dots)));
        if (it.near_tie) { li.appendChild(document.createTextNode(' ')); li.appendChild(el('span', { 'class': 'tag' }, v.words.near_tie)); }
        ol.appendChild(li);
      });
      s.appendChild(ol);
      box.appendChild(s);
    });
  }

  var leaving = false; // the page is being replaced: a closing socket is no loss
  function apply(v) {
    if (v.key !== root.getAttribute('data-key')) {
      leaving = true;
      location.replace(location.pathname); // the phase changed: the server renders the new one
      return;
    }
    if (timer) { timer.setAttribute('data-ends', String(v.phase.ends_at || 0)); tick(); }
    var c = $('idea-count');
    if (c) { c.textContent = v.idea_count_text; }
    var mine = $('mine');
    if (mine) {
      renderList(mine, v.mine.map(function (i) {
        var li = el('li', null, i.text);
        if (i.status) { li.appendChild(document.createTextNode(' ')); li.appendChild(el('span', { 'class': 'tag' }, i.status)); }
        return li;
      }), v.words.no_ideas);
    }
    renderThemes(v);
    renderVote(v);
    renderResults(v);
    root.setAttribute('data-live-state', 'live');
  }

  var live = root.getAttribute('data-live');
  if (!live || !window.WebSocket) { return; }

  // A lost socket is said twice: once in the status region (announced
  // politely; focus stays where it is) and beside the forms, where a
  // participant is about to send. A blip shorter than lostAfter (a
  // reconnect that works at once) says nothing.
  var status = $('phone-status'), lostShown = false, lostTimer = 0, lostAfter = 1500;
  function showLost(on) {
    if (on === lostShown) { return; }
    lostShown = on;
    Array.prototype.forEach.call(document.querySelectorAll('[data-live-lost]'), function (n) { n.hidden = !on; });
    if (!status) { return; }
    if (on) {
      // The line replaces an earlier "done": that was true when said, but
      // the page no longer knows what the hub holds.
      status.textContent = '';
      status.appendChild(el('p', { 'class': 'live-lost', id: 'live-lost' }, status.getAttribute('data-lost')));
    } else {
      var p = $('live-lost');
      if (p) { p.remove(); }
    }
  }

  // Reconnect after a step that starts at 0.5 s and doubles up to 5 s,
  // waiting between half and all of it (jitter: a room of phones does
  // not knock at a restarted hub all at once). The server sends the
  // whole current view on every new socket, so nothing is missed.
  var stepMin = 500, stepMax = 5000, step = stepMin, retryTimer = 0, ws = null;
  function connect() {
    retryTimer = 0;
    ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + live);
    ws.onmessage = function (e) {
      var m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (m && m.type === 'view') {
        // Only a view proves the hub is back (a socket that opens and
        // closes at once keeps backing off).
        step = stepMin;
        clearTimeout(lostTimer);
        lostTimer = 0;
        showLost(false);
        apply(m.view);
      }
    };
    ws.onclose = function () {
      ws = null;
      if (leaving) { return; } // the page is being replaced: not a loss
      root.setAttribute('data-live-state', 'off');
      if (!lostShown && !lostTimer) { lostTimer = setTimeout(function () { lostTimer = 0; showLost(true); }, lostAfter); }
      retryTimer = setTimeout(connect, step / 2 + Math.random() * step / 2);
      step = Math.min(step * 2, stepMax);
    };
  }
  // The network or the screen came back: try now, not after the step.
  function tryNow() {
    if (retryTimer && !leaving) { clearTimeout(retryTimer); connect(); }
  }
  window.addEventListener('online', tryNow);
  document.addEventListener('visibilitychange', function () { if (!document.hidden) { tryNow(); } });
  window.addEventListener('pagehide', function () { leaving = true; });
  window.addEventListener('pageshow', function (e) {
    // Back from the back-forward cache: the socket is gone, reconnect.
    if (e.persisted) { leaving = false; if (!ws && !retryTimer) { connect(); } }
  });
  connect();
}());
