// DOM helpers shared by the dashboard and the car page. Every value is written as text
// (textContent), never as HTML: records are hostile input.
"use strict";

window.PipelineDom = (function () {
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function setText(id, text) {
    document.getElementById(id).textContent = text === undefined || text === null ? "–" : String(text);
  }

  function fillTable(id, rows, cells) {
    const fresh = document.createElement("tbody");
    for (const row of rows) {
      const tr = document.createElement("tr");
      for (const cell of cells(row)) tr.appendChild(cell instanceof Node ? cell : el("td", cell));
      fresh.appendChild(tr);
    }
    document.querySelector("#" + id + " tbody").replaceWith(fresh);
  }

  return Object.freeze({ el, setText, fillTable });
})();
