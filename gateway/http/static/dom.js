// DOM helpers: elements are built with textContent only (no innerHTML), so data never
// becomes markup.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "className") {
      node.className = value;
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** A table: columns [{label, value: row => text|Node, className?}], rows. */
export function table(caption, columns, rows, { empty = "Nothing to show." } = {}) {
  const wrap = h("div", { className: "table-wrap" });
  const t = h(
    "table",
    {},
    h("caption", { className: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", className: c.className }, c.label)))),
    h(
      "tbody",
      {},
      rows.length
        ? rows.map((row) => h("tr", {}, columns.map((c) => h("td", { className: c.className, "data-label": c.label }, c.value(row)))))
        : h("tr", {}, h("td", { colspan: columns.length, className: "empty" }, empty)),
    ),
  );
  wrap.append(t);
  return wrap;
}

/** A labelled form control. */
export function field(label, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", { className: "field" }, h("label", { for: id }, label), control);
}

export function select(name, options, value) {
  return h(
    "select",
    { name },
    options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)),
  );
}

const number = new Intl.NumberFormat("en");
export const fmt = (value) => (typeof value === "number" ? number.format(value) : String(value ?? "–"));
export const pct = (value) => `${number.format(value)} %`;
export function date(value) {
  if (!value) return "–";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().slice(0, 10);
}
export function dateTime(value) {
  if (!value) return "–";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().slice(0, 16).replace("T", " ");
}
export const money = (m) => `${(m.amount / 100).toFixed(2)} ${m.currency}`;

export function card(label, value, key, hint) {
  return h(
    "div",
    { className: "card" },
    h("div", { className: "card-label" }, label),
    h("div", { className: "card-value", "data-figure": key }, value),
    hint ? h("div", { className: "card-hint" }, hint) : null,
  );
}
