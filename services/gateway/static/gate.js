// cloudsms gate: fetches a challenge, lets a Web Worker solve it, redeems
// the solution for a pass cookie and opens the page that was asked for.
(function () {
  "use strict";
  var root = document.getElementById("gate");
  if (!root) { return; }
  var status = document.getElementById("gate-status");
  var bar = document.getElementById("gate-progress");
  var next = root.getAttribute("data-next") || "/";
  if (next.charAt(0) !== "/" || next.charAt(1) === "/" || next.charAt(1) === "\\") { next = "/"; }
  var failed = false;
  function fail() {
    failed = true;
    status.textContent = root.getAttribute("data-failed");
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }
  if (!window.Worker || !window.fetch) { fail(); return; }
  post("/gate/challenge").then(function (challenge) {
    var puzzles = challenge.puzzles || [];
    var started = Date.now();
    var worker = new Worker(root.getAttribute("data-worker"));
    worker.onerror = function () { worker.terminate(); fail(); };
    worker.onmessage = function (event) {
      var message = event.data || {};
      if (typeof message.progress === "number") {
        bar.value = Math.min(99, Math.round(message.progress * 100));
        return;
      }
      worker.terminate();
      if (!message.numbers) { fail(); return; }
      var took = Date.now() - started;
      var payloads = puzzles.map(function (c, i) {
        return btoa(JSON.stringify({
          algorithm: c.algorithm,
          challenge: c.challenge,
          number: message.numbers[i],
          salt: c.salt,
          signature: c.signature,
          took: took
        }));
      });
      post("/gate/pass", { payloads: payloads }).then(function () {
        bar.value = 100;
        status.textContent = root.getAttribute("data-done");
        location.replace(next);
      }, fail);
    };
    worker.postMessage({ puzzles: puzzles });
  }, fail);
  return failed;
})();
