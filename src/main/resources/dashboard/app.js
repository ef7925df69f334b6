// Live dashboard: polls GET /api/dashboard every second and redraws the sections whose data changed.
// Every value from the API is written with textContent, never as HTML.
"use strict";

(function () {
  const POLL_MS = 1000;
  const TIMEOUT_MS = 3000;
  const HISTORY = 60; // rate samples in the sparkline: a minute at one poll a second
  const drawn = {};
  const rates = [];

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

  function renderRecent(recent) {
    const root = byId("recent");
    if (!Array.isArray(recent) || recent.length === 0) {
      root.replaceChildren(emptyRow(9, "No predictions yet."));
      return;
    }
    root.replaceChildren(...recent.map((p) =>
      el("tr", { class: "prediction", "data-query-id": p.queryId },
        el("td", {}, thumbnail(p)),
        el("td", { text: p.task }),
        el("td", { class: "query-id", text: p.queryId }),
        el("td", { class: "label", text: p.label }),
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
    draw("confidence", data.confidence, renderConfidence);
    draw("recent", data.recent, renderRecent);
    draw("fineTunes", data.fineTunes, renderFineTunes);
    draw("deadLetters", data.deadLetters, renderDeadLetters);
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
      const token = sessionStorage.getItem("fewshot-token");
      const headers = token ? { Authorization: "Bearer " + token } : {};
      const response = await fetch("api/dashboard", {
        cache: "no-store",
        signal: abort.signal,
        headers: headers,
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
  poll();
})();
