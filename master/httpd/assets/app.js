// ferry's dashboard: polls /api/ twice a second and updates the page in
// place; draws the throughput chart as an SVG polyline; sends the actions
// with the session's anti-forgery token. Hand-written, no library.
"use strict";

(function () {
  var csrf = document.querySelector('meta[name="csrf"]').content;
  var refresh = function () {};

  function bytes(n) {
    var u = ["B", "KB", "MB", "GB", "TB", "PB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return i === 0 ? Math.round(n) + "B" : n.toFixed(1) + u[i];
  }
  function eta(s) {
    if (s < 0) return "-";
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), x = s % 60;
    return (h ? h + "h" : "") + (h || m ? m + "m" : "") + x + "s";
  }
  function pct(f) { return (f * 100).toFixed(1) + "%"; }
  function set(id, text) { var e = document.getElementById(id); if (e && e.textContent !== String(text)) e.textContent = text; }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function bars() {
    document.querySelectorAll(".fill[data-progress]").forEach(function (f) { f.style.width = pct(+f.dataset.progress); });
  }
  function stamp(ok) { set("updated", ok ? "updated " + new Date().toLocaleTimeString() : "master not answering"); }

  function get(url, fn) {
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { location.href = "/login"; return null; }
      return r.ok ? r.json() : null;
    }).then(function (d) { stamp(!!d); if (d) fn(d); }).catch(function () { stamp(false); });
  }

  function jobRow(j) {
    var tr = el("tr"); tr.dataset.job = j.name;
    var a = el("a", j.name); a.href = "/jobs/" + encodeURIComponent(j.name);
    var td = el("td"); td.appendChild(a); tr.appendChild(td);
    tr.appendChild(el("td", j.state, "state state-" + j.state));
    var bar = el("div", undefined, "bar"), fill = el("div", undefined, "fill");
    fill.dataset.progress = j.progress; bar.appendChild(fill);
    td = el("td"); td.appendChild(bar); td.appendChild(el("span", pct(j.progress), "pct")); tr.appendChild(td);
    tr.appendChild(el("td", j.files_done + "/" + j.files_total, "files"));
    tr.appendChild(el("td", bytes(j.bytes_done) + "/" + bytes(j.bytes_total), "bytes"));
    tr.appendChild(el("td", j.files_failed, "failed"));
    tr.appendChild(el("td", bytes(j.rate_now) + "/s", "rate"));
    tr.appendChild(el("td", eta(j.eta_seconds), "eta"));
    return tr;
  }

  function jobsPage() {
    get("/api/jobs", function (d) {
      var tb = document.querySelector("#jobs tbody");
      var rows = d.jobs.map(jobRow);
      tb.replaceChildren.apply(tb, rows.length ? rows : [tb.querySelector("tr.none") || el("tr")]);
      bars();
    });
  }

  function chart(points) {
    var line = document.getElementById("chart-line");
    if (!line) return;
    if (points.length < 2) { line.setAttribute("points", ""); set("chart-max", ""); return; }
    var t0 = points[0].t, t1 = points[points.length - 1].t, top = 1;
    points.forEach(function (p) { if (p.rate > top) top = p.rate; });
    var span = Math.max(t1 - t0, 1);
    line.setAttribute("points", points.map(function (p) {
      return (600 * (p.t - t0) / span).toFixed(1) + "," + (158 - 150 * p.rate / top).toFixed(1);
    }).join(" "));
    set("chart-max", "max " + bytes(top) + "/s");
  }

  function workerRow(w) {
    var tr = el("tr"); tr.dataset.worker = w.id; tr.dataset.state = w.state;
    tr.appendChild(el("td", w.id)); tr.appendChild(el("td", w.host));
    tr.appendChild(el("td", w.state, "state state-" + w.state));
    tr.appendChild(el("td", bytes(w.rate) + "/s")); tr.appendChild(el("td", w.running));
    tr.appendChild(el("td", w.holds.map(function (h) { return "#" + h.task + " (" + h.files + " files)"; }).join(" ")));
    tr.appendChild(el("td", w.last_seen));
    return tr;
  }
  function failedRow(f) {
    var tr = el("tr");
    tr.appendChild(el("td", f.task)); tr.appendChild(el("td", f.key, "key")); tr.appendChild(el("td", f.reason));
    return tr;
  }

  function jobPage(name) {
    get("/api/jobs/" + encodeURIComponent(name), function (j) {
      var st = document.getElementById("state");
      st.textContent = j.state; st.className = "state state-" + j.state;
      document.getElementById("progress-fill").dataset.progress = j.progress; bars();
      set("files-done", j.files_done); set("files-total", j.files_total);
      set("files-copied", j.files_copied); set("files-skipped", j.files_skipped);
      set("bytes-done", bytes(j.bytes_done)); set("bytes-total", bytes(j.bytes_total));
      var r = document.getElementById("rate-now"); r.dataset.bps = j.rate_now; set("rate-now", bytes(j.rate_now) + "/s");
      set("throughput", bytes(j.throughput) + "/s"); set("eta", eta(j.eta_seconds));
      set("files-failed", j.files_failed); set("failed-total", j.files_failed); set("failed-shown", j.failed_shown);
      set("files-excluded", j.files_excluded); set("files-unchanged", j.files_unchanged); set("files-deleted", j.files_deleted);
      set("round", j.round); set("next-round", j.next_round || "-"); set("scan", j.scan_finished ? "finished" : "running");
      set("limit", j.limit_bytes_per_sec ? bytes(j.limit_bytes_per_sec) + "/s" : "none");
      set("job-error", (j.error || "") + (j.master_error ? " " + j.master_error : ""));
      ["pending", "dispatched", "running", "failed", "succeeded"].forEach(function (k) { set("tasks-" + k, j.tasks[k]); });
      var wb = document.querySelector("#workers tbody"); wb.replaceChildren.apply(wb, j.workers.map(workerRow));
      var fb = document.querySelector("#failed tbody"); fb.replaceChildren.apply(fb, j.failed.map(failedRow));
      chart(j.history);
    });
  }

  // Actions go as fetch POSTs with the token in a header; the answer is
  // shown beside the button.
  function action(form, out, extra, say) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = new URLSearchParams(new FormData(form));
      if (ev.submitter && ev.submitter.name) body.set(ev.submitter.name, ev.submitter.value);
      fetch(form.action, { method: "POST", credentials: "same-origin", headers: { "X-Ferry-Csrf": csrf }, body: body })
        .then(function (r) { return r.json(); })
        .then(function (d) { set(out, d.error ? "error: " + d.error : say(d)); refresh(); })
        .catch(function (e) { set(out, "error: " + e); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bars();
    var page = document.querySelector("[data-page]");
    if (!page) return;
    var tick;
    if (page.dataset.page === "jobs") {
      tick = jobsPage;
    } else {
      var name = page.dataset.job;
      tick = function () { jobPage(name); };
      action(document.getElementById("retry-form"), "retry-result", null, function (d) {
        return d.tasks ? "re-queued " + d.entries + " entries in " + d.tasks + " tasks" : "no failed entries";
      });
      action(document.getElementById("throttle-form"), "throttle-result", null, function (d) {
        return d.bytes_per_sec ? "limited to " + bytes(d.bytes_per_sec) + "/s" : "no limit";
      });
    }
    refresh = tick;
    tick();
    setInterval(tick, 500);
  });
})();
