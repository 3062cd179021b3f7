/* Saving as one works: a POST of JSON with the page's CSRF token (the X-CSRFToken header
   that Flask-WTF reads), for every script that saves each change at once (markers-editor.js,
   exercise.js).  Load it before them (all deferred, in that order).

   floorplans.saveJSON(url, body, csrfToken) resolves with the answer's JSON, or rejects with
   an Error whose message a person can act on (the server's own, else ours), with .status
   (the answer's HTTP status; 0 when no answer came: no network) and .fields (the server's
   problems with each field, {} when none). */
(function () {
  "use strict";

  function failure(message, status, fields) {
    var error = new Error(message);
    error.status = status;
    error.fields = fields || {};
    return error;
  }

  function saveJSON(url, body, csrfToken) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken || "" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.ok) return data;
        throw failure(data.error || "The change was not saved (the server answered " + response.status + ").",
                      response.status, data.fields);
      });
    }, function () {
      throw failure("No connection: the change was not saved. Try again when the network is back.", 0);
    });
  }

  window.floorplans = window.floorplans || {};
  window.floorplans.saveJSON = saveJSON;
})();
