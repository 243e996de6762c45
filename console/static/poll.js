// Keeps a page live by polling a view: each poll is a short request (no stream holds a server
// thread), answered 304 while the view is unchanged. A login that has ended (logged out
// elsewhere, idle, too old) answers 401: onExpired says so (by default, back to the login form).
function poll(url, onChange, everyMs, onExpired = () => location.reload()) {
  let etag = "";
  async function tick() {
    try {
      const response = await fetch(url, {cache: "no-store", headers: {
        "Accept-Language": document.documentElement.lang, ...(etag ? {"If-None-Match": etag} : {})}});
      if (response.status === 401) { onExpired(); return; }
      if (response.ok) {
        etag = response.headers.get("ETag") || "";
        onChange(await response.json(), response);
      }
    } catch (error) {
      // The network or the server is away for a moment: the next poll tries again.
    }
    setTimeout(tick, everyMs);
  }
  tick();
}
