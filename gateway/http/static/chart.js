// Tiny SVG charts: a multi-series line chart and a bar chart. No library, no inline style.

const SVG = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * magnitude) return step * magnitude;
  }
  return 10 * magnitude;
}

/**
 * Line chart. series: [{name, values: number[]}], labels: string[] (x axis).
 * Returns a <figure> with the SVG, a legend and the figures as an accessible table.
 */
export function lineChart(title, labels, series, { width = 640, height = 220 } = {}) {
  const pad = { left: 44, right: 24, top: 12, bottom: 28 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const x = (i) => pad.left + (labels.length < 2 ? innerW / 2 : (i * innerW) / (labels.length - 1));
  const y = (v) => pad.top + innerH - (v / max) * innerH;

  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`,
    class: "chart",
    role: "img",
    "aria-label": title,
  });
  svg.append(el("title", {}, title));
  for (let k = 0; k <= 4; k += 1) {
    const value = (max * k) / 4;
    svg.append(el("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid" }));
    svg.append(el("text", { x: pad.left - 6, y: y(value) + 4, class: "axis end" }, fmtShort(value)));
  }
  const every = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((label, i) => {
    const last = i === labels.length - 1 && i % every >= every / 2; // not on top of the previous
    if (i % every === 0 || last) {
      svg.append(el("text", { x: x(i), y: height - 8, class: "axis middle" }, label));
    }
  });
  series.forEach((s, n) => {
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    svg.append(el("polyline", { points, class: `line s${n}` }));
    s.values.forEach((v, i) => {
      const dot = el("circle", { cx: x(i), cy: y(v), r: 2.5, class: `dot s${n}` });
      dot.append(el("title", {}, `${s.name} ${labels[i]}: ${v}`));
      svg.append(dot);
    });
  });
  return figure(title, svg, series);
}

/** Bar chart of one series: [{label, value}]. */
export function barChart(title, items, { width = 640, height = 200 } = {}) {
  const pad = { left: 44, right: 24, top: 12, bottom: 28 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const slot = innerW / Math.max(1, items.length);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": title });
  svg.append(el("title", {}, title));
  for (let k = 0; k <= 4; k += 1) {
    const value = (max * k) / 4;
    const yy = pad.top + innerH - (value / max) * innerH;
    svg.append(el("line", { x1: pad.left, x2: width - pad.right, y1: yy, y2: yy, class: "grid" }));
    svg.append(el("text", { x: pad.left - 6, y: yy + 4, class: "axis end" }, fmtShort(value)));
  }
  const every = Math.max(1, Math.ceil(items.length / 8));
  items.forEach((item, i) => {
    const h = (item.value / max) * innerH;
    const bar = el("rect", {
      x: pad.left + i * slot + slot * 0.15,
      y: pad.top + innerH - h,
      width: Math.max(1, slot * 0.7),
      height: h,
      class: "bar s0",
    });
    bar.append(el("title", {}, `${item.label}: ${item.value}`));
    svg.append(bar);
    if (i % every === 0) {
      svg.append(el("text", { x: pad.left + i * slot + slot / 2, y: height - 8, class: "axis middle" }, item.label));
    }
  });
  return figure(title, svg, [{ name: title }]);
}

function figure(title, svg, series) {
  const fig = document.createElement("figure");
  fig.className = "chart-figure";
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  fig.append(caption, svg);
  if (series.length > 1) {
    const legend = document.createElement("ul");
    legend.className = "legend";
    series.forEach((s, n) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = `swatch s${n}`;
      swatch.setAttribute("aria-hidden", "true");
      item.append(swatch, document.createTextNode(s.name));
      legend.append(item);
    });
    fig.append(legend);
  }
  return fig;
}

function fmtShort(value) {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return `${+value.toFixed(1)}`;
}
