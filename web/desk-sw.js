// The check-in desk's service worker: the desk page and what it loads are
// kept, so a desk reloaded while the server cannot be reached still opens
// and goes on taking scans into its queue. The network comes first (a
// desk gets a new version as soon as the server has one); the kept copy
// only when the network fails. The API is never kept: answers about
// people come from the server or not at all.
const CACHE = "lanyard-desk-v1";
const SHELL = ["/desk", "/desk.js", "/i18n.js", "/style.css", "/vendor/jsQR.js", "/favicon.svg"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  const key = request.mode === "navigate" ? "/desk" : url.pathname;
  if (!SHELL.includes(key)) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(key, copy)));
          return response;
        }
        return caches.match(key).then((kept) => kept || response);
      })
      .catch(() => caches.match(key).then((kept) => kept || Response.error())),
  );
});
