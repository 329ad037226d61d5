// The browser side of crmframe's EditGrid: a virtual table. Only the rows in view are in
// the DOM, and only the rows near the view are fetched: the grid asks Python for windows
// of rows ({type: "rows", start, end}) as it scrolls, so 10,000 rows of 91 columns open
// like 50. One editor per column kind, checks as the analyst types. Edits go to Python as
// one `edits` map {"row:col": value}; added rows are positions past the rows as read
// (`added` of them), rows marked for deletion are `deleted`. Python answers with
// `problems` (cells its validation refused) and the side panel.

const ROW_HEIGHT = 26;
const OVERSCAN = 10;

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
  const nRead = model.get("n_rows");
  const chunk = model.get("window_rows");
  const cache = new Map(); // row as read -> {id, cells}
  const asked = new Set(); // windows asked for (by number)

  el.classList.add("crmframe-grid");
  const toolbar = document.createElement("div");
  toolbar.className = "cfg-toolbar";
  const addButton = document.createElement("button");
  addButton.className = "cfg-add";
  addButton.textContent = "+ Add row";
  const status = document.createElement("span");
  status.className = "cfg-status";
  toolbar.append(addButton, status);
  const scroller = document.createElement("div");
  scroller.className = "cfg-scroll";
  scroller.style.height = `${model.get("height")}px`;
  const header = document.createElement("div");
  header.className = "cfg-header";
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
  scroller.append(header, body);
  el.append(toolbar, scroller);

  const total = () => nRead + model.get("added");
  const deleted = () => new Set(model.get("deleted"));
  const isNew = (row) => row >= nRead;

  function sayCount() {
    const added = model.get("added");
    const gone = model.get("deleted").length;
    let text = `${nRead.toLocaleString("en-US")} rows`;
    if (added) text += ` + ${added} new`;
    if (gone) text += ` · ${gone} marked for deletion`;
    status.textContent = `${text} · click a cell to edit`;
  }

  function layout() {
    const width = 190 + 150 * columns.length;
    header.style.width = `${width}px`;
    body.style.width = `${width}px`;
    body.style.height = `${total() * ROW_HEIGHT}px`;
    addButton.disabled = !model.get("can_insert") || model.get("pushed");
    addButton.title = model.get("pushed") ? "Pushed: open a new grid on result.frame"
      : model.get("can_insert") ? "Add a new record (inserted on Push)"
        : "Open the grid with EditGrid(..., inserts=True) to add rows";
  }

  function ask(first, last) {
    // The windows covering rows first..last that are neither here nor asked for yet.
    const end = Math.min(last, nRead);
    for (let w = Math.floor(first / chunk); w * chunk < end; w++) {
      if (asked.has(w)) continue;
      asked.add(w);
      model.send({ type: "rows", start: w * chunk, end: Math.min(nRead, (w + 1) * chunk) });
    }
  }

  function file(msg) {
    msg.rows.forEach((cells, i) => cache.set(msg.start + i, { id: msg.ids[i], cells }));
  }

  model.on("msg:custom", (msg) => {
    if (!msg || msg.type !== "rows") return;
    file(msg);
    draw();
  });
  const head = model.get("head");
  if (head && head.rows) { // the first window came with the state
    file(head);
    asked.add(0);
  }

  function rowId(row) {
    if (isNew(row)) return model.get("new_ids")[String(row)] || `new-${row - nRead + 1}`;
    const got = cache.get(row);
    return got ? got.id : "…";
  }

  function base(row, col) {
    if (isNew(row)) return null;
    const got = cache.get(row);
    return got ? got.cells[col] : undefined;
  }

  function current(row, col) {
    const key = `${row}:${col}`;
    const edits = model.get("edits");
    return key in edits ? edits[key] : base(row, col);
  }

  function paintCell(cell, row, col, gone) {
    const key = `${row}:${col}`;
    const column = columns[col];
    const value = current(row, col);
    cell.className = "cfg-cell";
    cell.textContent = value === undefined ? "…" : shown(value);
    if (value === undefined) cell.classList.add("cfg-loading");
    if (!column.editor) cell.classList.add("cfg-locked");
    if (key in model.get("edits")) cell.classList.add("cfg-edited");
    const problem = model.get("problems")[key];
    if (problem && !gone) {
      cell.classList.add("cfg-invalid");
      cell.title = problem;
    } else {
      cell.title = column.editor ? "" : `locked: ${column.locked}`;
    }
  }

  function idCell(row, gone) {
    const cell = document.createElement("div");
    cell.className = "cfg-cell cfg-id";
    const label = document.createElement("span");
    label.className = "cfg-label";
    label.textContent = rowId(row);
    const del = document.createElement("button");
    del.className = "cfg-del";
    del.textContent = gone ? "↺" : "✕";
    const allowed = (isNew(row) || model.get("can_delete")) && !model.get("pushed");
    del.disabled = !allowed;
    del.title = model.get("pushed") ? "Pushed" : !allowed
      ? "Open the grid with EditGrid(..., deletes=True) to delete records"
      : gone ? "Keep this row" : isNew(row) ? "Remove this new row" : "Mark for deletion (deleted on Push, once confirmed)";
    cell.append(label, del);
    return cell;
  }

  let editing = null; // {row, col, node}

  function draw() {
    if (editing) return; // keep the editor where it is while it is open
    const n = total();
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const visible = Math.ceil((scroller.clientHeight || model.get("height")) / ROW_HEIGHT);
    const last = Math.min(n, first + visible + 2 * OVERSCAN);
    ask(first, last + chunk / 2); // a little ahead of the scroll
    const gone = deleted();
    const lines = [];
    for (let row = first; row < last; row++) {
      const line = document.createElement("div");
      line.className = "cfg-row";
      if (isNew(row)) line.classList.add("cfg-new");
      if (gone.has(row)) line.classList.add("cfg-deleted");
      line.style.top = `${row * ROW_HEIGHT}px`;
      line.dataset.row = String(row);
      line.appendChild(idCell(row, gone.has(row)));
      for (let col = 0; col < columns.length; col++) {
        const cell = document.createElement("div");
        cell.dataset.col = String(col);
        paintCell(cell, row, col, gone.has(row));
        line.appendChild(cell);
      }
      lines.push(line);
    }
    body.replaceChildren(...lines);
  }

  function commit(row, col, value) {
    const column = columns[col];
    const key = `${row}:${col}`;
    const edits = { ...model.get("edits") };
    const original = base(row, col);
    const same = (value === null && (original === null || original === undefined))
      || (value !== null && original !== null && original !== undefined
        && String(value) === String(original));
    if (same) delete edits[key]; else edits[key] = value;
    model.set("edits", edits);
    model.save_changes();
    status.textContent = `${column.name} of ${rowId(row)}: ${same ? "back to as read" : "edited"}`;
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
    if (!isNew(row) && !cache.has(row)) return; // its values are still on their way
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

  function toggleDelete(row) {
    const marked = new Set(model.get("deleted"));
    if (marked.has(row)) marked.delete(row); else marked.add(row);
    model.set("deleted", [...marked].sort((a, b) => a - b));
    model.save_changes();
    status.textContent = `${rowId(row)}: ${marked.has(row)
      ? (isNew(row) ? "new row removed" : "marked for deletion (confirm beside, then Push)")
      : "kept"}`;
  }

  body.addEventListener("click", (event) => {
    if (editing) return;
    const line = event.target.closest(".cfg-row");
    if (!line) return;
    const row = Number(line.dataset.row);
    const del = event.target.closest(".cfg-del");
    if (del) {
      if (!del.disabled) toggleDelete(row);
      return;
    }
    const cell = event.target.closest(".cfg-cell");
    if (!cell || cell.classList.contains("cfg-id")) return;
    if (model.get("pushed")) {
      status.textContent = "pushed: the results are beside; open a new grid on result.frame to edit again";
      return;
    }
    if (deleted().has(row)) {
      status.textContent = `${rowId(row)} is marked for deletion: ↺ to keep it`;
      return;
    }
    openEditor(cell, row, Number(cell.dataset.col));
  });

  addButton.addEventListener("click", () => {
    if (!model.get("can_insert")) return;
    model.set("added", model.get("added") + 1);
    model.save_changes();
    layout();
    scroller.scrollTop = total() * ROW_HEIGHT; // the new row, at the bottom
    draw();
    status.textContent = `new-${model.get("added")} added: fill in its cells`;
  });

  let pending = false;
  scroller.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  });
  model.on("change:edits", draw);
  model.on("change:problems", draw);
  model.on("change:added", () => { layout(); sayCount(); draw(); });
  model.on("change:deleted", () => { sayCount(); draw(); });
  model.on("change:new_ids", draw);
  model.on("change:pushed", () => {
    layout();
    draw();
    status.textContent = "pushed: see the results beside";
  });
  layout();
  sayCount();
  draw();
}

export default { render };
