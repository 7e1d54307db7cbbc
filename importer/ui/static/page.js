// The page works as plain HTML forms; this adds two things: the import's progress, read every
// half second from /run/<id>/status (so a reload or a second tab shows the same run), and the
// mapping screen's value lists following the column chosen, and the check grid fixed in place. No library.
(function () {
  "use strict";
  var section = document.getElementById("progress");
  if (section && section.dataset.finished !== "yes") {
    var url = section.dataset.status;
    var show = function (s) {
      var bar = document.getElementById("bar");
      bar.max = s.total || 1;
      bar.value = s.done;
      bar.textContent = s.done + " of " + s.total;
      document.getElementById("done").textContent = s.done;
      document.getElementById("total").textContent = s.total;
      document.getElementById("rate").textContent = s.rate_per_minute;
      var left = document.getElementById("left");
      if (left) { left.textContent = s.left; }
      document.getElementById("retries").textContent = s.retries;
      document.getElementById("note").textContent = s.note || (s.stopping ? "Stopping after the request in flight…" : "");
      var parts = [];
      for (var k in s.counts) { parts.push(k + " " + s.counts[k]); }
      document.getElementById("counts-line").textContent = parts.join(" ");
    };
    var failures = 0;
    var gone = function () {
      // The page's program is not answering: say so, and take away a Stop that could do nothing.
      document.getElementById("gone-banner").hidden = false;
      var stop = document.getElementById("stop-form");
      if (stop) { stop.hidden = true; }
    };
    var poll = function () {
      fetch(url, {credentials: "same-origin"}).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      }).then(function (s) {
        failures = 0;
        document.getElementById("gone-banner").hidden = true;
        show(s);
        if (s.finished) { window.location.reload(); } else { window.setTimeout(poll, 500); }
      }).catch(function () {
        failures += 1;
        if (failures >= 3) { gone(); }
        window.setTimeout(poll, 1000);
      });
    };
    window.setTimeout(poll, 300);
  }
  document.querySelectorAll("select[data-field]").forEach(function (select) {
    select.addEventListener("change", function () {
      document.querySelectorAll('fieldset.value-map[data-field="' + select.dataset.field + '"]').forEach(function (f) {
        f.hidden = f.dataset.column !== select.value;
      });
    });
  });
  // The mapping screen: a required field stays marked until something fills it, and the preview of the
  // first rows follows every choice (a pattern typed, a column chosen) a moment after it changes.
  var mapping = document.getElementById("columns-form");
  if (mapping) {
    var mark = function () {
      mapping.querySelectorAll("tr.field[data-required=yes]").forEach(function (row) {
        var name = row.querySelector("select[data-field]").dataset.field;
        var filled = ["column-", "value-", "template-"].some(function (prefix) {
          var input = mapping.querySelector('[name="' + prefix + name + '"]');
          return input && input.value.trim() !== "";
        });
        row.classList.toggle("unmapped", !filled);
      });
    };
    var timer = null;
    var refresh = function () {
      mark();
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        fetch(mapping.dataset.preview, {method: "POST", body: new FormData(mapping), credentials: "same-origin",
                                        headers: {"Accept": "text/html-fragment"}}).then(function (r) {
          return r.ok ? r.text() : null;
        }).then(function (html) {
          var place = document.getElementById("preview");
          if (html && place) { place.outerHTML = html; }
        }).catch(function () {});
      }, 400);
    };
    mapping.addEventListener("change", refresh);
    mapping.addEventListener("input", function (e) { if (e.target.classList.contains("live") || e.target.name.indexOf("value-") === 0) { refresh(); } });
  }
  // The check grid: a cell left (Enter, Tab, a click elsewhere) or a dropdown changed is checked again
  // at once; the rows it concerns and the counts are replaced in place, the page stays where it is.
  var grid = document.getElementById("grid");
  if (grid) {
    document.documentElement.classList.add("live");
    var counts = {valid: "valid-count", invalid: "invalid-count", warnings: "warning-count"};
    var send = function (form) {
      var field = form.querySelector("[name=value]");
      if (field && field.dataset.sent === field.value && !form.classList.contains("suggestion")) { return; }
      if (field) { field.dataset.sent = field.value; }
      var active = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.cell : null;
      grid.setAttribute("aria-busy", "true");
      fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                          headers: {"Accept": "application/json"}}).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      }).then(function (answer) {
        Object.keys(answer.rows).forEach(function (number) {
          var row = document.getElementById("row-" + number);
          if (row) { row.outerHTML = answer.rows[number]; }
        });
        Object.keys(counts).forEach(function (name) {
          var place = document.getElementById(counts[name]);
          if (place) { place.textContent = answer.counts[name]; }
        });
        var fixes = document.getElementById("fix-count");
        if (fixes) { fixes.textContent = answer.counts.fixes; }
        if (active) {
          var again = grid.querySelector('[data-cell="' + active + '"]');
          if (again) { again.focus(); }
        }
        grid.removeAttribute("aria-busy");
      }).catch(function () {
        grid.removeAttribute("aria-busy");
        form.submit();  // the plain way: the server answers with the page
      });
    };
    grid.addEventListener("change", function (e) {
      if (e.target.form && e.target.name === "value") { send(e.target.form); }
    });
    grid.addEventListener("submit", function (e) {
      e.preventDefault();
      send(e.target);
    });
  }
  // Every step that may take more than a moment says so at once: the button pressed reads "Working…" and
  // cannot be pressed twice; a link to the plan or an undo preview shows the banner.
  var working = function () {
    var banner = document.getElementById("working");
    if (banner) { banner.hidden = false; }
  };
  document.addEventListener("submit", function (e) {
    if (e.defaultPrevented || (e.target.closest && e.target.closest("#grid"))) { return; }
    var button = e.submitter;
    working();
    if (button) {
      window.setTimeout(function () { button.disabled = true; button.dataset.label = button.textContent; button.textContent = "Working…"; }, 0);
    }
  });
  document.querySelectorAll('a.slow, a[href*="/plan/"], a[href$="/undo"], a[href$="/publish"]').forEach(function (a) {
    a.addEventListener("click", working);
  });
  window.addEventListener("pageshow", function (e) {
    // Back to a page kept by the browser: nothing is working any more.
    if (e.persisted) {
      var banner = document.getElementById("working");
      if (banner) { banner.hidden = true; }
      document.querySelectorAll("button[data-label]").forEach(function (b) { b.disabled = false; b.textContent = b.dataset.label; });
    }
  });
  var drop = document.getElementById("upload-form");
  if (drop) {
    var input = document.getElementById("file");
    drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      drop.classList.remove("over");
      if (e.dataTransfer.files.length) { input.files = e.dataTransfer.files; drop.submit(); }
    });
  }
})();
