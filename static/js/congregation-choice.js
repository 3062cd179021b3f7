// A form's congregation field once a deployment has too many congregations to list
// (templates/macros/congregation_choice.html): the text field becomes an ARIA 1.2 combobox.
// As the administrator types, the matches (at most twenty, each with its tradition and
// cities, to tell two of a name apart) come from the administrators' JSON route at
// data-choices-url and show as a listbox under the field.  Down and Up move through them
// (Down opens the list), Enter or a click chooses one (its id goes into the hidden
// organisation_id), Escape closes the list.  Typed without choosing, the server finds the
// congregation of the typed name, so the form works without this script.  No inline
// script (CSP).
(function () {
  "use strict";
  // Fewer requests than keystrokes: a fast typist's letters are one question.
  var DELAY_MS = 150;

  function setUp(box) {
    var input = box.querySelector("input[name=organisation_name]");
    var hidden = box.querySelector("[data-congregation-id]");
    var list = box.querySelector("[role=listbox]");
    var status = box.querySelector("[data-congregation-status]");
    var help = box.querySelector("[data-congregation-help]");
    var url = box.getAttribute("data-choices-url");
    var options = [];
    var active = -1;
    // The name of the congregation whose id is in the hidden field: a change of the text
    // makes the choice void, as the server would (it compares the two).
    var chosenName = hidden.value ? input.value : null;
    var timer = null;
    var pending = null;
    var asked = 0;

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    help.textContent = "Type part of its name, then choose it from the list (Down arrow, then Enter)." +
      (input.required ? "" : " Leave it empty for none.");

    function announce(text) {
      status.textContent = text;
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index < 0 || !items[index]) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    }

    function show(found, more, first) {
      options = found;
      list.replaceChildren();
      found.forEach(function (congregation, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.setAttribute("data-index", String(i));
        var name = document.createElement("span");
        name.textContent = congregation.name;
        item.appendChild(name);
        if (congregation.detail) {
          var detail = document.createElement("small");
          detail.textContent = congregation.detail;
          item.appendChild(detail);
        }
        list.appendChild(item);
      });
      if (!found.length) {
        close();
        announce("No congregation's name has words that start like that. Check the spelling.");
        return;
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(first ? 0 : -1);
      announce(found.length + (found.length === 1 ? " congregation" : " congregations") +
        (more ? " shown; more match: type more of the name." : " found."));
    }

    function ask(query, first) {
      if (pending) { pending.abort(); }
      pending = new AbortController();
      var mine = ++asked;
      fetch(url + "?q=" + encodeURIComponent(query), {
        headers: { Accept: "application/json" }, credentials: "same-origin", signal: pending.signal,
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (body) {
        // Only the answer to the latest question, and only while the field is in use.
        if (mine === asked && document.activeElement === input) { show(body.congregations, body.more, first); }
      }).catch(function (error) {
        if (error.name === "AbortError") { return; }
        close();
        announce("The congregations could not be looked up just now: type the full name, then save.");
      });
    }

    function choose(index) {
      var congregation = options[index];
      input.value = congregation.name;
      hidden.value = String(congregation.id);
      chosenName = congregation.name;
      close();
      announce("Chosen: " + congregation.name + (congregation.detail ? " (" + congregation.detail + ")" : "") + ".");
    }

    input.addEventListener("input", function () {
      if (input.value !== chosenName) {
        hidden.value = "";
        chosenName = null;
      }
      clearTimeout(timer);
      var query = input.value.trim();
      if (!query) {
        if (pending) { pending.abort(); }
        asked += 1;
        close();
        announce("");
        return;
      }
      timer = setTimeout(function () { ask(query, false); }, DELAY_MS);
    });

    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) {
          clearTimeout(timer);
          ask(input.value.trim(), true);
        } else {
          highlight(active + 1 >= options.length ? 0 : active + 1);
        }
      } else if (event.key === "ArrowUp") {
        if (open) {
          event.preventDefault();
          highlight(active <= 0 ? options.length - 1 : active - 1);
        }
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();  // a choice, not the form's submission
          choose(active);
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        }
      }
    });

    input.addEventListener("blur", close);
    // A press on the list keeps the focus in the field (no blur closes it first).
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var item = event.target.closest("[role=option]");
      if (item) { choose(Number(item.getAttribute("data-index"))); }
    });
  }

  document.querySelectorAll("[data-congregation-choice]").forEach(setUp);
})();
