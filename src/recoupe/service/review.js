(function () {
  'use strict';
  var KEY = 'recoupe-api-key';
  var list = document.getElementById('facts');
  var more = document.getElementById('more');
  var statusLine = document.getElementById('status');
  var summary = document.getElementById('summary');
  var verdictSelect = document.getElementById('verdict');
  var keyForm = document.getElementById('key-form');
  var panel = document.getElementById('fact-panel');
  var body = document.getElementById('fact-body');
  var articles = {};
  var state = {cursor: null, shown: 0, conflicts: 0, group: null, loading: false};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function plural(n, word) { return n + ' ' + word + (n === 1 ? '' : 's'); }
  function say(text) { statusLine.textContent = text || ''; }

  function api(path) {
    var headers = {'Accept': 'application/json'};
    var key = sessionStorage.getItem(KEY);
    if (key) headers['Authorization'] = 'Bearer ' + key;
    return fetch(path, {headers: headers}).then(function (r) {
      if (r.status === 401) {
        keyForm.hidden = false;
        throw new Error('This archive needs an API key.');
      }
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.detail || data.title || ('HTTP ' + r.status));
        return data;
      });
    });
  }

  function article(id) {
    if (!articles[id]) articles[id] = api('/v1/articles/' + encodeURIComponent(id));
    return articles[id];
  }

  function updateSummary() {
    api('/v1/stats').then(function (stats) {
      var f = stats.facts || {};
      summary.textContent = '';
      [stats.articles + ' articles', stats.claims + ' claims',
       (f.conflicting || 0) + ' conflicting', (f.corroborated || 0) + ' corroborated',
       (f.single_source || 0) + ' single source', state.shown + ' facts shown'].forEach(function (t) {
        summary.appendChild(el('span', null, t));
      });
    }).catch(function () {
      summary.textContent = state.shown + ' facts shown · ' + state.conflicts + ' conflicting';
    });
  }

  function factItem(fact) {
    var li = el('li', 'fact verdict-' + fact.verdict);
    li.setAttribute('data-fact-id', fact.id);
    li.tabIndex = 0;
    li.appendChild(el('span', 'badge ' + fact.verdict, fact.verdict));
    li.appendChild(document.createTextNode(' '));
    li.appendChild(el('strong', null, fact.statement));
    var articleIds = {};
    fact.members.forEach(function (m) { articleIds[m.article_id] = true; });
    var n = Object.keys(articleIds).length;
    li.appendChild(el('div', 'meta', plural(fact.members.length, 'claim') + ' from ' + plural(n, 'article') +
      ' · ' + fact.facet + ' · origins: ' + fact.origins.join(', ')));
    return li;
  }

  function loadFacts(reset) {
    if (state.loading) return;
    state.loading = true;
    if (reset) {
      list.textContent = '';
      state.cursor = null; state.shown = 0; state.conflicts = 0; state.group = null;
    }
    var query = ['limit=50'];
    if (verdictSelect.value) query.push('verdict=' + encodeURIComponent(verdictSelect.value));
    if (state.cursor) query.push('cursor=' + encodeURIComponent(state.cursor));
    say('Loading facts…');
    api('/v1/facts?' + query.join('&')).then(function (page) {
      page.facts.forEach(function (fact) {
        var group = fact.verdict === 'conflicting' ? 'Conflicts' : 'Other facts';
        if (group !== state.group) {
          list.appendChild(el('li', 'group', null)).appendChild(el('h2', 'group', group));
          state.group = group;
        }
        list.appendChild(factItem(fact));
        state.shown += 1;
        if (fact.verdict === 'conflicting') state.conflicts += 1;
      });
      state.cursor = page.next_cursor;
      more.hidden = !state.cursor;
      say(state.shown ? '' : 'The archive holds no fact yet.');
      updateSummary();
      document.body.setAttribute('data-facts-loaded', String(state.shown));
    }).catch(function (err) { say(err.message); }).then(function () { state.loading = false; });
  }

  function excerpt(text, span, verdict) {
    var box = el('div', 'excerpt');
    var start = Math.max(0, span.start - 220);
    var end = Math.min(text.length, span.end + 220);
    if (start > 0) { var s = text.indexOf(' ', start); if (s !== -1 && s < span.start) start = s + 1; }
    if (end < text.length) { var e = text.lastIndexOf(' ', end); if (e > span.end) end = e; }
    box.appendChild(document.createTextNode((start > 0 ? '…' : '') + text.slice(start, span.start)));
    box.appendChild(el('mark', 'claim verdict-' + verdict, text.slice(span.start, span.end)));
    box.appendChild(document.createTextNode(text.slice(span.end, end) + (end < text.length ? '…' : '')));
    return box;
  }

  function member(m, verdict) {
    var box = el('div', 'member');
    box.setAttribute('data-claim-id', m.claim.id);
    var where = [m.article_id];
    if (m.outlet) where.push(m.outlet);
    box.appendChild(el('div', 'meta', where.join(' · ') + ' · ' + m.relation + ' · origin: ' + m.origin));
    var slot = el('div', 'excerpt', m.claim.quote);
    box.appendChild(slot);
    box.appendChild(el('div', 'meta', m.claim.text));
    var span = m.claim.span;
    if (span && span.end > span.start) {
      article(m.article_id).then(function (a) {
        if (a.text.slice(span.start, span.end) === m.claim.quote) box.replaceChild(excerpt(a.text, span, verdict), slot);
      }).catch(function () { /* the quote alone stays */ });
    } else {
      slot.appendChild(el('span', 'meta', ' (not found in the text)'));
    }
    return box;
  }

  function openFact(id) {
    say('');
    api('/v1/facts/' + encodeURIComponent(id)).then(function (detail) {
      var fact = detail.fact;
      document.querySelectorAll('li.fact.active').forEach(function (li) { li.classList.remove('active'); });
      document.querySelectorAll('li.fact[data-fact-id="' + CSS.escape(fact.id) + '"]').forEach(function (li) {
        li.classList.add('active');
      });
      body.textContent = '';
      body.setAttribute('data-fact-id', fact.id);
      body.appendChild(el('h2', null, fact.statement));
      var line = el('p');
      line.appendChild(el('span', 'badge ' + fact.verdict, fact.verdict));
      line.appendChild(document.createTextNode(' origins: ' + fact.origins.join(', ') + ' · ' + fact.id));
      body.appendChild(line);
      detail.members.forEach(function (m) { body.appendChild(member(m, fact.verdict)); });
      if (detail.history && detail.history.length) {
        body.appendChild(el('h3', null, 'History'));
        var ul = el('ul', 'history');
        detail.history.forEach(function (h) {
          var change = h.change + (h.verdict_before && h.verdict_before !== h.verdict_after
            ? ' (' + h.verdict_before + ' → ' + h.verdict_after + ')' : ' (' + h.verdict_after + ')');
          var who = h.article_id ? ' by ' + h.article_id : '';
          ul.appendChild(el('li', 'meta', h.at.slice(0, 19).replace('T', ' ') + ' · ' + change + who +
            (h.reason ? ': ' + h.reason : '')));
        });
        body.appendChild(ul);
      }
      panel.hidden = false;
    }).catch(function (err) { say(err.message); });
  }

  list.addEventListener('click', function (event) {
    var li = event.target.closest('li.fact');
    if (li) window.location.hash = 'fact=' + encodeURIComponent(li.getAttribute('data-fact-id'));
  });
  list.addEventListener('keydown', function (event) {
    var li = event.target.closest('li.fact');
    if (li && (event.key === 'Enter' || event.key === ' ')) { event.preventDefault(); li.click(); }
  });
  more.addEventListener('click', function () { loadFacts(false); });
  verdictSelect.addEventListener('change', function () { loadFacts(true); });
  document.getElementById('fact-close').addEventListener('click', function () {
    panel.hidden = true;
    history.replaceState(null, '', window.location.pathname + window.location.search);
  });
  keyForm.addEventListener('submit', function (event) {
    event.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById('key-input').value.trim());
    keyForm.hidden = true;
    articles = {};
    loadFacts(true);
    fromHash();
  });
  // Deep link: /#fact=<id> opens that fact (shareable, and testable headless).
  function fromHash() {
    var m = /^#fact=(.+)$/.exec(window.location.hash);
    if (m) openFact(decodeURIComponent(m[1]));
  }
  window.addEventListener('hashchange', fromHash);
  loadFacts(true);
  fromHash();
})();
