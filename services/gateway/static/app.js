// cloudsms: live updates, their connection's state and copy buttons.
// Message text is always inserted with textContent, never as HTML: SMS
// bodies are hostile. Each inserted message is told of with a
// `cloudsms:message` event on the list (detail: the API's JSON `message`
// and its `item`), which static/wait.js listens to.
(function () {
  "use strict";

  // Crash beacon: a few reports per page load, to the site only.
  var crashes = 0;
  function report(message, source, line, column, stack) {
    if (crashes >= 5 || !navigator.sendBeacon) { return; }
    crashes += 1;
    var body = JSON.stringify({
      message: String(message || "").slice(0, 1000),
      source: String(source || "").slice(0, 500),
      line: line || 0,
      column: column || 0,
      stack: String(stack || "").slice(0, 4000),
      page: location.pathname
    });
    try { navigator.sendBeacon("/api/v1/crash", new Blob([body], { type: "application/json" })); } catch (e) { /* ignore */ }
  }
  window.addEventListener("error", function (e) {
    report(e.message, e.filename, e.lineno, e.colno, e.error && e.error.stack);
  });
  window.addEventListener("unhandledrejection", function (e) {
    var reason = e.reason || {};
    report(reason.message || String(reason), "", 0, 0, reason.stack);
  });

  // Where the clipboard is refused (an insecure origin, a denied
  // permission), the text is put in a field next to the button, selected,
  // for the visitor to copy by hand.
  function selectForCopy(text, button) {
    var field = button.nextElementSibling;
    if (!field || !field.classList.contains("copy-by-hand")) {
      field = document.createElement("input");
      field.className = "copy-by-hand";
      field.readOnly = true;
      field.setAttribute("aria-label", document.body.dataset.copyByHand || "Copy this text");
      button.parentNode.insertBefore(field, button.nextSibling);
    }
    field.value = text;
    field.size = Math.max(4, text.length);
    field.focus();
    field.select();
  }

  function copy(text, button) {
    var done = function () {
      var old = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", old);
      button.textContent = button.getAttribute("data-copied") || "Copied";
      setTimeout(function () { button.textContent = old; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { selectForCopy(text, button); });
    } else {
      selectForCopy(text, button);
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (target) {
      event.preventDefault();
      copy(target.getAttribute("data-copy"), target);
    }
  });

  // The cookie notice stays closed once acknowledged.
  var notice = document.getElementById("cookie-notice");
  try {
    if (notice && window.localStorage.getItem("cloudsms-cookie-ok") === "1") {
      notice.hidden = true;
    }
  } catch (e) { /* storage blocked: keep showing it */ }
  var ok = document.getElementById("cookie-ok");
  if (ok && notice) {
    ok.addEventListener("click", function () {
      notice.hidden = true;
      try { window.localStorage.setItem("cloudsms-cookie-ok", "1"); } catch (e) { /* ignore */ }
    });
  }

  // Exact times in the visitor's own time zone, after the age.
  function localTime(node) {
    var date = new Date(node.getAttribute("datetime"));
    if (isNaN(date.getTime())) { return; }
    node.title = date.toLocaleString();
    var clock = document.createElement("span");
    clock.className = "clock";
    clock.textContent = " · " + date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    node.parentNode.insertBefore(clock, node.nextSibling);
  }
  Array.prototype.forEach.call(document.querySelectorAll(".msg time[datetime]"), localTime);

  // Ages ("3 min ago") stay true while the page is open: counted as the
  // server counts them (src/i18n.rs), in the page's language, every second
  // while one is under a minute old, else every minute.
  var ageFormats = document.body.dataset;
  function ago(date, now) {
    var secs = Math.max(0, Math.floor((now - date) / 1000));
    var say = function (format, n) { return (format || "").replace("{n}", String(n)); };
    if (secs < 10) { return ageFormats.ageJustNow || "just now"; }
    if (secs < 60) { return say(ageFormats.ageSeconds, secs); }
    if (secs < 3600) { return say(ageFormats.ageMinutes, Math.floor(secs / 60)); }
    if (secs < 86400) { return say(ageFormats.ageHours, Math.floor(secs / 3600)); }
    if (secs < 172800) { return ageFormats.ageDay || ""; }
    return say(ageFormats.ageDays, Math.floor(secs / 86400));
  }
  // A code's validity, where its text gives one: a countdown, then the
  // code greyed out.
  function countdown(node, now) {
    var left = Math.ceil((new Date(node.getAttribute("data-expires")).getTime() - now) / 1000);
    if (isNaN(left)) { return false; }
    var code = node.parentNode && node.parentNode.querySelector(".code");
    if (left <= 0) {
      if (!node.classList.contains("expired")) {
        node.classList.add("expired");
        node.textContent = ageFormats.codeExpired || "expired";
        if (code) { code.classList.add("expired"); }
      }
      return false;
    }
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    var clock = (minutes >= 60 ? Math.floor(minutes / 60) + ":" + ("0" + (minutes % 60)).slice(-2) : String(minutes)) +
      ":" + ("0" + seconds).slice(-2);
    node.textContent = (ageFormats.codeExpiresIn || "expires in {time}").replace("{time}", clock);
    return true;
  }

  var ageTimer = null;
  function refreshAges() {
    var now = Date.now();
    var fast = false;
    Array.prototype.forEach.call(document.querySelectorAll("time.ago[datetime]"), function (node) {
      var date = new Date(node.getAttribute("datetime")).getTime();
      if (isNaN(date)) { return; }
      fast = fast || now - date < 60000;
      var text = ago(date, now);
      if (node.textContent !== text) { node.textContent = text; }
    });
    Array.prototype.forEach.call(document.querySelectorAll(".validity[data-expires]"), function (node) {
      fast = countdown(node, now) || fast;
    });
    clearTimeout(ageTimer);
    ageTimer = setTimeout(refreshAges, fast ? 1000 : 60000);
  }
  refreshAges();

  function each(nodes, f) { Array.prototype.forEach.call(nodes, f); }

  // Number cards (home and country pages): the country and service filter
  // works in place (the form's no-JavaScript path filters on the server).
  var cards = document.getElementById("cards");
  var filter = document.getElementById("card-filter");
  if (cards && filter) {
    var pick = function (name) {
      var field = filter.querySelector("[name=" + name + "]");
      return field ? field.value : "";
    };
    // A page filtered on the server lacks the other cards: widening the
    // filter there asks the server again.
    var complete = !/[?&](country|service)=[^&]/.test(location.search);
    var applyFilter = function () {
      if (!complete) { filter.submit(); return; }
      var country = pick("country");
      var service = pick("service");
      var shown = 0;
      each(cards.querySelectorAll(".card"), function (card) {
        var ok = (!country || card.getAttribute("data-country") === country) &&
          (!service || (" " + card.getAttribute("data-services") + " ").indexOf(" " + service + " ") >= 0);
        card.hidden = !ok;
        if (ok) { shown += 1; }
      });
      var none = document.getElementById("no-match");
      if (none) { none.hidden = shown > 0; }
      var query = [];
      if (country) { query.push("country=" + encodeURIComponent(country)); }
      if (service) { query.push("service=" + encodeURIComponent(service)); }
      try { history.replaceState(null, "", location.pathname + (query.length ? "?" + query.join("&") : "")); } catch (e) { /* ignore */ }
    };
    each(filter.querySelectorAll("select"), function (select) {
      select.addEventListener("change", applyFilter);
    });
    filter.addEventListener("submit", function (event) {
      if (complete) { event.preventDefault(); applyFilter(); }
    });
  }

  // Search as you type: each search field with data-search-api asks the
  // JSON endpoint (debounced) and lists what it found in its data-results
  // list, with textContent only. Without JavaScript the form submits to
  // /search. data-replaces names the server's results, hidden meanwhile.
  function searchField(input) {
    var results = document.getElementById(input.getAttribute("data-results"));
    var replaces = document.getElementById(input.getAttribute("data-replaces") || "");
    if (!results) { return; }
    // The API's links are language-neutral paths; the page's language root
    // (`/zh-CN` or nothing) goes in front.
    var root = input.getAttribute("data-root") || "";
    var timer = null;
    var asked = 0;
    function item(href, text, note) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      li.appendChild(a);
      if (note) {
        var span = document.createElement("span");
        span.className = "muted";
        span.textContent = " " + note;
        li.appendChild(span);
      }
      return li;
    }
    function show(data) {
      while (results.firstChild) { results.removeChild(results.firstChild); }
      data.services.forEach(function (s) { results.appendChild(item(root + s.url, s.label, "")); });
      data.countries.forEach(function (c) { results.appendChild(item(root + c.url, c.flag + " " + c.name, "")); });
      data.numbers.forEach(function (n) {
        results.appendChild(item(root + n.url, n.display, n.country_name + " · " + n.summary));
      });
      if (!results.firstChild) {
        var none = document.createElement("li");
        none.className = "muted";
        none.textContent = input.getAttribute("data-none") || "Nothing found.";
        results.appendChild(none);
      }
      results.hidden = false;
      if (replaces) { replaces.hidden = true; }
    }
    function ask() {
      var q = input.value.trim();
      var mine = ++asked;
      if (!q || q.length > 64) {
        results.hidden = true;
        if (replaces) { replaces.hidden = false; }
        return;
      }
      // Names in the page's language (the API negotiates it).
      fetch(input.getAttribute("data-search-api") + "?q=" + encodeURIComponent(q), {
        credentials: "same-origin",
        headers: { "Accept-Language": document.documentElement.lang || "en" }
      })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data && mine === asked) { show(data); } })
        .catch(function () {});
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        results.hidden = true;
        if (replaces) { replaces.hidden = false; }
      }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("input[data-search-api]"), searchField);

  var list = document.getElementById("messages");
  var events = (list && list.getAttribute("data-events")) || (cards && cards.getAttribute("data-events"));
  if (!events) {
    return;
  }
  var live = document.getElementById("live");
  var empty = document.getElementById("empty");
  var seen = {};
  if (list) {
    each(list.querySelectorAll("[data-id]"), function (li) {
      seen[li.getAttribute("data-id")] = true;
    });
  }
  var labels = list ? {
    code: list.getAttribute("data-label-code") || "Code",
    copy: list.getAttribute("data-label-copy") || "Copy",
    copied: list.getAttribute("data-label-copied") || "Copied",
    fresh: list.getAttribute("data-label-new") || "new",
    justNow: list.getAttribute("data-label-just-now") || "just now",
    report: list.getAttribute("data-label-report") || "Report",
    reportLong: list.getAttribute("data-label-report-long") || "Report this message"
  } : {};

  // As the server shortens a card's preview (src/cards.rs): one line, 80
  // characters.
  function shorten(text, most) {
    var chars = Array.from(String(text).split(/\s+/).filter(Boolean).join(" "));
    if (chars.length <= most) { return chars.join(""); }
    return chars.slice(0, most).join("").replace(/\s+$/, "") + "\u2026";
  }
  function slug(name) {
    // As the server's (src/activity.rs): ASCII letters and digits.
    return String(name).toLowerCase().split(/[^a-z0-9]+/).filter(Boolean).join("-");
  }

  // A new message of a card's number: its last message, age, count of
  // today and online state change in place.
  function updateCard(m) {
    var card = null;
    each(cards.querySelectorAll(".card[data-number]"), function (c) {
      if (c.getAttribute("data-number") === m.number) { card = c; }
    });
    if (!card) { return; }
    var last = card.querySelector(".last");
    if (last) {
      last.textContent = cards.getAttribute("data-card-last") || "last SMS ";
      var time = el("time", "ago", ageFormats.ageJustNow || "just now");
      time.setAttribute("datetime", m.received_at);
      last.appendChild(time);
      last.appendChild(document.createTextNode(" \u00b7 "));
      last.appendChild(el("span", "from", m.from + (m.service ? " \u00b7 " + m.service : "")));
    }
    var preview = card.querySelector(".preview");
    if (preview) { preview.textContent = shorten(m.body, 80); }
    var today = card.querySelector(".today");
    if (today) {
      var count = (parseInt(today.getAttribute("data-count"), 10) || 0) + 1;
      today.setAttribute("data-count", String(count));
      today.textContent = (cards.getAttribute("data-card-today") || "{count} today").replace("{count}", String(count));
    }
    var dot = card.querySelector(".dot");
    if (dot) { dot.classList.add("on"); }
    var state = card.querySelector(".state");
    if (state) { state.textContent = cards.getAttribute("data-card-online") || "online"; }
    if (m.service) {
      var services = (card.getAttribute("data-services") || "").split(" ").filter(Boolean);
      var s = slug(m.service);
      if (s && services.indexOf(s) < 0) { services.push(s); card.setAttribute("data-services", services.join(" ")); }
    }
    card.classList.add("new");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function render(m) {
    var li = el("li", "msg new");
    li.setAttribute("data-id", String(m.id));
    var meta = el("div", "meta");
    var from = el("span", "from", m.from + (m.service ? " · " + m.service : ""));
    var right = el("span", "when");
    right.appendChild(el("span", "badge", labels.fresh));
    right.appendChild(document.createTextNode(" "));
    var time = el("time", "ago", labels.justNow);
    time.setAttribute("datetime", m.received_at);
    right.appendChild(time);
    localTime(time);
    // data-report holds the page language's numbers path, as on the server.
    if (list.getAttribute("data-report") && /^\+\d{1,15}$/.test(m.number) && /^\d{1,19}$/.test(String(m.id))) {
      right.appendChild(document.createTextNode(" · "));
      var report = el("a", "report-link", labels.report);
      report.href = list.getAttribute("data-report") + m.number + "/messages/" + m.id + "/report";
      report.rel = "nofollow";
      report.setAttribute("aria-label", labels.reportLong);
      right.appendChild(report);
    }
    meta.appendChild(from);
    if (list.getAttribute("data-show-number")) {
      var to = el("span", "to");
      var link = el("a", null, m.number);
      // data-show-number holds the page language's numbers path.
      if (/^\+\d{1,15}$/.test(m.number)) { link.href = list.getAttribute("data-show-number") + m.number; }
      to.appendChild(link);
      meta.appendChild(to);
    }
    meta.appendChild(right);
    li.appendChild(meta);
    li.appendChild(el("p", "body", m.body));
    if (m.code) {
      var p = el("p");
      p.appendChild(document.createTextNode(labels.code + ": "));
      var enter = m.code_to_enter || m.code;
      var button = el("button", "code", m.code);
      button.type = "button";
      button.setAttribute("data-copy", enter);
      button.setAttribute("data-copied", labels.copied);
      button.setAttribute("aria-label", labels.copy + " " + enter);
      p.appendChild(button);
      if (enter !== m.code) {
        p.appendChild(document.createTextNode(" "));
        p.appendChild(el("span", "hint", (ageFormats.codeCopies || "copies {code}").replace("{code}", enter)));
      }
      if (m.code_expires_at) {
        p.appendChild(document.createTextNode(" "));
        var validity = el("span", "validity");
        validity.setAttribute("data-expires", m.code_expires_at);
        p.appendChild(validity);
      }
      li.appendChild(p);
    }
    return li;
  }

  function add(m) {
    var key = String(m.id);
    if (seen[key]) { return; }
    seen[key] = true;
    if (cards) { updateCard(m); }
    var item = null;
    if (list) {
      if (empty) { empty.hidden = true; }
      item = render(m);
      list.insertBefore(item, list.firstChild);
    }
    refreshAges();
    if (live) {
      live.textContent = "";
      live.textContent = m.from + ": " + m.body;
    }
    if (item && window.CustomEvent) {
      list.dispatchEvent(new CustomEvent("cloudsms:message", { detail: { message: m, item: item } }));
    }
  }

  // The connection's state, where the page shows it (templates/number_wait.html):
  // "live" while the stream is open, "reconnecting…" while it is not,
  // "last checked hh:mm" at each message, heartbeat or answered poll, and
  // a refresh button that asks the API now.
  var conn = document.getElementById("conn");
  var connState = "";
  function setState(state) {
    if (!conn || state === connState) { return; }
    connState = state;
    conn.setAttribute("data-state", state);
    conn.querySelector(".state").textContent = conn.getAttribute("data-" + state) || state;
    conn.querySelector(".dot").classList.toggle("on", state === "live");
  }
  function checked() {
    if (!conn) { return; }
    var clock = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    conn.querySelector(".checked").textContent =
      (conn.getAttribute("data-checked") || "last checked {time}").replace("{time}", clock);
  }

  var pollTimer = null;
  var api = list && list.getAttribute("data-api");
  function poll() {
    if (!api) { return Promise.resolve(); }
    return fetch(api, { headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (data) {
        data.messages.slice().reverse().forEach(add);
        checked();
      })
      .catch(function () {});
  }
  function startPolling() {
    if (!pollTimer && api) { pollTimer = setInterval(poll, 10000); }
  }

  var refresh = document.getElementById("refresh");
  if (conn && refresh) {
    conn.hidden = false;
    checked();
    refresh.addEventListener("click", function () {
      refresh.disabled = true;
      poll().then(function () { refresh.disabled = false; });
    });
  }

  if (!window.EventSource) {
    setState("polling");
    startPolling();
    return;
  }
  // The stream ends now and then (the server bounds its life); the browser
  // reopens it with Last-Event-ID and gets what it missed. A refused stream
  // (429: too many open) is closed for good: poll, and try again later.
  // The server sends a heartbeat every 15 s: a stream silent for 45 s is
  // dead though not closed (a lost network), and is opened anew.
  var watchdog = null;
  function connect() {
    var source = new EventSource(events);
    var failures = 0;
    function alive() {
      failures = 0;
      setState("live");
      checked();
      clearTimeout(watchdog);
      watchdog = setTimeout(function () {
        source.close();
        setState("reconnecting");
        connect();
      }, 45000);
    }
    source.addEventListener("message", function (event) {
      alive();
      try { add(JSON.parse(event.data)); } catch (e) { /* ignore malformed */ }
    });
    source.addEventListener("heartbeat", alive);
    // An operator hid a message: it leaves the page (and is never added again).
    source.addEventListener("hidden", function (event) {
      alive();
      var id;
      try { id = String(JSON.parse(event.data).id); } catch (e) { return; }
      seen[id] = true;
      each(document.querySelectorAll("[data-id]"), function (el) {
        if (el.getAttribute("data-id") === id && el.parentNode) {
          el.parentNode.removeChild(el);
        }
      });
    });
    source.addEventListener("open", function () {
      alive();
      if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
      poll();
    });
    source.onerror = function () {
      clearTimeout(watchdog);
      setState("reconnecting");
      failures += 1;
      if (source.readyState === EventSource.CLOSED) {
        startPolling();
        setTimeout(connect, 60000);
      } else if (failures >= 3) {
        startPolling();
      }
    };
  }
  connect();
})();
