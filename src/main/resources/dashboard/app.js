// Live dashboard: polls GET /api/dashboard every second and redraws the sections whose data changed;
// polls GET /api/tasks/{task}/accuracy for each task it lists (a task without feedback less often).
// Every value from the API is written with textContent, never as HTML.
"use strict";

(function () {
  const POLL_MS = 1000;
  const TIMEOUT_MS = 3000;
  const HISTORY = 60; // rate samples in the sparkline: a minute at one poll a second
  // A task without outcomes answers 404, which the browser logs as a failed request: ask it less often.
  const NO_FEEDBACK_RETRY_MS = 5000;
  const TREND = 60; // window accuracies kept per task for its trend line
  const SVG = "http://www.w3.org/2000/svg";
  const UNKNOWN_ROW = "<unknown>"; // the confusion row of unknown answers (docs/feedback.md)
  const drawn = {};
  const rates = [];
  let taskNames = [];
  // task -> { state: "ok" | "none" | "down", view, note, checkedAt, seen, trend: [window accuracy] }
  const accuracy = {};

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "text") node.textContent = value;
      else if (name === "style") Object.assign(node.style, value); // CSSOM: allowed under a strict CSP
      else node.setAttribute(name, value);
    }
    for (const child of children) node.append(child);
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    for (const child of children) node.append(child);
    return node;
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function str(value) {
    return value === undefined || value === null ? "–" : String(value);
  }

  function number(value, digits) {
    return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "–";
  }

  function percent(value) {
    return typeof value === "number" && isFinite(value) ? (100 * value).toFixed(1) + " %" : "–";
  }

  function count(value) {
    return typeof value === "number" && isFinite(value) ? String(value) : "–";
  }

  function time(epochMs) {
    return typeof epochMs === "number" ? new Date(epochMs).toLocaleTimeString() : "–";
  }

  function emptyRow(columns, text) {
    return el("tr", { class: "empty" }, el("td", { colspan: String(columns), text: text }));
  }

  // Redraws a section only when its data changed, so images do not flicker every second.
  function draw(name, data, render) {
    const key = JSON.stringify(data === undefined ? null : data);
    if (drawn[name] === key) return;
    render(data);
    drawn[name] = key;
  }

  function renderTasks(tasks) {
    const root = byId("tasks");
    if (!Array.isArray(tasks) || tasks.length === 0) {
      root.replaceChildren(el("p", { class: "empty", text: "No tasks yet." }));
      return;
    }
    root.replaceChildren(...tasks.map(renderTask));
  }

  function renderTask(task) {
    const classes = Array.isArray(task.classes) ? task.classes : [];
    const most = Math.max(1, ...classes.map((c) => c.examples || 0));
    const rows = classes.map((c) =>
      el("tr", {},
        el("th", { scope: "row", class: "label", text: c.label }),
        el("td", { class: "num", text: str(c.examples) }),
        el("td", { class: "meter", "aria-hidden": "true" },
          el("span", { style: { width: (100 * (c.examples || 0) / most).toFixed(1) + "%" } }))));
    return el("article", { class: "task", "data-task": task.task },
      el("h3", { text: task.task }),
      el("p", { class: "snapshot" },
        "snapshot v", el("strong", { class: "version", text: str(task.version) }),
        " · ", el("span", { class: "method method-" + task.method, text: task.method })),
      el("table", { class: "classes" },
        el("caption", { text: classes.length + " classes, support examples each" }),
        el("tbody", {}, ...rows)));
  }

  function renderConfidence(bins) {
    const root = byId("confidence");
    const list = Array.isArray(bins) ? bins : [];
    const most = Math.max(1, ...list.map((b) => b.count || 0));
    root.replaceChildren(...list.map((bin, i) => {
      const from = i === 0 ? 0 : list[i - 1].upTo;
      const range = number(from, 1) + "–" + number(bin.upTo, 1);
      return el("li", { class: "bar", title: range + ": " + str(bin.count),
                        "aria-label": range + ": " + str(bin.count) + " predictions" },
        el("span", { class: "count", text: str(bin.count) }),
        el("span", { class: "column" },
          el("span", { class: "fill", style: { height: (100 * (bin.count || 0) / most).toFixed(1) + "%" } })),
        el("span", { class: "range", text: number(bin.upTo, 1) }));
    }));
  }

  function thumbnail(p) {
    if (typeof p.thumbnail === "string" && p.thumbnail.startsWith("data:image/")) {
      return el("img", { src: p.thumbnail, alt: "query " + p.queryId, width: "56", height: "56" });
    }
    return el("span", { class: "no-image", title: "no image (embedding query or too large)", text: "–" });
  }

  // An unknown answer (accepted false) shows "unknown", with the nearest registered class beside it.
  function labelCell(p) {
    if (p.accepted === false) {
      return el("td", { class: "label unknown", title: "open-set score " + number(p.openSetScore, 2) + " below the task's threshold" },
        el("span", { class: "unknown-badge", text: "unknown" }),
        el("span", { class: "nearest", text: " (nearest: " + p.label + ")" }));
    }
    return el("td", { class: "label", text: p.label });
  }

  // Unknown answers among the recent predictions, by task, apart from the accepted ones.
  function renderUnknown(recent) {
    const root = byId("unknown");
    const counts = {};
    let total = 0;
    for (const p of Array.isArray(recent) ? recent : []) {
      if (p.accepted === false) {
        counts[p.task] = (counts[p.task] || 0) + 1;
        total++;
      }
    }
    byId("unknown-total").textContent = str(total);
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    if (entries.length === 0) {
      root.replaceChildren(el("div", { class: "empty" }, el("dt", { text: "none" }), el("dd", { text: "0" })));
      return;
    }
    root.replaceChildren(...entries.map(([task, count]) =>
      el("div", { class: "unknown-task" }, el("dt", { text: task }), el("dd", { text: str(count) }))));
  }

  function renderRecent(recent) {
    const root = byId("recent");
    renderUnknown(recent);
    if (!Array.isArray(recent) || recent.length === 0) {
      root.replaceChildren(emptyRow(9, "No predictions yet."));
      return;
    }
    root.replaceChildren(...recent.map((p) =>
      el("tr", { class: p.accepted === false ? "prediction unknown" : "prediction", "data-query-id": p.queryId },
        el("td", {}, thumbnail(p)),
        el("td", { text: p.task }),
        el("td", { class: "query-id", text: p.queryId }),
        labelCell(p),
        el("td", { class: "num", text: percent(p.probability) }),
        el("td", {}, el("span", { class: "method method-" + p.method, text: p.method })),
        el("td", { class: "num", text: str(p.modelVersion) }),
        el("td", { class: "num", text: number(p.latencyMs, 1) + " ms" }),
        el("td", { text: time(p.predictedAt) }))));
  }

  function renderFineTunes(fineTunes) {
    const root = byId("fine-tunes");
    if (!Array.isArray(fineTunes) || fineTunes.length === 0) {
      root.replaceChildren(emptyRow(7, "No fine-tunes yet."));
      return;
    }
    root.replaceChildren(...fineTunes.map((f) =>
      el("tr", { class: "fine-tune" },
        el("td", { text: f.task }),
        el("td", { class: "num", text: str(f.version) }),
        el("td", { text: f.method }),
        el("td", { class: "num", text: number(f.millis / 1000, 2) + " s" }),
        el("td", { class: "num", text: number(f.finalLoss, 3) }),
        el("td", {}, el("span", { class: "outcome outcome-" + f.outcome, text: f.outcome })),
        el("td", { text: time(f.at) }))));
  }

  function renderDeadLetters(deadLetters) {
    const root = byId("dead-letters");
    const entries = Object.entries(deadLetters || {});
    if (entries.length === 0) {
      root.replaceChildren(el("div", { class: "empty" }, el("dt", { text: "none" }), el("dd", { text: "0" })));
      return;
    }
    entries.sort((a, b) => b[1] - a[1]);
    root.replaceChildren(...entries.map(([reason, count]) =>
      el("div", { class: "dead-letter" }, el("dt", { text: reason }), el("dd", { text: str(count) }))));
  }

  function renderRate(rate) {
    byId("rate").textContent = number(rate, 1);
    rates.push(typeof rate === "number" && isFinite(rate) ? rate : 0);
    if (rates.length > HISTORY) rates.shift();
    const most = Math.max(1, ...rates);
    const start = HISTORY - rates.length;
    const points = rates.map((r, i) => (start + i) + "," + (100 - 100 * r / most).toFixed(1));
    document.querySelector("#rate-history polyline").setAttribute("points", points.join(" "));
  }

  function render(data) {
    byId("instance").textContent = data.instance || "–";
    const state = byId("state");
    state.textContent = data.state || "–";
    state.className = "state state-" + String(data.state || "unknown").toLowerCase();
    renderRate(data.predictionsPerSecond);
    draw("tasks", data.tasks, renderTasks);
    taskNames = Array.isArray(data.tasks) ? data.tasks.map((t) => t.task).filter((t) => typeof t === "string") : [];
    draw("confidence", data.confidence, renderConfidence);
    draw("recent", data.recent, renderRecent);
    draw("fineTunes", data.fineTunes, renderFineTunes);
    draw("deadLetters", data.deadLetters, renderDeadLetters);
  }

  // ---- Live accuracy (docs/feedback.md) ----

  function token() {
    const t = sessionStorage.getItem("fewshot-token");
    return t ? { Authorization: "Bearer " + t } : {};
  }

  // 404: the owner has no outcomes of the task; 502 naming that answer: the same, forwarded.
  function noOutcomes(status, error) {
    return status === 404 || (status === 502 && /found none/.test(error));
  }

  async function fetchAccuracy(task) {
    const entry = accuracy[task] || (accuracy[task] = { state: "none", trend: [], seen: null });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      const response = await fetch("api/tasks/" + encodeURIComponent(task) + "/accuracy", {
        cache: "no-store",
        signal: abort.signal,
        headers: token(),
      });
      const body = await response.json().catch(() => null);
      const error = body && typeof body.error === "string" ? body.error : "HTTP " + response.status;
      if (response.ok && body && body.sinceStart && body.window) {
        entry.state = "ok";
        entry.view = body;
        entry.note = "";
        const outcomes = body.sinceStart.overall ? body.sinceStart.overall.outcomes : null;
        const windowAccuracy = body.window.overall ? body.window.overall.accuracy : null;
        if (outcomes !== entry.seen && typeof windowAccuracy === "number") {
          entry.trend.push(windowAccuracy);
          if (entry.trend.length > TREND) entry.trend.shift();
          entry.seen = outcomes;
        }
      } else if (noOutcomes(response.status, error)) {
        entry.state = "none";
        entry.note = error;
      } else {
        entry.state = "down";
        entry.note = response.ok ? "unexpected answer" : error;
      }
    } catch (e) {
      entry.state = "down";
      entry.note = message(e);
    } finally {
      clearTimeout(timer);
      entry.checkedAt = Date.now();
    }
  }

  async function pollAccuracy() {
    try {
      const now = Date.now();
      for (const task of Object.keys(accuracy)) {
        if (!taskNames.includes(task)) delete accuracy[task];
      }
      const due = taskNames.filter((task) => {
        const entry = accuracy[task];
        return !entry || entry.state !== "none" || now - entry.checkedAt >= NO_FEEDBACK_RETRY_MS;
      });
      await Promise.all(due.map(fetchAccuracy));
      // checkedAt left out of what is compared, so a task is redrawn only when its data changed
      const shown = taskNames.map((task) => {
        const e = accuracy[task];
        return [task, e && { state: e.state, view: e.view, note: e.note, trend: e.trend }];
      });
      draw("accuracy", shown, renderAccuracy);
    } catch (e) {
      console.warn("live accuracy: " + message(e));
    } finally {
      setTimeout(pollAccuracy, POLL_MS);
    }
  }

  function renderAccuracy(entries) {
    const root = byId("accuracy");
    if (entries.length === 0) {
      root.replaceChildren(el("p", { class: "empty", text: "No tasks yet." }));
      return;
    }
    root.replaceChildren(...entries.map(([task, entry]) => renderTaskAccuracy(task, entry)));
  }

  function renderTaskAccuracy(task, entry) {
    const article = el("article", { class: "accuracy-task", "data-task": task }, el("h3", { text: task }));
    if (!entry || (entry.state !== "ok" && !entry.view)) {
      const down = entry && entry.state === "down";
      article.append(el("p", {
        class: down ? "no-feedback down" : "no-feedback",
        title: entry && entry.note ? entry.note : "",
        text: down ? "live accuracy not available, retrying" : "no feedback yet",
      }));
      return article;
    }
    const view = entry.view;
    const since = view.sinceStart.overall || {};
    const recent = view.window.overall || {};
    const size = view.window.size;
    article.append(
      el("div", { class: "accuracy-columns" },
        el("div", { class: "accuracy-main" },
          el("p", { class: "headline" },
            el("strong", { class: "window-accuracy", text: percent(recent.accuracy) }),
            " ", el("span", { class: "window-counts", text: count(recent.correct) + " of " + count(recent.outcomes) }),
            el("span", { class: "hint" }, " right in the window of the last ",
              el("span", { class: "window-size", text: count(size) }), " outcomes")),
          el("p", { class: "since" }, "since start ",
            el("strong", { class: "since-accuracy", text: percent(since.accuracy) }),
            " ", el("span", { class: "since-counts", text: count(since.correct) + " of " + count(since.outcomes) }),
            unknownNote(since)),
          trend(entry.trend, size),
          versions(view.sinceStart.byVersion)),
        el("div", { class: "accuracy-side" },
          reliability(since),
          confusion(since.confusion))));
    if (entry.state === "down") {
      article.append(el("p", { class: "no-feedback down", title: entry.note, text: "not updated: " + entry.note }));
    }
    return article;
  }

  function unknownNote(tally) {
    if (!tally.unknownAnswers) return "";
    return el("span", { class: "hint unknown-right" },
      " · unknown answers right: " + count(tally.unknownRight) + " of " + count(tally.unknownAnswers));
  }

  // The window accuracy each time the page saw new outcomes, on a fixed 0–100 % scale.
  function trend(history, size) {
    const points = history.length === 1 ? [history[0], history[0]] : history;
    const step = points.length > 1 ? 100 / (points.length - 1) : 0;
    const coords = points.map((a, i) => (i * step).toFixed(1) + "," + (100 - 100 * a).toFixed(1));
    return el("figure", { class: "trend" },
      svg("svg", { viewBox: "0 0 100 100", preserveAspectRatio: "none", "aria-hidden": "true" },
        svg("line", { class: "half", x1: "0", y1: "50", x2: "100", y2: "50" }),
        svg("polyline", { points: coords.join(" "), "data-samples": String(history.length) })),
      el("figcaption", { class: "hint",
        text: "trend: window accuracy (last " + count(size) + " outcomes) at each of the last " +
              history.length + " updates this page saw; the line in the middle is 50 %" }));
  }

  // Since start, each snapshot version against the one before it: did fine-tuning help?
  function versions(list) {
    const rows = [];
    let previous = null;
    for (const v of Array.isArray(list) ? list : []) {
      let change = el("td", { class: "num change first", text: "–" });
      if (previous && typeof previous.accuracy === "number" && typeof v.accuracy === "number") {
        const points = 100 * (v.accuracy - previous.accuracy);
        const direction = points > 0 ? "up" : points < 0 ? "down" : "same";
        const sign = direction === "up" ? "▲ +" : direction === "down" ? "▼ −" : "= ";
        change = el("td", { class: "num change " + direction,
                            title: "against v" + previous.version + " (" + previous.method + ")",
                            text: sign + Math.abs(points).toFixed(1) + " pts" });
      }
      rows.push(el("tr", { class: "version", "data-version": String(v.version) },
        el("td", { class: "num", text: "v" + str(v.version) }),
        el("td", {}, el("span", { class: "method method-" + v.method, text: str(v.method) })),
        el("td", { class: "num acc", text: percent(v.accuracy) }),
        el("td", { class: "num counts", text: count(v.correct) + " of " + count(v.outcomes) }),
        change));
      previous = v;
    }
    return el("table", { class: "versions" },
      el("caption", { text: "By snapshot version, since start (the latest 16), against the version before" }),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", class: "num", text: "Version" }), el("th", { scope: "col", text: "Method" }),
        el("th", { scope: "col", class: "num", text: "Accuracy" }), el("th", { scope: "col", class: "num", text: "Right" }),
        el("th", { scope: "col", class: "num", text: "Change" }))),
      el("tbody", {}, ...rows));
  }

  // Accuracy per confidence bin; the tick marks the bin's mean confidence (where a calibrated bar ends).
  function reliability(tally) {
    const bins = Array.isArray(tally.reliability) ? tally.reliability : [];
    return el("figure", { class: "reliability" },
      el("figcaption", {}, "Reliability since start, ECE ",
        el("strong", { class: "ece", text: number(tally.ece, 3) })),
      el("ol", { class: "bars" }, ...bins.map((bin) => {
        const range = number(bin.lower, 1) + "–" + number(bin.upper, 1);
        const column = el("span", { class: "column" });
        if (typeof bin.accuracy === "number") {
          column.append(el("span", { class: "fill", style: { height: (100 * bin.accuracy).toFixed(1) + "%" } }));
        }
        if (typeof bin.meanConfidence === "number") {
          column.append(el("span", { class: "confidence", style: { bottom: (100 * bin.meanConfidence).toFixed(1) + "%" } }));
        }
        const said = range + ": " + count(bin.correct) + " of " + count(bin.outcomes) + " right" +
          (typeof bin.meanConfidence === "number" ? ", mean confidence " + number(bin.meanConfidence, 2) : "");
        return el("li", { class: "bar bin", "data-lower": number(bin.lower, 1), title: said, "aria-label": said },
          el("span", { class: "count", text: count(bin.outcomes) }),
          column,
          el("span", { class: "range", text: number(bin.upper, 1) }));
      })),
      el("p", { class: "hint", text: "bar: accuracy of the answers with that confidence; tick: their mean confidence; count above" }));
  }

  // Rows: the answer ("<unknown>" for unknown answers); columns: the true label.
  function confusion(table) {
    const rows = Object.keys(table || {}).sort();
    const columns = [...new Set(rows.flatMap((r) => Object.keys(table[r] || {})))].sort();
    if (rows.length === 0) return el("p", { class: "empty", text: "No confusion table yet." });
    return el("table", { class: "confusion" },
      el("caption", { text: "Confusion since start: answer (row) against true label (column)" }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "answer \\ truth" }),
        ...columns.map((c) => el("th", { scope: "col", class: "num", text: c })))),
      el("tbody", {}, ...rows.map((r) =>
        el("tr", {}, el("th", { scope: "row", class: "label", text: r }),
          ...columns.map((c) => {
            const n = (table[r] || {})[c] || 0;
            // An unknown answer is right when its true label was no class of the model that
            // answered, which the table cannot tell: that row is left uncoloured.
            const kind = r === UNKNOWN_ROW ? " unknown-row" : r === c ? " diagonal" : "";
            return el("td", { class: "num cell" + kind + (n === 0 ? " zero" : ""),
                              "data-predicted": r, "data-true": c, text: String(n) });
          })))));
  }

  // ok: "live"; otherwise what went wrong, in words, with the details in the tooltip.
  function connected(ok, note, why) {
    const node = byId("connection");
    node.textContent = ok ? "live" : note;
    node.title = ok ? "updated " + new Date().toLocaleTimeString() : why;
    node.className = "connection " + (ok ? "live" : "down");
    document.body.classList.toggle("stale", !ok);
  }

  function message(e) {
    return String(e && e.message ? e.message : e);
  }

  async function poll() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    let data;
    try {
      const response = await fetch("api/dashboard", {
        cache: "no-store",
        signal: abort.signal,
        headers: token(),
      });
      if (response.status === 401) {
        // The API wants the bearer token (fewshot.http.auth.token); kept for this tab only.
        const entered = window.prompt("This dashboard wants the API's bearer token:");
        if (entered) sessionStorage.setItem("fewshot-token", entered.trim());
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      data = await response.json();
    } catch (e) {
      connected(false, "disconnected, retrying", message(e));
    }
    try {
      if (data !== undefined) {
        render(data);
        connected(true);
      }
    } catch (e) {
      connected(false, "unexpected answer, retrying", message(e));
    } finally {
      clearTimeout(timer);
      setTimeout(poll, POLL_MS);
    }
  }

  renderTasks([]);
  renderRecent([]);
  renderFineTunes([]);
  renderDeadLetters({});
  renderAccuracy([]);
  poll();
  pollAccuracy();
})();
