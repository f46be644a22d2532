// When the session ends (idle timeout, logout in another tab, account disabled, password changed)
// the server answers Dash's requests with 401. Send the browser to the login page, coming back
// to the same view afterwards, instead of leaving a page whose controls silently do nothing.
(function () {
  var originalFetch = window.fetch;
  if (!originalFetch) {
    return;
  }
  var leaving = false;
  window.fetch = function () {
    return originalFetch.apply(this, arguments).then(function (response) {
      if (response.status === 401 && !leaving && /\/_dash-/.test(response.url || "")) {
        leaving = true;
        var here = window.location.pathname + window.location.search;
        window.location.assign("/login?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
