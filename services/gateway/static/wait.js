// cloudsms: "wait for my code" on a number page (templates/number_wait.html).
// The visitor picks a service or sender (or any code); static/app.js inserts
// live messages and tells of each with a `cloudsms:message` event on the
// list. A matching one is moved on top and highlighted, the tab title
// flashes until the visitor is back, its code is copied when the page has
// focus and the browser allows it, and a notification is shown where the
// visitor allowed those. The choice is kept for the tab (sessionStorage),
// never in a cookie. Text is only ever set with textContent.
(function () {
  "use strict";

  var box = document.getElementById("wait");
  var list = document.getElementById("messages");
  if (!box || !list || !list.getAttribute("data-events")) { return; }
  var select = document.getElementById("wait-for");
  var toggle = document.getElementById("wait-toggle");
  var notify = document.getElementById("wait-notify");
  var status = document.getElementById("wait-status");
  var notifyState = document.getElementById("wait-notify-state");

  // A text of the page's language (data-* on the box), `{name}`s filled in.
  function say(name, values) {
    var text = box.getAttribute("data-" + name) || "";
    Object.keys(values || {}).forEach(function (key) {
      text = text.split("{" + key + "}").join(values[key]);
    });
    return text;
  }

  var storageKey = "cloudsms-wait:" + location.pathname;
  var state = { on: false, choice: "" };
  try {
    var saved = JSON.parse(window.sessionStorage.getItem(storageKey) || "null");
    if (saved) {
      state.on = saved.on === true;
      state.choice = String(saved.choice || "");
    }
  } catch (e) { /* storage blocked: start afresh */ }
  function save() {
    try { window.sessionStorage.setItem(storageKey, JSON.stringify(state)); } catch (e) { /* ignore */ }
  }

  // A kept choice no longer among the recent senders is offered again.
  function choose(value) {
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    if (!known) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      select.appendChild(option);
    }
    select.value = value;
  }

  function show() {
    toggle.setAttribute("aria-pressed", state.on ? "true" : "false");
    toggle.textContent = say(state.on ? "stop" : "start");
    box.classList.toggle("on", state.on);
    status.textContent = !state.on ? "" :
      state.choice ? say("waiting", { service: state.choice }) : say("waiting-any");
  }

  // Notifications: asked for only when the visitor clicks.
  var canNotify = typeof window.Notification === "function";
  function showNotify() {
    if (!canNotify) { return; }
    var permission = window.Notification.permission;
    notify.hidden = permission !== "default";
    notifyState.textContent = permission === "granted" ? say("notify-on") :
      permission === "denied" ? say("notify-denied") : "";
  }
  notify.addEventListener("click", function () {
    var asked = window.Notification.requestPermission(showNotify);
    if (asked && asked.then) { asked.then(showNotify, showNotify); }
  });

  function matches(m) {
    if (!state.on) { return false; }
    if (!state.choice) { return !!m.code; }
    var want = state.choice.trim().toLowerCase();
    return [m.service, m.from].some(function (name) {
      return !!name && String(name).trim().toLowerCase() === want;
    });
  }

  // The title alternates between "(n) Code 123456 — <title>" and the
  // title until the visitor is back (focus, a visible tab, a tap or a key).
  var original = document.title;
  var flashing = null;
  var unseen = 0;
  var headline = "";
  function flash(text) {
    unseen += 1;
    headline = "(" + unseen + ") " + text + " — " + original;
    document.title = headline;
    if (flashing) { return; }
    flashing = setInterval(function () {
      document.title = document.title === headline ? original : headline;
    }, 1000);
  }
  function stopFlashing() {
    if (!flashing) { return; }
    clearInterval(flashing);
    flashing = null;
    unseen = 0;
    document.title = original;
  }
  window.addEventListener("focus", stopFlashing);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { stopFlashing(); }
  });
  document.addEventListener("pointerdown", stopFlashing);
  document.addEventListener("keydown", stopFlashing);

  // Copied by itself only where the page has focus and the browser allows
  // it; else the code's button copies it on a tap.
  function autoCopy(text, said) {
    if (!document.hasFocus() || !navigator.clipboard || !navigator.clipboard.writeText) { return; }
    navigator.clipboard.writeText(text).then(function () {
      status.textContent = said + " · " + say("copied");
    }, function () { /* refused: say nothing */ });
  }

  function notifyOf(m, text) {
    if (!canNotify || window.Notification.permission !== "granted") { return; }
    try {
      var shown = new window.Notification(text, {
        body: (m.from + ": " + m.body).slice(0, 300),
        tag: "cloudsms-wait",
        lang: document.documentElement.lang
      });
      shown.onclick = function () {
        window.focus();
        shown.close();
      };
    } catch (e) { /* where only a service worker may notify (Android): none */ }
  }

  list.addEventListener("cloudsms:message", function (event) {
    var m = event.detail.message;
    var item = event.detail.item;
    if (!matches(m)) { return; }
    list.insertBefore(item, list.firstChild);
    Array.prototype.forEach.call(list.querySelectorAll(".msg.matched"), function (li) {
      li.classList.remove("matched");
    });
    item.classList.add("matched");
    if (item.scrollIntoView) { item.scrollIntoView({ block: "nearest" }); }
    var text = m.code ? say("title-code", { code: m.code }) : say("title-message", { from: m.from });
    flash(text);
    status.textContent = text;
    if (m.code) { autoCopy(m.code_to_enter || m.code, text); }
    notifyOf(m, text);
  });

  toggle.addEventListener("click", function () {
    state.on = !state.on;
    state.choice = select.value;
    save();
    show();
    if (!state.on) { stopFlashing(); }
  });
  select.addEventListener("change", function () {
    state.choice = select.value;
    save();
    show();
  });

  choose(state.choice);
  show();
  showNotify();
  box.hidden = false;
})();
