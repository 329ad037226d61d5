// The browser side of crmframe's EditGrid: a virtual table (only the rows in view are in the
// DOM, so 10,000 rows scroll like 50), one editor per column kind, checks as the analyst
// types. Edits go to Python as one `edits` map {"row:col": value}; Python answers with
// `problems` (cells its validation refused) and the side panel.

const ROW_HEIGHT = 26;
const OVERSCAN = 8;
const ID_WIDTH = 170;
const COL_WIDTH = 150;

function check(value, column) {
  // The same rules as gridcolumns.cell_from_json, so a typo is caught while typing.
  const text = String(value).trim();
  if (text === "") return "";
  switch (column.editor) {
    case "integer":
      return /^[+-]?\d+$/.test(text) ? "" : `'${text}' is not a whole number`;
    case "number":
      return text !== "" && Number.isFinite(Number(text)) ? "" : `'${text}' is not a number`;
    case "date":
      return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(text))
        ? "" : `'${text}' is not a date (yyyy-mm-dd)`;
    case "datetime":
      return Number.isNaN(Date.parse(text)) ? `'${text}' is not a date and time` : "";
    case "picklist":
      return column.options.includes(text) ? "" : `'${text}' is not a picklist value`;
    default:
      if (column.max_length && String(value).length > column.max_length) {
        return `${String(value).length} characters, the field holds ${column.max_length}`;
      }
      return "";
  }
}

function typed(value, column) {
  if (value === null || String(value).trim() === "") return null;
  if (column.editor === "integer") return parseInt(value, 10);
  if (column.editor === "number") return Number(value);
  return value;
}

function shown(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "✓" : "✗";
  return String(value);
}

function render({ model, el }) {
  const columns = model.get("columns");
  const raw = model.get("payload");
  const bytes = raw instanceof DataView ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : raw;
  const { ids, data } = JSON.parse(new TextDecoder().decode(bytes)); // data: one list per column
  const nRows = ids.length;

  el.classList.add("crmframe-grid");
  const status = document.createElement("div");
  status.className = "cfg-status";
  status.textContent = `${nRows.toLocaleString("en-US")} rows · click a cell to edit`;
  const scroller = document.createElement("div");
  scroller.className = "cfg-scroll";
  scroller.style.height = `${model.get("height")}px`;
  const width = ID_WIDTH + COL_WIDTH * columns.length;

  const header = document.createElement("div");
  header.className = "cfg-header";
  header.style.width = `${width}px`;
  const idHead = document.createElement("div");
  idHead.className = "cfg-cell cfg-id";
  idHead.textContent = "id";
  header.appendChild(idHead);
  columns.forEach((column) => {
    const cell = document.createElement("div");
    cell.className = "cfg-cell" + (column.editor ? "" : " cfg-locked");
    cell.textContent = column.name;
    cell.title = column.editor
      ? `${column.label} (${column.editor}${column.options.length ? ": " + column.options.join(", ") : ""})`
      : `${column.label}: locked, ${column.locked}`;
    header.appendChild(cell);
  });

  const body = document.createElement("div");
  body.className = "cfg-body";
  body.style.height = `${nRows * ROW_HEIGHT}px`;
  body.style.width = `${width}px`;
  scroller.append(header, body);
  el.append(status, scroller);

  let editing = null; // {row, col, node}

  function current(row, col) {
    const key = `${row}:${col}`;
    const edits = model.get("edits");
    return key in edits ? edits[key] : data[col][row];
  }

  function paintCell(cell, row, col) {
    const key = `${row}:${col}`;
    const column = columns[col];
    cell.textContent = shown(current(row, col));
    cell.className = "cfg-cell";
    if (!column.editor) cell.classList.add("cfg-locked");
    if (key in model.get("edits")) cell.classList.add("cfg-edited");
    const problem = model.get("problems")[key];
    if (problem) {
      cell.classList.add("cfg-invalid");
      cell.title = problem;
    } else {
      cell.title = column.editor ? "" : `locked: ${column.locked}`;
    }
  }

  function draw() {
    if (editing) return; // keep the editor where it is while it is open
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const visible = Math.ceil(scroller.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(nRows, first + visible);
    const rows = [];
    for (let row = first; row < last; row++) {
      const line = document.createElement("div");
      line.className = "cfg-row";
      line.style.top = `${row * ROW_HEIGHT}px`;
      line.dataset.row = String(row);
      const idCell = document.createElement("div");
      idCell.className = "cfg-cell cfg-id";
      idCell.textContent = ids[row];
      line.appendChild(idCell);
      for (let col = 0; col < columns.length; col++) {
        const cell = document.createElement("div");
        cell.dataset.col = String(col);
        paintCell(cell, row, col);
        line.appendChild(cell);
      }
      rows.push(line);
    }
    body.replaceChildren(...rows);
  }

  function commit(row, col, value) {
    const column = columns[col];
    const key = `${row}:${col}`;
    const edits = { ...model.get("edits") };
    const original = data[col][row];
    const same = (value === null && (original === null || original === undefined))
      || (value !== null && original !== null && String(value) === String(original));
    if (same) delete edits[key]; else edits[key] = value;
    model.set("edits", edits);
    model.save_changes();
    status.textContent = `${column.name} of ${ids[row]}: ${same ? "back to as read" : "edited"}`;
  }

  function closeEditor() {
    editing = null;
    draw();
  }

  function openEditor(cell, row, col) {
    const column = columns[col];
    if (!column.editor) {
      status.textContent = `${column.name} is locked: ${column.locked}`;
      return;
    }
    if (column.editor === "boolean") {
      const value = current(row, col);
      commit(row, col, !(value === true));
      draw();
      return;
    }
    let input;
    if (column.editor === "picklist") {
      input = document.createElement("select");
      const blank = document.createElement("option");
      blank.value = "";
      blank.textContent = "(empty)";
      input.appendChild(blank);
      column.options.forEach((option) => {
        const node = document.createElement("option");
        node.value = option;
        node.textContent = option;
        input.appendChild(node);
      });
      input.value = shown(current(row, col));
    } else {
      input = document.createElement("input");
      input.type = "text";
      input.value = shown(current(row, col));
      input.placeholder = column.editor;
    }
    input.className = "cfg-editor";
    cell.replaceChildren(input);
    editing = { row, col, node: input };
    const finish = (save) => {
      if (!editing || editing.node !== input) return;
      if (save) {
        const problem = check(input.value, column);
        if (problem) {
          status.textContent = `${column.name}: ${problem} — not taken`;
          closeEditor();
          return;
        }
        commit(row, col, typed(input.value, column));
      }
      closeEditor();
    };
    input.addEventListener("input", () => {
      const problem = check(input.value, column);
      input.classList.toggle("cfg-bad", Boolean(problem));
      input.title = problem;
      status.textContent = problem ? `${column.name}: ${problem}` : `editing ${column.name}`;
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); finish(true); }
      if (event.key === "Escape") { event.preventDefault(); finish(false); }
      event.stopPropagation(); // keep JupyterLab's shortcuts out of the cell
    });
    if (column.editor === "picklist") input.addEventListener("change", () => finish(true));
    input.addEventListener("blur", () => finish(true));
    input.focus();
  }

  body.addEventListener("click", (event) => {
    const cell = event.target.closest(".cfg-cell");
    if (!cell || cell.classList.contains("cfg-id") || editing) return;
    const row = Number(cell.parentElement.dataset.row);
    const col = Number(cell.dataset.col);
    openEditor(cell, row, col);
  });

  let pending = false;
  scroller.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  });
  model.on("change:edits", draw);
  model.on("change:problems", draw);
  draw();
}

export default { render };
