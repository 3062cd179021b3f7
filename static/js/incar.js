/* The in-car view's behaviour, on every page: night mode, the service worker, the "saved
   copy" notice, sign-out that forgets offline copies, "nearest to me" and printing.  "Keep
   offline" is keep-offline.js (the Find page), which asks here whether the session ended.
   No framework, no inline script (CSP); data comes from data-* attributes and JSON. */
(function () {
  "use strict";
  var body = document.body;
  var root = document.documentElement;

  /* Night mode: one tap, remembered on this device; theme.js applies it before paint. */
  function setNight(on) {
    root.classList.toggle("night", on);
    try { localStorage.setItem("floorplans-night", on ? "1" : "0"); } catch (e) { /* private mode */ }
    document.querySelectorAll("[data-night-toggle]").forEach(function (b) { b.setAttribute("aria-pressed", String(on)); });
  }
  document.querySelectorAll("[data-night-toggle]").forEach(function (button) {
    button.setAttribute("aria-pressed", String(root.classList.contains("night")));
    button.addEventListener("click", function () { setNight(!root.classList.contains("night")); });
  });

  /* How old a copy is, in words a glance can take. */
  function age(ms) {
    var minutes = Math.max(0, Math.round(ms / 60000));
    if (minutes < 1) return "less than a minute ago";
    if (minutes < 60) return minutes + " min ago";
    var hours = Math.round(minutes / 60);
    if (hours < 48) return hours + " h ago";
    return Math.round(hours / 24) + " days ago";
  }
  function clock(date) {
    return date.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit", hour12: false });
  }

  /* A page the service worker served from its cache is marked data-copy="saved". */
  var notice = document.querySelector("[data-saved-copy]");
  function showSavedCopy() {
    if (!notice || body.dataset.copy !== "saved") return;
    var saved = new Date(body.dataset.savedAt || body.dataset.generatedAt);
    if (isNaN(saved.getTime())) saved = new Date(body.dataset.generatedAt);
    notice.textContent = "No connection: saved copy from " + clock(saved) + " (" + age(Date.now() - saved.getTime()) +
      "). It may be out of date.";
    notice.hidden = false;
  }
  showSavedCopy();
  setInterval(showSavedCopy, 30000);

  /* Another account on this laptop (a shift change without signing out): start from nothing. */
  var forgotten = Promise.resolve();
  try {
    var previous = localStorage.getItem("floorplans-user");
    if (body.dataset.copy === "live" && body.dataset.user) {
      if (previous && previous !== body.dataset.user) forgotten = forgetOfflineCopies();
      localStorage.setItem("floorplans-user", body.dataset.user);
    }
  } catch (e) { /* storage unavailable: nothing was kept either */ }

  /* The service worker keeps what was opened; its scope is the in-car view (/r/). */
  if ("serviceWorker" in navigator && body.dataset.sw) {
    forgotten.then(function () {
      return navigator.serviceWorker.register(body.dataset.sw, { scope: body.dataset.swScope });
    }).catch(function () {});
  }

  /* Signing out forgets every offline copy (the server also sends Clear-Site-Data). */
  function forgetOfflineCopies() {
    var work = [];
    if (window.caches) {
      work.push(caches.keys().then(function (names) {
        return Promise.all(names.filter(function (n) { return n.indexOf("floorplans-") === 0; })
          .map(function (n) { return caches.delete(n); }));
      }));
    }
    if ("serviceWorker" in navigator) {
      work.push(navigator.serviceWorker.getRegistrations().then(function (regs) {
        return Promise.all(regs.map(function (r) { return r.unregister(); }));
      }));
    }
    var timeout = new Promise(function (resolve) { setTimeout(resolve, 1500); });
    return Promise.race([Promise.all(work), timeout]);
  }

  /* The session ended on the server (an administrator disabled the account, the login ran
     out, the password was changed on another device): the service worker has deleted what it kept and says
     so; the page's own "keep offline" fetches find out through checkSession.  Either way the
     sign-in page comes next, and nothing more is kept meanwhile. */
  var sessionEnded = false;  // stops "keep offline"
  var leaving = false;
  function showSignIn(loginUrl) {
    if (leaving) return;
    leaving = sessionEnded = true;
    location.assign((loginUrl || "/login") + "?next=" + encodeURIComponent(location.pathname + location.search));
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (!event.data || event.data.type !== "floorplans:signed-out") return;
      sessionEnded = true;
      // When this page's own navigation brought the news, the browser is already on its way
      // to the sign-in page and this page is about to go: let it, rather than compete.
      setTimeout(function () { showSignIn(event.data.login); }, 1000);
    });
  }
  var sessionCheck = null;
  function checkSession() {
    if (!sessionCheck && body.dataset.swScope) {
      sessionCheck = fetch(body.dataset.swScope + "session", { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (!state || state.signed_in !== false) return;
          sessionEnded = true;  // stop keeping at once
          return forgetOfflineCopies().then(function () { showSignIn(state.login_url); });
        })
        .catch(function () {})
        .then(function () { sessionCheck = null; });
    }
    return sessionCheck || Promise.resolve();
  }
  // For keep-offline.js: a run stops as soon as the session is known to have ended.
  window.floorplansSession = { ended: function () { return sessionEnded; }, check: checkSession };

  document.querySelectorAll("form[data-logout]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.cleared) return;
      event.preventDefault();
      forgetOfflineCopies().catch(function () {}).then(function () {
        form.dataset.cleared = "1";
        form.submit();
      });
    });
  });

  /* Nearest to me: the browser knows where the car is; the server ranks the buildings. */
  var nearestButton = document.querySelector("[data-nearest]");
  var nearestBox = document.querySelector("[data-nearest-results]");
  function say(text) {
    nearestBox.textContent = "";
    var p = document.createElement("p");
    p.className = "missing";
    p.textContent = text;
    nearestBox.appendChild(p);
    nearestBox.hidden = false;
  }
  function showNearest(list) {
    nearestBox.textContent = "";
    var heading = document.createElement("h2");
    heading.textContent = "Nearest to you";
    var ul = document.createElement("ul");
    ul.className = "results";
    list.forEach(function (b) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = b.card_url;
      var name = document.createElement("strong");
      name.textContent = b.name;
      var address = document.createElement("span");
      address.textContent = b.address;
      var dist = document.createElement("span");
      dist.className = "dist";
      dist.textContent = b.distance + " " + b.direction;
      a.append(name, address, dist);
      li.appendChild(a);
      ul.appendChild(li);
    });
    nearestBox.append(heading, ul);
    if (!list.length) say("No building with a known location is on record.");
    nearestBox.hidden = false;
  }
  if (nearestButton && nearestBox) {
    nearestButton.addEventListener("click", function () {
      if (!navigator.geolocation) { say("This device cannot tell where it is."); return; }
      say("Finding where you are…");
      navigator.geolocation.getCurrentPosition(function (position) {
        var url = nearestButton.dataset.url + "?lat=" + position.coords.latitude + "&lon=" + position.coords.longitude;
        fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
          .then(function (data) { showNearest(data.buildings); })
          .catch(function () { say("Could not reach the service. Search by name or address instead."); });
      }, function () {
        say("Location is not available (allow it for this site, or search by name or address).");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }

  /* Print & export: a large set takes seconds to print (bench/exports.py), and a download
     fires no event in the page.  While the packet is made the button waits and says so; the
     server answers the file with a cookie holding this form's token, and that ends the wait. */
  var packetForm = document.querySelector("[data-packet-form]");
  if (packetForm) {
    var packetButton = packetForm.querySelector("[data-packet-button]");
    var packetStatus = document.querySelector("[data-packet-status]");
    var packetWait = null;
    var packetSay = function (text) { packetStatus.textContent = text; packetStatus.hidden = !text; };
    var packetDone = function (text) {
      clearInterval(packetWait);
      packetWait = null;
      packetButton.disabled = false;
      packetSay(text);
    };
    packetForm.addEventListener("submit", function () {
      var token = "";
      var bytes = new Uint8Array(12);
      crypto.getRandomValues(bytes);
      bytes.forEach(function (b) { token += ("0" + b.toString(16)).slice(-2); });
      packetForm.querySelector("[data-packet-token]").value = token;
      var floors = Number(packetForm.dataset.floors) || 0;
      // Disabled after the submission has read the form (a disabled button would still send it).
      setTimeout(function () { packetButton.disabled = true; }, 0);
      packetSay("Preparing the packet: the card and " + floors + (floors === 1 ? " floor" : " floors") +
        "… A large set can take a minute.");
      var started = Date.now();
      if (packetWait) clearInterval(packetWait);
      packetWait = setInterval(function () {
        if (document.cookie.split("; ").indexOf("packet_ready=" + token) !== -1) {
          packetDone("The packet is downloaded: see your browser's downloads.");
        } else if (Date.now() - started > 180000) {
          packetDone("");
        }
      }, 250);
    });
  }
})();
