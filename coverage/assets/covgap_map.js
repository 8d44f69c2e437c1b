/* covgap map runtime (covgap project, MIT).
 *
 * Reads the page's JSON payload (<script type="application/json" id="covgap-data">),
 * draws villages, towers, planned sites (shape by kind) and backhaul links as canvas
 * shapes into the Leaflet feature groups folium created, shows popups and tooltips
 * built on demand, and, when the sites have on-air dates, a weekly time slider.
 *
 * Safety: every text that comes from input data is put into the page with
 * textContent, never innerHTML, so a village called "&lt;b&gt;x&lt;/b&gt;" or one holding a
 * script tag shows literally and runs nothing.
 *
 * Optional parts: commune outlines (drawn in the same canvas, before the points, so
 * under them; the commune's name in a tooltip), the predicted-coverage image overlay
 * (its own pane between the province base layer and the points; not interactive) and,
 * when online tiles are offered, a lighter province fill while the tiles are shown.
 *
 * Status for tools and tests: after each canvas paint the page writes, on <body>,
 *   data-covgap-status = "loading" (first paint done, clustered layers filling in) or
 *                        "ready" (every layer complete)
 *   data-covgap-first-paint = "1" once the canvas first drew (event "covgap-first-paint")
 *   data-covgap-painted = {"<layer name>": shapes painted on the canvas, ...} (communes:
 *                        outlines painted)
 *   data-covgap-coverage = {"status": "off" | "loaded" | "error", "width", "height"}: the
 *                        coverage image (loaded once its layer is on; event
 *                        "covgap-coverage-loaded")
 *   data-covgap-clusters = {"<layer name>": [cluster icons, points inside them], ...}
 *   data-covgap-week = "all" or the week index the slider shows (0 = first week)
 *   data-covgap-onair = planned sites the slider lets through (all of them under "all")
 * and fires the document event "covgap-ready" once. A shape counts as painted only
 * when the canvas renderer really drew it (inside its drawing pass, not culled).
 * Switching a layer on or off in the layer control (and setWeek) paints before it
 * returns, not on a later animation frame: right after a checkbox click,
 * window.covgap.report() counts the shapes of a ticked layer.
 *
 * Driving it from a script: window.covgap.setWeek(k) (k = week index, null = all);
 * at load, "#week=k" or "?week=k" in the address does the same.
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('covgap-data').textContent);
  var map = window[cfg.map];
  var SHAPE_DRAWN = '_covgapPainted';
  var anyPainted = false, totalShapes = 0;

  // ---- canvas renderer that draws circles, squares and diamonds and counts paints ----
  var Painter = L.Canvas.extend({
    _draw: function () {
      L.Canvas.prototype._draw.call(this);
      scheduleReport();
    },
    _covgapShape: function (layer) {
      if (!this._drawing || layer._empty()) { return; }
      var p = layer._point, ctx = this._ctx, r = Math.max(Math.round(layer._radius), 1);
      layer[SHAPE_DRAWN] = true;
      anyPainted = true;
      ctx.beginPath();
      var shape = layer.options.shape, d, k;
      if (shape === 'square') {
        ctx.rect(p.x - r, p.y - r, 2 * r, 2 * r);
      } else if (shape === 'diamond') {
        d = Math.round(r * 1.4);
        ctx.moveTo(p.x, p.y - d);
        ctx.lineTo(p.x + d, p.y);
        ctx.lineTo(p.x, p.y + d);
        ctx.lineTo(p.x - d, p.y);
        ctx.closePath();
      } else if (shape === 'triangle') {
        d = r * 1.6;
        ctx.moveTo(p.x, p.y - d);
        ctx.lineTo(p.x + d * 0.866, p.y + d * 0.5);
        ctx.lineTo(p.x - d * 0.866, p.y + d * 0.5);
        ctx.closePath();
      } else if (shape === 'hexagon') {
        d = r * 1.3;
        ctx.moveTo(p.x + d, p.y);
        for (k = 1; k < 6; k++) {
          ctx.lineTo(p.x + d * Math.cos(k * Math.PI / 3), p.y + d * Math.sin(k * Math.PI / 3));
        }
        ctx.closePath();
      } else {
        ctx.arc(p.x, p.y, r, 0, Math.PI * 2, false);
      }
      this._fillStroke(ctx, layer);
    }
  });
  var Shape = L.CircleMarker.extend({
    _updatePath: function () { this._renderer._covgapShape(this); }
  });
  // a polyline (polygon outline) that counts as painted when the canvas drew some part of it
  function markPainted(layer) {
    if (layer._renderer._drawing && layer._parts.length) {
      layer[SHAPE_DRAWN] = true;
      anyPainted = true;
    }
  }
  var Line = L.Polyline.extend({
    _updatePath: function () {
      markPainted(this);
      L.Polyline.prototype._updatePath.call(this);
    }
  });
  var Outline = L.Polygon.extend({
    _updatePath: function () {
      markPainted(this);
      L.Polygon.prototype._updatePath.call(this);
    }
  });
  var painter = new Painter({ padding: 0.1, tolerance: 2 });
  var canvases = [painter];  // every canvas renderer of the page (see flushPaint)

  // ---- column access: plain arrays or dictionary-encoded {k: values, c: codes} ----
  function get(col, i) {
    if (col === undefined || col === null) { return null; }
    if (Array.isArray(col)) { return col[i]; }
    var c = col.c[i];
    return (c === null || c < 0) ? null : col.k[c];
  }

  var nf = new Intl.NumberFormat('en-US');
  function fmt(v, kind) {
    if (v === null || v === undefined || v === '') { return null; }
    switch (kind) {
      case 'int': return nf.format(v);
      case 'dec1': return Number(v).toFixed(1);
      case 'dec2': return Number(v).toFixed(2);
      case 'signed1': return (v > 0 ? '+' : '') + Number(v).toFixed(1);
      case 'bool': return v ? 'yes' : 'no';
      case 'list': return v.length ? v.join(', ') : null;
      default: return String(v);
    }
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }

  function popupContent(kind, i) {
    var t = cfg.tables[kind], spec = cfg.popup[kind];
    var box = el('div', 'covgap-popup');
    box.appendChild(el('div', 'covgap-popup-title', fmt(get(t.cols[spec.title[1]], i), 'text')));
    box.appendChild(el('div', 'covgap-popup-kind', spec.title[0]));
    var table = el('table');
    spec.rows.forEach(function (row) {
      var v = fmt(get(t.cols[row[1]], i), row[2]);
      if (v === null) { return; }
      var tr = table.insertRow();
      tr.appendChild(el('th', null, row[0]));
      tr.appendChild(el('td', null, v));
    });
    box.appendChild(table);
    return box;
  }

  function tooltipContent(kind, i) {
    var t = cfg.tables[kind];
    var parts = cfg.tooltip[kind].map(function (c) { return fmt(get(t.cols[c], i), 'text'); });
    return el('span', 'covgap-tooltip', parts.filter(function (p) { return p; }).join(' · '));
  }

  // ---- build layers ----
  var popup = L.popup({ maxWidth: 360, autoPanPadding: [16, 16] });
  var tooltip = L.tooltip({ direction: 'top', offset: [0, -6], opacity: 0.95 });
  var layers = {};        // layer name -> feature group
  var shapes = {};        // layer name -> array of shapes
  var clusters = {};      // layer name -> marker cluster group
  var bounds = L.latLngBounds([]);

  function clusterIcon(layerName, colour) {
    return function (cluster) {
      var n = cluster.getChildCount();
      var size = n < 100 ? 30 : (n < 1000 ? 36 : 44);
      var div = el('div', 'covgap-cluster', nf.format(n));
      div.style.background = colour;
      div.dataset.count = String(n);
      div.dataset.layer = layerName;
      return L.divIcon({ html: div, className: 'covgap-cluster-icon', iconSize: [size, size] });
    };
  }

  var targets = {};       // layer name -> where its shapes live (feature or cluster group)
  var loading = 0;        // clustered layers still loading (chunked)
  var whenLoaded = [];    // functions to run once every layer is loaded

  function loaded() {
    scheduleReport();
    if (loading > 0) { return; }
    var todo = whenLoaded;
    whenLoaded = [];
    todo.forEach(function (fn) { fn(); });
  }
  function afterLoading(fn) {
    if (loading > 0) { whenLoaded.push(fn); } else { fn(); }
  }

  function makeLines(t, li, list) {
    var lat = t.cols.lat, lon = t.cols.lon, start = t.cols.start, lyr = t.cols.layer;
    for (var i = 0; i < t.n; i++) {
      if (lyr[i] !== li) { continue; }
      var pts = [];
      for (var k = start[i]; k < start[i + 1]; k++) { pts.push([lat[k], lon[k]]); }
      var style = cfg.linkStyles[get(t.cols.style, i)] || cfg.linkStyles.other;
      var line = new Line(pts, L.extend({ renderer: painter, interactive: true }, style));
      line.covgapRow = i;
      list.push(line);
      bounds.extend(line.getBounds());
    }
  }

  function makeShapes(t, li, spec, list) {
    var lat = t.cols.lat, lon = t.cols.lon, lyr = t.cols.layer;
    // the layer's style lives on a prototype: shapes do not copy it (less memory, less GC)
    var LayerShape = Shape.extend({
      options: L.extend({ renderer: painter, interactive: true }, spec.style)
    });
    for (var i = 0; i < t.n; i++) {
      if (lyr[i] !== li) { continue; }
      var s = new LayerShape(L.latLng(lat[i], lon[i]));
      if (spec.fillBy) { s.options.fillColor = get(t.cols[spec.fillBy], i) || s.options.fillColor; }
      if (spec.shapeBy) { s.options.shape = get(t.cols[spec.shapeBy], i) || s.options.shape; }
      s.covgapRow = i;
      list.push(s);
      bounds.extend(s.getLatLng());
    }
  }

  cfg.layers.forEach(function (spec) { layers[spec.name] = window[spec.var]; });

  // ---- communes: outlines in the points' canvas, added first so drawn under the points ----
  var communeShapes = [];
  if (cfg.communes) {
    var communeGroup = layers[cfg.communes.layer];
    var features = cfg.communes.data.features;
    // an empty layer that carries the credit: shown in the attribution while the layer is on
    communeGroup.addLayer(L.layerGroup([], { attribution: cfg.communes.attribution }));
    features.forEach(function (f, i) {
      var g = f.geometry;
      var latlngs = L.GeoJSON.coordsToLatLngs(g.coordinates, g.type === 'Polygon' ? 1 : 2);
      var outline = new Outline(latlngs, L.extend({ renderer: painter, interactive: true },
        cfg.communes.style));
      outline.covgapCommune = i;
      communeShapes.push(outline);
      communeGroup.addLayer(outline);
    });
    communeGroup.on('mouseover', function (e) {
      var s = e.layer || e.propagatedFrom;
      if (!s || s.covgapCommune === undefined) { return; }
      var p = features[s.covgapCommune].properties;
      var text = [p.name, p.code].filter(function (x) { return x; }).join(' \u00B7 ');
      tooltip.setLatLng(e.latlng).setContent(el('span', 'covgap-tooltip covgap-commune-tip', text));
      map.openTooltip(tooltip);
    });
    communeGroup.on('mouseout', function () { map.closeTooltip(tooltip); });
  }

  // ---- predicted coverage: one image overlay in its own pane, under the points ----
  var coverageStatus = { status: 'off' };
  if (cfg.coverage) {
    map.createPane('covgapCoverage');
    map.getPane('covgapCoverage').style.zIndex = 380;
    map.getPane('covgapCoverage').style.pointerEvents = 'none';
    var overlay = L.imageOverlay(cfg.coverage.url, cfg.coverage.bounds, {
      pane: 'covgapCoverage',
      opacity: cfg.coverage.opacity,
      interactive: false,
      className: 'covgap-coverage',
      alt: cfg.coverage.layer
    });
    // the status is written at once (not at the next report): a script that reads it
    // and then waits for the event cannot miss both
    var setCoverage = function (status) {
      coverageStatus = status;
      document.body.dataset.covgapCoverage = JSON.stringify(status);
    };
    overlay.on('load', function () {
      var img = overlay.getElement();
      setCoverage({ status: 'loaded', width: img.naturalWidth, height: img.naturalHeight });
      document.dispatchEvent(new CustomEvent('covgap-coverage-loaded'));
    });
    overlay.on('error', function () {
      setCoverage({ status: 'error' });
      console.error('covgap: the predicted coverage image did not load');
    });
    layers[cfg.coverage.layer].addLayer(overlay);
  }

  cfg.layers.forEach(function (spec, li) {
    var group = layers[spec.name];
    shapes[spec.name] = [];
    var t = spec.kind ? cfg.tables[spec.kind] : null;
    if (!t) { return; }  // the provinces layer, or a layer with no data (kept for stable names)
    var list = shapes[spec.name];
    if (spec.kind === 'link') { makeLines(t, li, list); } else { makeShapes(t, li, spec, list); }
    for (var n = 0; n < list.length; n++) { list[n].covgapShown = true; }
    totalShapes += list.length;
    var target = group;
    if (spec.cluster && L.markerClusterGroup) {
      var onMap = map.hasLayer(group);
      if (onMap) { loading += 1; }
      target = L.markerClusterGroup({
        showCoverageOnHover: false,
        // cluster in slices of ~150 ms between paints: the villages show at once and
        // the clustered layers fill in; chunkProgress says when a layer is complete
        chunkedLoading: true,
        chunkInterval: 150,
        chunkDelay: 5,
        chunkProgress: function (done, total) {
          if (done === total && onMap) { onMap = false; loading -= 1; loaded(); }
        },
        // every zoom level is a clustering grid: stop at 14 (street level, where the
        // points stand apart anyway); fewer grids, faster loading
        disableClusteringAtZoom: 14,
        iconCreateFunction: clusterIcon(spec.name, spec.style.fillColor)
      });
      clusters[spec.name] = target;
      // on the map first, then the markers: added to a cluster group that is not on a
      // map, each marker is checked against all the earlier ones (quadratic)
      group.addLayer(target);
      target.addLayers(list);
    } else {
      for (var j = 0; j < list.length; j++) { group.addLayer(list[j]); }
    }
    targets[spec.name] = target;
    var kind = spec.kind;
    target.on('click', function (e) {
      var s = e.layer || e.propagatedFrom;
      if (!s || s.covgapRow === undefined) { return; }
      map.closeTooltip(tooltip);
      var at = s.getLatLng ? s.getLatLng() : e.latlng;
      popup.setLatLng(at).setContent(popupContent(kind, s.covgapRow));
      map.openPopup(popup);
    });
    target.on('mouseover', function (e) {
      var s = e.layer || e.propagatedFrom;
      if (!s || s.covgapRow === undefined) { return; }
      var at = s.getLatLng ? s.getLatLng() : e.latlng;
      tooltip.setLatLng(at).setContent(tooltipContent(kind, s.covgapRow));
      map.openTooltip(tooltip);
    });
    target.on('mouseout', function () { map.closeTooltip(tooltip); });
  });

  // ---- base layer: province boundaries (not interactive, own pane below the markers) ----
  if (cfg.boundaries) {
    map.createPane('covgapBase');
    map.getPane('covgapBase').style.zIndex = 350;
    var baseCanvas = L.canvas({ pane: 'covgapBase', padding: 0.1 });
    canvases.push(baseCanvas);
    var base = L.geoJSON(cfg.boundaries.data, {
      pane: 'covgapBase',
      renderer: baseCanvas,
      interactive: false,
      attribution: cfg.boundaries.attribution,
      style: function (feature) {
        var focus = cfg.boundaries.focus;
        if (!focus) { return cfg.boundaries.style; }
        return feature.properties.province_code === focus
          ? cfg.boundaries.focusStyle : cfg.boundaries.otherStyle;
      }
    });
    layers[cfg.boundaries.layer].addLayer(base);
    if (!bounds.isValid()) { bounds.extend(base.getBounds()); }  // fit the data, else the base
    if (cfg.tiles) {  // a lighter fill while online tiles are shown, so they show through
      map.on('baselayerchange', function (e) {
        var tilesOn = e.name === cfg.tiles.name;
        base.setStyle(function (feature) {
          var style = base.options.style(feature);
          return tilesOn ? L.extend({}, style, { fillOpacity: 0.1 }) : style;
        });
      });
    }
  }

  // keep the drawing order (communes at the bottom, then covered villages, sites on top)
  // when a layer is switched off and on again: the canvas draws in insertion order.
  // Then paint at once: a canvas renderer otherwise draws added or removed shapes on the
  // next animation frame, which a hidden or headless page may never get (the ticked
  // layer would stay unpainted, and uncounted, until something moves the map).
  map.on('overlayadd', function () {
    cfg.order.forEach(function (name) {
      var g = layers[name];
      if (g && map.hasLayer(g)) { g.bringToFront(); }
    });
    if (cfg.communes && map.hasLayer(layers[cfg.communes.layer])) {
      layers[cfg.communes.layer].bringToBack();
    }
    flushPaint();
  });
  map.on('overlayremove', flushPaint);

  if (cfg.fit) {  // a province map: zoom to the province, not to the towers around it
    map.fitBounds(cfg.fit, { padding: [24, 24], animate: false, maxZoom: 13 });
  } else if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [24, 24], animate: false, maxZoom: 13 });
  } else {
    map.setView(cfg.fallbackCenter, cfg.fallbackZoom, { animate: false });
  }

  // ---- status for tools and tests ----
  var reportTimer = null, announced = false, firstPaint = false;
  function report() {
    reportTimer = null;
    var painted = {}, clustered = {};
    cfg.layers.forEach(function (spec) {
      if (!spec.kind) { return; }
      var n = 0, list = shapes[spec.name];
      for (var i = 0; i < list.length; i++) {
        if (list[i][SHAPE_DRAWN] && map.hasLayer(list[i])) { n++; }
      }
      painted[spec.name] = n;
      if (clusters[spec.name]) { clustered[spec.name] = [0, 0]; }
    });
    if (cfg.communes) {
      var nc = 0;
      for (var ci = 0; ci < communeShapes.length; ci++) {
        if (communeShapes[ci][SHAPE_DRAWN] && map.hasLayer(communeShapes[ci])) { nc++; }
      }
      painted[cfg.communes.layer] = nc;
    }
    document.body.dataset.covgapCoverage = JSON.stringify(coverageStatus);
    // cluster icons really present in the page (Leaflet adds only the visible ones)
    var nodes = map.getContainer().querySelectorAll('.covgap-cluster');
    for (var k = 0; k < nodes.length; k++) {
      var c = clustered[nodes[k].dataset.layer];
      if (c) { c[0] += 1; c[1] += Number(nodes[k].dataset.count); }
    }
    document.body.dataset.covgapPainted = JSON.stringify(painted);
    document.body.dataset.covgapWeek = week === null ? 'all' : String(week);
    document.body.dataset.covgapOnair = String(sitesShown());
    document.body.dataset.covgapClusters = JSON.stringify(clustered);
    if (!anyPainted && totalShapes > 0) { return; }  // not painted yet: wait for the canvas
    if (!firstPaint) {
      firstPaint = true;
      document.body.dataset.covgapFirstPaint = '1';
      document.dispatchEvent(new CustomEvent('covgap-first-paint'));
    }
    if (loading > 0) {  // clustered layers still filling in
      document.body.dataset.covgapStatus = 'loading';
      return;
    }
    document.body.dataset.covgapStatus = 'ready';
    if (!announced) {
      announced = true;
      document.dispatchEvent(new CustomEvent('covgap-ready'));
    }
  }
  function scheduleReport() {
    if (reportTimer === null) { reportTimer = setTimeout(report, 0); }
  }

  function find(kind, id) {
    var t = cfg.tables[kind];
    if (!t) { return null; }
    for (var li = 0; li < cfg.layers.length; li++) {
      if (cfg.layers[li].kind !== kind) { continue; }
      var list = shapes[cfg.layers[li].name];
      for (var i = 0; i < list.length; i++) {
        if (get(t.cols.id, list[i].covgapRow) === id) { return list[i]; }
      }
    }
    return null;
  }

  // cluster icons come and go without a canvas paint: report again when they change
  map.on('layeradd layerremove zoomend moveend', scheduleReport);
  Object.keys(clusters).forEach(function (name) { clusters[name].on('animationend', scheduleReport); });

  // ---- time slider: planned sites on air by the end of each week ----
  var SITES = 'Planned sites', LINKS = 'Backhaul links';
  var timeline = cfg.timeline, week = null, control = null, playTimer = null;
  var siteTable = cfg.tables.site, linkTable = cfg.tables.link;

  function sitesShown() {
    var list = shapes[SITES] || [], n = 0;
    for (var i = 0; i < list.length; i++) { if (list[i].covgapShown) { n++; } }
    return n;
  }

  function showOnly(name, wanted) {  // wanted(shape) -> bool; adds/removes in batches
    var list = shapes[name] || [], target = targets[name], add = [], remove = [];
    for (var i = 0; i < list.length; i++) {
      var want = wanted(list[i]);
      if (want !== list[i].covgapShown) { (want ? add : remove).push(list[i]); }
      list[i].covgapShown = want;
      if (!want) { delete list[i][SHAPE_DRAWN]; }  // counts again once really repainted
    }
    if (!target) { return add.length > 0; }
    if (clusters[name]) {
      target.removeLayers(remove);
      target.addLayers(add);
    } else {
      for (var r = 0; r < remove.length; r++) { target.removeLayer(remove[r]); }
      for (var a = 0; a < add.length; a++) { target.addLayer(add[a]); }
    }
    return add.length > 0;
  }

  function clampWeek(k) {
    if (k === null || k === undefined || k === 'all' || !timeline) { return null; }
    var n = Math.floor(Number(k));
    if (!isFinite(n)) { return null; }
    return Math.max(0, Math.min(timeline.weeks.length - 1, n));
  }

  function setWeek(k) {
    if (!timeline) { return false; }
    week = clampWeek(k);
    var shown = [];
    showOnly(SITES, function (s) {
      var w = week === null ? 0 : get(siteTable.cols.wk, s.covgapRow);
      var on = week === null || (w !== null && w >= 0 && w <= week);
      shown[s.covgapRow] = on;
      return on;
    });
    var linksAdded = linkTable ? showOnly(LINKS, function (l) {
      var row = get(linkTable.cols.srow, l.covgapRow);
      return row === null || row < 0 || shown[row] !== false;
    }) : false;
    // re-added links go on top of the canvas: put the sites back above them
    if (linksAdded && layers[SITES] && map.hasLayer(layers[SITES]) && !clusters[SITES]) {
      layers[SITES].bringToFront();
    }
    flushPaint();
    updateControl();
    scheduleReport();
    return true;
  }

  // paint the changes now, in one pass, rather than on the next animation frame
  // (which a hidden or headless page may not get for a long time)
  function flushPaint() {
    canvases.forEach(function (canvas) {
      if (canvas._map && canvas._redrawRequest) {
        L.Util.cancelAnimFrame(canvas._redrawRequest);
        canvas._redraw();
      }
    });
  }

  function updateControl() {
    if (!control) { return; }
    var n = timeline.weeks.length, total = timeline.total;
    control.range.value = String(week === null ? n - 1 : week);
    control.all.disabled = week === null;
    control.box.classList.toggle('covgap-timeline-all', week === null);
    var text;
    if (week === null) {
      text = 'All planned sites: ' + nf.format(total);
      if (timeline.undated) {
        text += ' (' + nf.format(timeline.undated) + ' without an on-air date)';
      }
    } else {
      text = 'Week ' + (week + 1) + ' of ' + n + ', to Sun ' + timeline.weeks[week] + ': ' +
        nf.format(sitesShown()) + ' of ' + nf.format(total) + ' sites on air';
    }
    control.label.textContent = text;
  }

  function stopPlay() {
    if (playTimer !== null) { clearInterval(playTimer); playTimer = null; }
    if (control) { control.play.textContent = '\u25B6 Play'; }
  }

  function play() {
    if (playTimer !== null) { stopPlay(); return; }
    var last = timeline.weeks.length - 1;
    setWeek(week === null || week >= last ? 0 : week + 1);
    control.play.textContent = '\u275A\u275A Pause';
    playTimer = setInterval(function () {
      if (week === null || week >= last) { stopPlay(); return; }
      setWeek(week + 1);
    }, 800);
  }

  if (timeline && siteTable) {
    var TimeControl = L.Control.extend({
      options: { position: 'bottomright' },
      onAdd: function () {
        var box = el('div', 'covgap-timeline leaflet-control');
        box.id = 'covgap-timeline';
        box.appendChild(el('div', 'covgap-timeline-title', 'Planned sites on air, week by week'));
        var range = document.createElement('input');
        range.type = 'range';
        range.min = '0';
        range.max = String(timeline.weeks.length - 1);
        range.step = '1';
        range.className = 'covgap-timeline-range';
        range.setAttribute('aria-label', 'week');
        box.appendChild(range);
        var buttons = el('div', 'covgap-timeline-buttons');
        var playBtn = el('button', 'covgap-timeline-play', '\u25B6 Play');
        var allBtn = el('button', 'covgap-timeline-allbtn', 'All');
        playBtn.type = 'button';
        allBtn.type = 'button';
        buttons.appendChild(playBtn);
        buttons.appendChild(allBtn);
        box.appendChild(buttons);
        var label = el('div', 'covgap-timeline-label');
        label.setAttribute('aria-live', 'polite');
        box.appendChild(label);
        control = { box: box, range: range, play: playBtn, all: allBtn, label: label };
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        range.addEventListener('input', function () { stopPlay(); setWeek(range.value); });
        playBtn.addEventListener('click', play);
        allBtn.addEventListener('click', function () { stopPlay(); setWeek(null); });
        return box;
      }
    });
    new TimeControl().addTo(map);
    var asked = /[#?&]week=([0-9]+|all)\b/.exec(location.hash + '&' + location.search);
    updateControl();
    // the sites layer may be a cluster group still loading: filter once it is complete
    afterLoading(function () { setWeek(asked ? asked[1] : null); });
  }

  window.covgap = {
    map: map, layers: layers, shapes: shapes, find: find, report: report,
    setWeek: setWeek,
    week: function () { return week; },
    timeline: timeline
  };
  scheduleReport();
})();
