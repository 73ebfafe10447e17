"""Render a built widget ESM in headless Chromium against a stand-in anywidget model.

The stand-in implements the part of anywidget's model API the views use (get, set, on,
off, save_changes, send) and records what the view sends, so a test can drive the real
view (drag a slider, click the map, press Record) and check what would reach the kernel.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from browser._lab import CHROMIUM, LAUNCH_ARGS, browser_missing

__all__ = ["CHROMIUM", "LAUNCH_ARGS", "available", "page_html", "widget_state"]

PAGE = """<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:8px;background:#fff"><div id="root"></div>
<script type="module">
const state = %(state)s;
for (const [k, v] of Object.entries(state)) {
  if (v && v.__bytes__ !== undefined) {
    const raw = Uint8Array.from(atob(v.__bytes__), c => c.charCodeAt(0));
    state[k] = new DataView(raw.buffer);
  }
}
const handlers = {};
window.sent = [];      // model.send(...) messages
window.saved = [];     // states pushed by save_changes()
let dirty = {};
const model = {
  get: k => state[k],
  set: (k, v) => { state[k] = v; dirty[k] = v; (handlers['change:' + k] || []).forEach(f => f()); },
  on: (ev, f) => { (handlers[ev] = handlers[ev] || []).push(f); },
  off: (ev, f) => { if (handlers[ev]) handlers[ev] = handlers[ev].filter(g => g !== f); },
  save_changes: () => {
    window.saved.push({ t: performance.now(), state: JSON.parse(JSON.stringify(dirty)) });
    dirty = {};
  },
  send: msg => window.sent.push(msg),
};
// what the kernel would do: push a new value into the view
window.kernelSet = (k, v) => {
  state[k] = v;
  (handlers['change:' + k] || []).forEach(f => f());
};
const src = atob(%(esm)s);
const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
const mod = await import(url);
const el = document.getElementById('root');
await mod.default.render({ model, el, signal: new AbortController().signal });
window.rendered = true;
</script></body></html>
"""


def _jsonable(state: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in state.items():
        if isinstance(v, (bytes, bytearray, memoryview)):
            out[k] = {"__bytes__": base64.b64encode(bytes(v)).decode()}
        else:
            out[k] = v
    return out


def page_html(esm_path: Path, state: dict[str, Any]) -> str:
    esm = base64.b64encode(esm_path.read_bytes()).decode()
    return PAGE % {"state": json.dumps(_jsonable(state)), "esm": json.dumps(esm)}


def available() -> str | None:
    """None when a browser test can run, else the reason it cannot."""
    return browser_missing()


def widget_state(widget: Any) -> dict[str, Any]:
    """The synced state of a widget, as the front end would receive it."""
    names = [n for n in widget.keys if not n.startswith("_")]
    state = widget.get_state(names)
    return {k: v for k, v in state.items() if k not in ("layout", "tabbable", "tooltip")}
