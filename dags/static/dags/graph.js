/* Draws a DAG with Cytoscape.js in a layered left-to-right layout (dagre), nodes coloured by state.
 *
 * DagyardGraph.draw(container, {nodes: [id, ...], parents: {id: [parent, ...]}}, {id: state})
 * returns the Cytoscape instance, also kept as window.dagyardGraph. Once the layout is done and
 * the first frame painted, window.dagyardGraphReadyAt holds performance.now(). Graphs up to
 * DAGRE_LIMIT nodes are laid out by dagre; larger ones by layeredPositions below.
 */
(function () {
  "use strict";

  var COLOURS = {
    none: "#dfe4ea",
    pending: "#dfe4ea",
    queued: "#a9c7f2",
    waiting_resources: "#f2cf5b",
    running: "#2f6fdb",
    up_for_retry: "#f08c00",
    succeeded: "#2b8a3e",
    failed: "#c92a2a",
    upstream_failed: "#e8590c",
    cancelled: "#868e96",
    skipped: "#ced4da",
  };
  var NODE_HEIGHT = 24;
  var READABLE_ZOOM = 1.6;
  var DAGRE_LIMIT = 250;
  var LABEL_ZOOM = 0.45;
  var FONT_SIZE = 11;
  var DARK_TEXT = { none: 1, pending: 1, queued: 1, waiting_resources: 1, skipped: 1 };

  /* Colours travel as element data (mappers), not as one selector per state: styling a
   * thousand nodes against a dozen selectors costs more than reading three fields each. */
  function paint(state) {
    var known = COLOURS[state] ? state : "none";
    var dark = DARK_TEXT[known] === 1;
    return {
      state: state,
      fill: COLOURS[known],
      ink: dark ? "#1d2430" : "#ffffff",
      rim: dark ? "#8a94a3" : COLOURS[known],
    };
  }

  function style(large) {
    return [
      {
        selector: "node",
        style: {
          shape: "round-rectangle",
          width: "data(width)",
          height: NODE_HEIGHT,
          label: large ? "" : "data(id)",
          "font-size": FONT_SIZE,
          "font-family": "system-ui, sans-serif",
          "text-valign": "center",
          "text-halign": "center",
          "min-zoomed-font-size": 7,
          "background-color": "data(fill)",
          color: "data(ink)",
          "border-width": 1,
          "border-color": "data(rim)",
        },
      },
      { selector: 'node[state = "skipped"]', style: { "border-style": "dashed" } },
      { selector: "node:selected", style: { "border-width": 3, "border-color": "#1d2430" } },
      {
        selector: "edge",
        style: {
          width: 1.2,
          "curve-style": "bezier",
          "line-color": "#9aa4b2",
          "target-arrow-color": "#9aa4b2",
          "target-arrow-shape": "triangle",
          "arrow-scale": 0.8,
        },
      },
    ];
  }

  /* Labels cost a text measurement per node. A large graph fitted to the screen is too small to
   * read anyway, so it starts without them and gets them once the user zooms in. */
  function labelWhenZoomed(cy) {
    var labelled = false;
    cy.on("zoom", function () {
      if (labelled || cy.zoom() < LABEL_ZOOM) return;
      labelled = true;
      cy.style().selector("node").style("label", "data(id)").update();
    });
  }

  /* Widths come from the label's length, not from measuring text: the layout gets exact sizes
   * at once, and a thousand nodes need no thousand text measurements. */
  function widthOf(id) {
    return Math.round(16 + id.length * FONT_SIZE * 0.62);
  }

  function elements(graph, states, withEdges) {
    var nodes = [];
    var edges = [];
    graph.nodes.forEach(function (id) {
      nodes.push({
        group: "nodes",
        data: Object.assign({ id: id, width: widthOf(id) }, paint(states[id] || "none")),
      });
      if (!withEdges) return;
      (graph.parents[id] || []).forEach(function (parent) {
        edges.push({ group: "edges", data: { id: parent + "\u2192" + id, source: parent, target: id } });
      });
    });
    return nodes.concat(edges);
  }

  /* A layered left-to-right layout in linear time, for graphs too big for dagre (which needs
   * tens of seconds for a thousand nodes): each node's layer is its longest path from a root,
   * and within a layer nodes sit at the mean position of their parents (one barycentre sweep). */
  function layeredPositions(graph) {
    var parents = graph.parents;
    var waiting = {};
    var children = {};
    graph.nodes.forEach(function (id) {
      waiting[id] = (parents[id] || []).length;
      children[id] = [];
    });
    graph.nodes.forEach(function (id) {
      (parents[id] || []).forEach(function (parent) {
        children[parent].push(id);
      });
    });
    var queue = graph.nodes.filter(function (id) {
      return waiting[id] === 0;
    });
    var layer = {};
    var layers = [];
    for (var head = 0; head < queue.length; head++) {
      var id = queue[head];
      var depth = 0;
      (parents[id] || []).forEach(function (parent) {
        depth = Math.max(depth, layer[parent] + 1);
      });
      layer[id] = depth;
      (layers[depth] = layers[depth] || []).push(id);
      children[id].forEach(function (child) {
        if (--waiting[child] === 0) queue.push(child);
      });
    }
    var place = {};
    var positions = {};
    var x = 0;
    layers.forEach(function (members, depth) {
      if (depth > 0) {
        var weight = {};
        members.forEach(function (id, index) {
          var sum = 0;
          var ps = parents[id] || [];
          ps.forEach(function (parent) {
            sum += place[parent];
          });
          weight[id] = ps.length ? sum / ps.length : index / members.length;
        });
        members.sort(function (a, b) {
          return weight[a] - weight[b];
        });
      }
      var widest = 0;
      members.forEach(function (id, index) {
        place[id] = members.length > 1 ? index / (members.length - 1) : 0.5;
        widest = Math.max(widest, widthOf(id));
      });
      var step = NODE_HEIGHT + 12;
      var top = -((members.length - 1) * step) / 2;
      members.forEach(function (id, index) {
        positions[id] = { x: x + widest / 2, y: top + index * step };
      });
      x += widest + 60;
    });
    return positions;
  }

  /* A large graph's edges are drawn on a canvas under Cytoscape's, in step with its pan and
   * zoom: two thousand straight lines cost a few milliseconds this way, where as Cytoscape
   * elements they would double the time to the first drawn frame. Edges never change colour,
   * so they need nothing more than their ends. */
  function edgeUnderlay(cy, container, graph, positions) {
    var canvas = document.createElement("canvas");
    canvas.className = "edge-underlay";
    canvas.style.cssText = "position:absolute;left:0;top:0;pointer-events:none;";
    container.insertBefore(canvas, container.firstChild);
    var lines = [];
    graph.nodes.forEach(function (id) {
      var to = positions[id];
      (graph.parents[id] || []).forEach(function (parent) {
        var from = positions[parent];
        if (!from || !to) return;
        lines.push([from.x + widthOf(parent) / 2, from.y, to.x - widthOf(id) / 2, to.y]);
      });
    });
    var pending = false;
    function paintEdges() {
      pending = false;
      var width = container.clientWidth;
      var height = container.clientHeight;
      if (canvas.width !== width) canvas.width = width;
      if (canvas.height !== height) canvas.height = height;
      var context = canvas.getContext("2d");
      var zoom = cy.zoom();
      var pan = cy.pan();
      context.clearRect(0, 0, width, height);
      context.strokeStyle = "#b4bcc8";
      context.lineWidth = 1;
      context.beginPath();
      lines.forEach(function (line) {
        context.moveTo(line[0] * zoom + pan.x, line[1] * zoom + pan.y);
        context.lineTo(line[2] * zoom + pan.x, line[3] * zoom + pan.y);
      });
      context.stroke();
    }
    cy.on("viewport resize", function () {
      if (!pending) {
        pending = true;
        requestAnimationFrame(paintEdges);
      }
    });
    paintEdges();
    container.dataset.edges = String(lines.length);
  }

  function markReady(container) {
    requestAnimationFrame(function () {
      window.dagyardGraphReadyAt = performance.now();
      container.dataset.ready = "true";
    });
  }

  function draw(container, graph, states) {
    var large = graph.nodes.length > DAGRE_LIMIT;
    var items = elements(graph, states || {}, !large);
    var positions = null;
    if (large) {
      positions = layeredPositions(graph);
      items.forEach(function (item) {
        item.position = positions[item.data.id];
      });
    }
    var cy = cytoscape({
      container: container,
      elements: items,
      style: style(large),
      layout: { name: "preset", fit: true, padding: 16 },
      minZoom: 0.02,
      maxZoom: 3,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      autoungrabify: true,
      textureOnViewport: large,
      hideEdgesOnViewport: large,
      pixelRatio: large ? 1 : "auto",
    });
    window.dagyardGraph = cy;
    if (large) {
      edgeUnderlay(cy, container, graph, positions);
      labelWhenZoomed(cy);
      markReady(container);
      return cy;
    }
    var layout = cy.layout({
      name: "dagre",
      rankDir: "LR",
      nodeSep: 14,
      rankSep: 50,
      edgeSep: 8,
      fit: true,
      padding: 16,
      animate: false,
    });
    layout.one("layoutstop", function () {
      // Small graphs would be fitted to a huge zoom: keep text at a readable size instead.
      if (cy.zoom() > READABLE_ZOOM) {
        cy.zoom(READABLE_ZOOM);
        cy.center();
      }
      markReady(container);
    });
    layout.run();
    return cy;
  }

  function setStates(cy, states) {
    cy.batch(function () {
      Object.keys(states).forEach(function (id) {
        var node = cy.getElementById(id);
        if (node.nonempty() && node.data("state") !== states[id]) node.data(paint(states[id]));
      });
    });
  }

  window.DagyardGraph = { draw: draw, setStates: setStates, COLOURS: COLOURS };
})();
