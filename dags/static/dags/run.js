/* The run page: draws the run's graph once, then polls status.json for node states and new
 * events until the run is terminal, colouring nodes, drawing the timeline and appending the log.
 * A click on a node opens its attempts and their output in the side panel. */
(function () {
  "use strict";

  function json(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  performance.mark("dagyard-script");
  var page = json("page-data");
  var graph = json("graph-data");
  var status = json("status-data");
  var lastEventId = page.lastEventId;
  var selected = null;
  var cy = null;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function label(state) {
    var text = state.replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function seconds(start, end) {
    return ((Date.parse(end) - Date.parse(start)) / 1000).toFixed(2) + " s";
  }

  function statesOf(nodes) {
    var states = {};
    Object.keys(nodes).forEach(function (id) {
      states[id] = nodes[id].state;
    });
    return states;
  }

  function showRun(data) {
    var badge = document.getElementById("run-state");
    badge.textContent = label(data.state);
    badge.className = "state state-" + data.state;
    var cancel = document.getElementById("cancel-form");
    var retry = document.getElementById("retry-form");
    if (cancel) cancel.hidden = data.terminal;
    if (retry) retry.hidden = page.retryable.indexOf(data.state) < 0;
    var error = document.getElementById("run-error");
    error.textContent = data.error;
    error.hidden = !data.error;
    var total = Object.keys(data.nodes).length;
    var parts = [];
    Object.keys(data.counts).sort().forEach(function (state) {
      parts.push(data.counts[state] + " " + label(state).toLowerCase());
    });
    document.getElementById("run-progress").textContent = total + " nodes: " + parts.join(", ");
    if (data.started_at && data.finished_at) {
      document.getElementById("run-timing").textContent =
        "took " + seconds(data.started_at, data.finished_at);
    }
  }

  function drawTimeline(data) {
    var box = document.getElementById("timeline");
    var rows = Object.keys(data.nodes)
      .map(function (id) {
        return { id: id, node: data.nodes[id] };
      })
      .filter(function (row) {
        return row.node.started_at;
      });
    if (!rows.length) return;
    rows.sort(function (a, b) {
      return Date.parse(a.node.started_at) - Date.parse(b.node.started_at);
    });
    var now = Date.parse(data.finished_at || data.now);
    var start = Date.parse(rows[0].node.started_at);
    if (data.started_at) start = Math.min(start, Date.parse(data.started_at));
    var end = start;
    rows.forEach(function (row) {
      var finished = row.node.finished_at ? Date.parse(row.node.finished_at) : now;
      end = Math.max(end, finished);
    });
    var span = Math.max(end - start, 1);
    var fragment = document.createDocumentFragment();
    var axis = el("div", { class: "tl-row tl-axis" });
    axis.appendChild(el("span", { class: "tl-name" }, ""));
    var scale = el("div", { class: "tl-track" });
    scale.appendChild(el("span", { class: "tl-tick left" }, "0 s"));
    scale.appendChild(el("span", { class: "tl-tick right" }, (span / 1000).toFixed(2) + " s"));
    axis.appendChild(scale);
    fragment.appendChild(axis);
    rows.forEach(function (row) {
      var from = Date.parse(row.node.started_at);
      var to = row.node.finished_at ? Date.parse(row.node.finished_at) : now;
      var line = el("div", { class: "tl-row", "data-node": row.id });
      line.appendChild(el("span", { class: "tl-name", title: row.id }, row.id));
      var track = el("div", { class: "tl-track" });
      var bar = el("div", {
        class: "tl-bar state-bg-" + row.node.state,
        title: row.id + ": " + label(row.node.state) + ", " + ((to - from) / 1000).toFixed(2) + " s",
        style:
          "left:" + ((100 * (from - start)) / span).toFixed(3) + "%;" +
          "width:" + Math.max((100 * (to - from)) / span, 0.3).toFixed(3) + "%",
      });
      track.appendChild(bar);
      line.appendChild(track);
      line.addEventListener("click", function () {
        openNode(row.id);
      });
      fragment.appendChild(line);
    });
    box.replaceChildren(fragment);
  }

  /* Log times in the browser's own time zone, for the lines rendered with the page and for
   * those that arrive later alike. */
  function clock(iso) {
    var time = new Date(iso);
    return time.toTimeString().slice(0, 8) + "." + String(time.getMilliseconds()).padStart(3, "0");
  }

  function appendEvents(events, replace) {
    var body = document.querySelector("#events tbody");
    if (replace) body.replaceChildren();
    events.forEach(function (event) {
      var row = el("tr", { class: "level-" + event.level.toLowerCase() });
      row.appendChild(el("td", { "data-time": event.time }, clock(event.time)));
      row.appendChild(el("td", {}, event.level));
      row.appendChild(el("td", {}, event.node || ""));
      row.appendChild(el("td", {}, event.message));
      body.appendChild(row);
    });
  }

  function renderLog(data) {
    var panel = document.getElementById("node-panel");
    var parts = [];
    var head = el("h2", {}, data.node + " ");
    head.appendChild(el("span", { class: "state state-" + data.state }, data.label));
    parts.push(head);
    if (data.error) parts.push(el("p", { class: "message error" }, data.error));
    if (data.running_attempt) {
      var running = data.running_attempt;
      parts.push(
        el("p", { class: "attempt-running" },
          "Attempt " + running.number + " running" + (running.worker ? " on " + running.worker : "") +
          (running.pid ? " (pid " + running.pid + ")" : ""))
      );
    }
    if (!data.attempts.length && !data.running_attempt) {
      parts.push(el("p", { class: "muted" }, "No attempt has finished yet."));
    }
    data.attempts.forEach(function (attempt) {
      var box = el("div", { class: "attempt" });
      box.appendChild(
        el("h3", {},
          "Attempt " + attempt.number + ": " + (attempt.outcome || "?") +
          " in " + (attempt.duration_seconds === null ? "?" : attempt.duration_seconds.toFixed(3)) + " s" +
          ", exit code " + (attempt.exit_code === null ? "none" : attempt.exit_code) +
          (attempt.worker ? ", on " + attempt.worker : ""))
      );
      var output = attempt.output || "(no output)";
      if (attempt.output_truncated) output += "\n… (output truncated: head and tail kept)";
      box.appendChild(el("pre", { class: "output" }, output));
      parts.push(box);
    });
    panel.replaceChildren.apply(panel, parts);
    panel.dataset.node = data.node;
  }

  function openNode(id) {
    selected = id;
    if (cy) {
      cy.$(":selected").unselect();
      cy.getElementById(id).select();
    }
    var url = page.logUrl.replace("/NODE/", "/" + encodeURIComponent(id) + "/");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json();
      })
      .then(function (data) {
        if (selected === id && !data.error) renderLog(data);
      });
  }

  function apply(data) {
    var before = status;
    status = data;
    DagyardGraph.setStates(cy, statesOf(data.nodes));
    showRun(data);
    drawTimeline(data);
    if (data.events.length) appendEvents(data.events);
    lastEventId = data.last_event_id;
    if (selected && before.nodes[selected] && data.nodes[selected] &&
        (before.nodes[selected].state !== data.nodes[selected].state ||
         data.nodes[selected].state === "running")) {
      openNode(selected);
    }
  }

  /* Once the run is over, the full log (with each attempt's start and end) replaces the lines
   * that arrived while it ran. */
  function reloadLog() {
    fetch(page.runLogUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json();
      })
      .then(function (data) {
        if (data.events) appendEvents(data.events, true);
      });
  }

  function poll() {
    fetch(page.statusUrl + "?after=" + lastEventId, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (data) {
        apply(data);
        if (!data.terminal) window.setTimeout(poll, page.pollMs);
        else reloadLog();
      })
      .catch(function () {
        window.setTimeout(poll, page.pollMs * 3);
      });
  }

  cy = DagyardGraph.draw(document.getElementById("graph"), graph, statesOf(status.nodes));
  performance.mark("dagyard-drawn");
  cy.on("tap", "node", function (event) {
    openNode(event.target.id());
  });
  cy.on("mouseover", "node", function () {
    cy.container().style.cursor = "pointer";
  });
  cy.on("mouseout", "node", function () {
    cy.container().style.cursor = "";
  });
  document.querySelectorAll("#events td[data-time]").forEach(function (cell) {
    cell.textContent = clock(cell.dataset.time);
  });
  showRun(status);
  // The graph paints first (its ready mark is the first callback of the next frame); the
  // timeline and the polling start once that frame is out.
  requestAnimationFrame(function () {
    window.setTimeout(function () {
      drawTimeline(status);
      if (!status.terminal) window.setTimeout(poll, page.pollMs / 2);
    }, 0);
  });
  window.dagyardRunPage = { poll: poll, openNode: openNode };
})();
