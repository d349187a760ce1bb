// cloudsms gate: solves a proof-of-work challenge (ALTCHA's scheme: find n
// with SHA-256(salt + n) = challenge, n <= maxnumber) off the main thread.
// Plain SHA-256 in JavaScript, so it also works where crypto.subtle does not
// (pages served over plain HTTP); the salt's whole blocks are hashed once.
"use strict";
var K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
]);
var IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
]);
var W = new Int32Array(64);

function compress(H, m, off) {
  var i;
  for (i = 0; i < 16; i++) {
    var j = off + 4 * i;
    W[i] = (m[j] << 24) | (m[j + 1] << 16) | (m[j + 2] << 8) | m[j + 3];
  }
  for (i = 16; i < 64; i++) {
    var w15 = W[i - 15], w2 = W[i - 2];
    var s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    var s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  var a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (i = 0; i < 64; i++) {
    var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    var t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    var t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
  H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
}

function bytesOf(text) {
  if (typeof TextEncoder !== "undefined") { return new TextEncoder().encode(text); }
  var out = new Uint8Array(text.length);
  for (var i = 0; i < text.length; i++) { out[i] = text.charCodeAt(i) & 0xff; }
  return out;
}

// The n <= max with SHA-256(salt + n) = target (64 hex digits), or null.
function solve(salt, target, max, progress) {
  var T = new Int32Array(8);
  for (var t = 0; t < 8; t++) { T[t] = parseInt(target.substr(8 * t, 8), 16) | 0; }
  var saltBytes = bytesOf(salt);
  var whole = saltBytes.length >> 6;
  var mid = new Int32Array(IV);
  for (var b = 0; b < whole; b++) { compress(mid, saltBytes, 64 * b); }
  var tail = saltBytes.length - 64 * whole;
  var msg = new Uint8Array(192);
  msg.set(saltBytes.subarray(64 * whole));
  var H = new Int32Array(8);
  for (var n = 0; n <= max; n++) {
    var digits = String(n);
    var len = tail;
    for (var k = 0; k < digits.length; k++) { msg[len++] = digits.charCodeAt(k); }
    var bits = (saltBytes.length + digits.length) * 8;
    msg[len++] = 0x80;
    var end = ((len + 8 + 63) >> 6) << 6;
    while (len < end - 4) { msg[len++] = 0; }
    msg[end - 4] = bits >>> 24; msg[end - 3] = (bits >>> 16) & 0xff;
    msg[end - 2] = (bits >>> 8) & 0xff; msg[end - 1] = bits & 0xff;
    H.set(mid);
    for (var off = 0; off < end; off += 64) { compress(H, msg, off); }
    if (H[0] === T[0] && H[1] === T[1] && H[2] === T[2] && H[3] === T[3] &&
        H[4] === T[4] && H[5] === T[5] && H[6] === T[6] && H[7] === T[7]) {
      return n;
    }
    if (progress && (n & 0x3fff) === 0) { progress(n / max); }
  }
  return null;
}

function valid(c) {
  return c && c.algorithm === "SHA-256" && typeof c.salt === "string" && c.salt.length <= 512 &&
    /^[0-9a-f]{64}$/.test(c.challenge || "");
}

// Solves the sub-puzzles one after the other; progress covers them all.
if (typeof self !== "undefined" && typeof self.postMessage === "function") {
  self.onmessage = function (event) {
    var puzzles = (event.data && event.data.puzzles) || [];
    var numbers = [];
    for (var i = 0; i < puzzles.length; i++) {
      var c = puzzles[i];
      var number = valid(c) ? solve(c.salt, c.challenge, Number(c.maxnumber) || 0, function (p) {
        self.postMessage({ progress: (i + p) / puzzles.length });
      }) : null;
      if (number === null) {
        self.postMessage({ numbers: null });
        return;
      }
      numbers.push(number);
    }
    self.postMessage({ numbers: puzzles.length ? numbers : null });
  };
}
if (typeof module !== "undefined") { module.exports = { solve: solve }; }
