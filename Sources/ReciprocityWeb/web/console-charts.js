// @ts-check
// Bar charts as SVG, drawn by this code (no library), each beside a table of the same numbers: the table is
// what a screen reader reads and what a careful reader checks, so the chart is one image with a plain summary.

import { el } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
/** Colours of the series, both of WCAG AA contrast on white. */
const COLOURS = ["#1d4e89", "#b35c00"];
const ROW = 26, GAP = 6;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attributes
 * @param {string} [text]
 * @returns {SVGElement}
 */
function svg(tag, attributes, text) {
    const node = /** @type {SVGElement} */ (document.createElementNS(NS, tag));
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
}

/**
 * A figure with a horizontal bar chart and its table: one row per label, one bar (and column) per series.
 * @param {object} chart
 * @param {string} chart.title the figure's caption
 * @param {string} chart.summary what the chart shows, in words (the image's name)
 * @param {string} chart.labelHeading the table's first column heading
 * @param {string[]} chart.series the series' names
 * @param {{label: string, values: number[]}[]} chart.rows
 * @param {string} [chart.empty] what to say when there are no rows
 * @param {number} [chart.width] the drawing's width in its own pixels: the space it gets on the page, so that its
 *   text keeps its size on a phone
 * @returns {HTMLElement}
 */
export function barChart({ title, summary, labelHeading, series, rows, empty = "Nothing to show yet.", width = 600 }) {
    const figure = el("figure", { class: "chart" }, el("figcaption", {}, title));
    if (rows.length === 0) {
        figure.append(el("p", { class: "help" }, empty));
        return figure;
    }
    const WIDTH = Math.max(300, Math.min(600, width));
    const LABEL = Math.round(WIDTH * 0.34);
    const chars = Math.floor((LABEL - 10) / 7.5); // about 7.5 pixels a character at 13 pixels
    const max = Math.max(1, ...rows.flatMap((row) => row.values));
    const band = series.length * (ROW - GAP) + GAP;
    const LEGEND = 6 + series.length * 20;
    const height = LEGEND + rows.length * band + GAP;
    const image = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": summary, class: "chart-image" });
    series.forEach((name, s) => { // the legend, a line each
        image.append(svg("rect", { x: LABEL, y: 6 + s * 20, width: 14, height: 14, fill: COLOURS[s] }),
            svg("text", { x: LABEL + 20, y: 18 + s * 20, "font-size": 14, fill: "#1b1f24" }, name));
    });
    rows.forEach((row, r) => {
        const top = LEGEND + r * band + GAP;
        const label = row.label.length > chars ? row.label.slice(0, chars - 1) + "…" : row.label;
        image.append(svg("text", { x: LABEL - 8, y: top + band / 2 + 2, "text-anchor": "end", "font-size": 13, fill: "#1b1f24" }, label));
        row.values.forEach((value, s) => {
            const y = top + s * (ROW - GAP);
            const length = ((WIDTH - LABEL - 40) * value) / max;
            image.append(svg("rect", { x: LABEL, y, width: Math.max(length, value > 0 ? 2 : 0), height: ROW - GAP - 2, fill: COLOURS[s] }),
                svg("text", { x: LABEL + length + 6, y: y + ROW - GAP - 7, "font-size": 13, fill: "#1b1f24" }, String(value)));
        });
    });
    const table = el("table", { class: "chart-table" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, labelHeading), ...series.map((name) => el("th", { scope: "col" }, name)))),
        el("tbody", {}, ...rows.map((row) => el("tr", {},
            el("th", { scope: "row", "data-label": labelHeading }, row.label),
            ...row.values.map((value, s) => el("td", { "data-label": series[s] }, String(value)))))));
    figure.append(el("div", { class: "chart-body" }, el("div", { class: "chart-picture" }, image), table));
    return figure;
}
