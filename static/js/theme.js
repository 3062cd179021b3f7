/* Runs in <head>, before the first paint: a night-mode page never flashes white. */
(function () {
  "use strict";
  try {
    if (localStorage.getItem("floorplans-night") === "1") document.documentElement.classList.add("night");
  } catch (e) { /* storage unavailable: day mode */ }
})();
