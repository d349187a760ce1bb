// cloudsms report form: before the form is sent, fetches a proof-of-work
// challenge for one report, lets the gate's Web Worker solve it and puts
// the solutions in the form's `pow` field; the server redeems them once.
(function () {
  "use strict";
  var form = document.getElementById("report");
  if (!form || !window.Worker || !window.fetch) { return; }
  var status = document.getElementById("report-status");
  var pow = form.querySelector("input[name=pow]");
  var button = form.querySelector("button[type=submit]");
  var busy = false;
  function fail() {
    busy = false;
    button.disabled = false;
    status.textContent = form.getAttribute("data-failed");
  }
  form.addEventListener("submit", function (event) {
    if (pow.value) { return; }
    event.preventDefault();
    if (busy) { return; }
    busy = true;
    button.disabled = true;
    status.textContent = form.getAttribute("data-working");
    fetch(form.getAttribute("data-challenge"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (challenge) {
      var puzzles = challenge.puzzles || [];
      var started = Date.now();
      var worker = new Worker(form.getAttribute("data-worker"));
      worker.onerror = function () { worker.terminate(); fail(); };
      worker.onmessage = function (message) {
        var data = message.data || {};
        if (typeof data.progress === "number") { return; }
        worker.terminate();
        if (!data.numbers) { fail(); return; }
        var took = Date.now() - started;
        pow.value = puzzles.map(function (c, i) {
          return btoa(JSON.stringify({
            algorithm: c.algorithm,
            challenge: c.challenge,
            number: data.numbers[i],
            salt: c.salt,
            signature: c.signature,
            took: took
          }));
        }).join(",");
        form.submit();
      };
      worker.postMessage({ puzzles: puzzles });
    }).catch(fail);
  });
})();
