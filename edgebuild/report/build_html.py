"""The build's sections of report.html: what a reviewer wants at a glance — accuracy (float vs int8, with --eval
labels the metrics and confusion matrices), size by stage and by layer, ops on the float fallback and why, the
dense-or-sparse choice per layer, what compression did, the memory plan, target and toolchain, and the runtime's
footprint when the report has it. `render_build_html` is the build's page; `edgebuild profile` puts the same
sections after its own (html.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .blocks import confusion_html, esc, json_block, kv_table, page, svg_hbars, svg_parts, table
from .formatting import human_bytes, ratio_text

TOP_LAYERS = 15  # layers drawn by name in the size-by-layer chart; the rest are one summed row


def _section(anchor: str, title: str, body: str) -> str:
    return f"<section id='sec-{anchor}'><h2>{esc(title)}</h2>\n{body}</section>"


def _accuracy(report: dict[str, Any]) -> str:
    acc = report["accuracy"]
    rows = [
        ("compared on", f"{acc['samples']} samples of {acc['data']}"),
        ("cosine similarity", f"{acc['cosine_similarity']:.5f}"),
        ("max |error|", f"{acc['max_abs_error']:.4g}"),
    ]
    if "top1_agreement" in acc:
        rows.append(("top-1 agreement", f"{100 * acc['top1_agreement']:.1f}%"))
    if "float_accuracy" in acc:
        rows.append(("top-1 accuracy", (f"float {acc['float_accuracy']:.2f}% → int8 {acc['int8_accuracy']:.2f}% "
                     f"(drop {acc['accuracy_drop_points']:.2f} points)")))  # fmt: skip
    parts = [kv_table(rows, "accuracy")]
    if acc.get("meaningless"):
        parts.insert(0, f"<p class='warn'>Compared on {esc(acc['meaningless'])}: these figures say little; give "
                     "--eval data (or --calib) from the real distribution.</p>")  # fmt: skip
    metrics = acc.get("metrics")
    if metrics:
        names = [("accuracy", "accuracy"), ("macro_precision", "macro precision"), ("macro_recall", "macro recall"),
                 ("macro_f1", "macro F1")]  # fmt: skip
        mrows = [
            (label, f"{metrics['float'][k]:.2f}%", f"{metrics['int8'][k]:.2f}%",
             f"{metrics['int8'][k] - metrics['float'][k]:+.2f}")
            for k, label in names
        ]  # fmt: skip
        parts.append(
            f"<h3>Evaluation on {acc['samples']} labelled samples: float vs int8</h3>"
            + table(["metric", "float", "int8", "points"], mrows, "metrics")
            + "<div class='side'>"
            + confusion_html(metrics["float"]["confusion_matrix"], "float model", "cm-float")
            + confusion_html(metrics["int8"]["confusion_matrix"], "int8 artifact", "cm-int8")
            + "</div>"
        )
    orig = acc.get("against_original_float")
    if orig:
        text = f"cosine {orig['cosine_similarity']:.5f}, max |error| {orig['max_abs_error']:.4g}"
        if "float_accuracy" in orig:
            text += (
                f"; top-1 original float {orig['float_accuracy']:.2f}% → int8 {orig['int8_accuracy']:.2f}%"
            )
        parts.append(
            kv_table([("int8 vs the original (uncompressed) float model", text)], "against-original")
        )
    budget = report.get("accuracy_budget")
    if budget:
        parts.append("<h3>Accuracy budget (--max-drop)</h3>" + json_block(budget, "accuracy-budget"))
    return _section("accuracy", "Accuracy", "\n".join(parts))


def _size_stages(report: dict[str, Any], sections_chart: bool) -> str:
    comp = report.get("compression") or {}
    stages = list(comp.get("stages", []))
    fp32 = report["size"]["float32_weights_bytes"]
    art = report["artifact"]["bytes"]
    rows = [
        (st["stage"], ratio_text(st["compression"]), st["bytes"], human_bytes(st["bytes"])) for st in stages
    ]
    rows.append(
        ("artifact (whole file)", ratio_text(round(fp32 / art, 2) if art else None), art, human_bytes(art))
    )
    trows = [(label, b, ratio) for label, ratio, b, _ in rows]
    parts = [
        (
            "<p>The float model's weights, then the bytes after each compression stage, then the whole artifact "
            "(weights, tables and metadata).</p>"
        ),
        svg_hbars(
            "stage-chart", rows, css_class="sbar", label_w=280, bar_w=460, aria="bytes after each stage"
        ),
        table(["stage", "bytes", "vs float32 weights"], trows, "stages"),
    ]
    sections = report["size"].get("artifact_sections")
    if sections and sections_chart:
        parts.append("<h3>Artifact by section</h3>")
        parts.append(svg_parts("artifact-sections", [(s["name"], s["bytes"]) for s in sections if s["bytes"] > 0],
                               css_class="apart"))  # fmt: skip
    return _section("size", "Size by stage", "\n".join(parts))


def _size_layers(report: dict[str, Any]) -> str:
    layers = report["size"].get("by_layer")
    if not layers:
        return ""
    total = sum(r["bytes"] for r in layers) or 1

    def label(r: dict[str, Any]) -> str:
        return r["op"] if r["op"] is not None else "(read by no op)"

    shown = layers[:TOP_LAYERS]
    rows = [(label(r), (r["type"] or "").lower(), r["bytes"], (f"{human_bytes(r['bytes'])} "
             f"({100 * r['bytes'] / total:.1f}%)")) for r in shown]  # fmt: skip
    rest = layers[TOP_LAYERS:]
    if rest:
        b = sum(r["bytes"] for r in rest)
        rows.append((f"{len(rest)} other layers", "", b, f"{human_bytes(b)} ({100 * b / total:.1f}%)"))
    trows = [(label(r), r["type"], r.get("aten") or "", r["tensors"], r["bytes"], f"{100 * r['bytes'] / total:.1f}%")
             for r in layers]  # fmt: skip
    return _section(
        "layers",
        "Weights by layer",
        f"<p>Constants in the artifact (weights, biases, requantization tables, sparse indices) by the op that reads "
        f"them, largest first: {len(layers)} layers, {total:,} B.</p>"
        + svg_hbars("layer-chart", rows, css_class="lbar", aria="weight bytes per layer")
        + f"<details><summary>All {len(layers)} layers</summary>"
        + table(["layer", "op", "ATen", "tensors", "bytes", "share"], trows, "layers", left=3)
        + "</details>",
    )


def _float_ops(report: dict[str, Any]) -> str:
    ops = report.get("float_ops") or []
    if not ops:
        body = "<p id='float-ops-none'>None: every op runs in int8.</p>"
    else:
        counts: dict[str, int] = {}
        for o in ops:
            counts[o["reason"]] = counts.get(o["reason"], 0) + 1
        why = "; ".join(f"{n} {r}" for r, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        body = f"<p>{len(ops)} op(s) on the float fallback: {esc(why)}.</p>" + table(
            ["op", "node", "source", "reason"],
            [(o["op"], o["node"], o.get("source") or "", o["reason"]) for o in ops],
            "float-ops",
            left=4,
        )
    return _section("float", "Ops in float, and why", body)


def _activations(report: dict[str, Any]) -> str:
    """--activations: which linear layers / attention products quantize their input per row at run time (dynamic,
    docs/quantization.md (14)-(16)); left out when every activation has a calibrated scale."""
    act = report.get("activations") or {}
    ops = act.get("dynamic_ops") or []
    if not ops:
        return ""
    body = (
        f"<p id='activations-summary'>{len(ops)} op(s) quantize their float input per row at run time "
        f"(--activations {esc(str(act.get('mode', '?')))}); the rest use the calibrated scales.</p>"
        + table(
            ["op", "node", "layer", "source"],
            [(o.get("op", ""), o.get("node", ""), o.get("layer", ""), o.get("source") or "") for o in ops],
            "dynamic-ops",
            left=4,
        )
    )
    return _section("activations", "Dynamic activations", body)


def _sparse(report: dict[str, Any]) -> str:
    sp = report.get("sparse")
    if not sp or not sp.get("layers"):
        return ""
    rows = [
        (r["op"], r.get("kind", ""), r.get("shape", ""), r["chosen"], f"{100 * r['sparsity']:.1f}%",
         f"{100 * r['block_sparsity']:.1f}%", r["dense_bytes"], r["sparse_bytes"] or None,
         f"{r['expected_gain']:.2f}×", r["reason"])
        for r in sp["layers"]
    ]  # fmt: skip
    block = "×".join(str(b) for b in sp.get("block", []))
    head = (
        f"<p>{sp.get('sparse_layers', 0)} of {len(sp['layers'])} layers sparse (block {esc(block)}); weights "
        f"{sp.get('dense_weight_bytes', 0):,} B dense → {sp.get('chosen_weight_bytes', 0):,} B as chosen. "
        f"Cost model: {esc(sp.get('cost_model', '-'))}.</p>"
    )
    html = table(["layer", "kind", "shape", "chosen", "sparsity", "block sparsity", "dense B", "sparse B", "gain",
                  "reason"], rows, "sparse", left=4, left_too=(9,))  # fmt: skip
    html = html.replace("<td>sparse</td>", "<td class='sparse'>sparse</td>")
    return _section("sparse", "Dense or sparse kernels per layer", head + html)


# report.json's keys are sorted; the page reads in pipeline order: options, module stage, graph stage, results
_COMPRESSION_ORDER = ("options", "prune", "sensitivity", "distill", "float_accuracy_original", "float_accuracy_pruned",
                      "float_accuracy_after_recovery", "low_rank", "weight_sharing", "shared_layers",
                      "uncompressed_layers", "finetune", "original", "after_low_rank", "compressed")  # fmt: skip


def _compression(report: dict[str, Any]) -> str:
    comp = report.get("compression") or {}
    details = {k: v for k, v in comp.items() if k not in ("stages", "artifact_bytes")}
    if not details:
        return _section("compression", "Compression", "<p id='compression-none'>No compression option: plain int8 "
                        "quantization (see --prune, --cluster-bits, --low-rank-energy, --huffman).</p>")  # fmt: skip
    order = {k: i for i, k in enumerate(_COMPRESSION_ORDER)}
    parts = []
    for key, value in sorted(details.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])):
        parts.append(f"<h3>{esc(key.replace('_', ' '))}</h3>" + json_block(value, f"compression-{key}"))
    return _section("compression", "Compression stages", "\n".join(parts))


def _memory(report: dict[str, Any]) -> str:
    mem = report["memory"]
    bound = mem.get("arena_lower_bound_bytes") or 0
    over = f" (+{100 * (mem['arena_bytes'] / bound - 1):.1f}% over the bound)" if bound else ""
    rows = [
        ("activation arena (planned)", f"{mem['arena_bytes']:,} B{over}"),
        ("arena lower bound", f"{bound:,} B (largest sum of tensors live at once)"),
        ("weights (used in place)", f"{mem['weights_bytes']:,} B"),
        ("arena + weights", (f"{mem['arena_bytes'] + mem['weights_bytes']:,} B "
         f"({human_bytes(mem['arena_bytes'] + mem['weights_bytes'])})")),
    ]  # fmt: skip
    smoke = report.get("smoke_run")
    if smoke:
        rows.append(("smoke run", f"{smoke['device']}: " + ("bit-identical to host" if smoke["bit_identical_to_host"]
                     else "differs from host") + (f", runtime tracked {smoke['tracked_bytes']:,} B"
                     if smoke.get("tracked_bytes") else "")))  # fmt: skip
    return _section("memory", "Memory plan", kv_table(rows, "memory"))


def _target(report: dict[str, Any]) -> str:
    t, tc, runner = report["target"], report.get("toolchain") or {}, report["runner"]
    rows = [
        ("target", f"{t['name']}: {t['description']}"),
        ("triple", t["triple"]),
        ("runner", f"{runner['file']}, {runner['bytes']:,} B ({human_bytes(runner['bytes'])}), "
         + ("static" if runner["static"] else "dynamic")),
    ]  # fmt: skip
    if tc:
        rows += [
            ("compiler", f"{tc['compiler']}: {tc.get('compiler_version') or 'version unknown'}"),
            ("flags", " ".join(tc.get("flags") or []) or "(none)"),
            ("CMake toolchain file", tc.get("toolchain_file") or "(host compiler)"),
            ("emulator", tc.get("emulator") or "(runs here)"),
        ]
    rows.append(("edgebuild", report.get("edgebuild_version", "")))
    body = kv_table(rows, "toolchain")
    fp = report.get("footprint")
    if fp:
        body += "<h3>What the runtime costs an app</h3>" + _footprint(fp)
    return _section("target", "Target and toolchain", body)


def _footprint(fp: dict[str, Any]) -> str:
    """report.json's `footprint` (edgebuild/footprint.py: stripped runtime library and runner); any other shape as
    it is."""
    run, lib = fp.get("runner"), fp.get("library")
    if not isinstance(run, dict) or "bytes" not in run:
        return json_block(fp, "footprint")
    rows = []
    if isinstance(lib, dict) and "bytes" in lib:
        rows.append((f"runtime library ({lib.get('name', 'libedgebuild')}, stripped)",
                     f"{lib['bytes']:,} B ({human_bytes(lib['bytes'])})"))  # fmt: skip
    ops = fp.get("ops") or []
    kind = ("static" if run.get("static") else "dynamic") + (f", {run['libc']}" if run.get("libc") else "")
    kind += f", lean: {len(ops)} ops" if fp.get("lean") else ""
    rows.append((f"runner ({kind}, stripped)", f"{run['bytes']:,} B ({human_bytes(run['bytes'])})"))
    if fp.get("lean"):
        rows.append(("ops linked", ", ".join(ops)))
    return kv_table(rows, "footprint")


def _mcu(report: dict[str, Any]) -> str:
    """A microcontroller build: flash and RAM against the part's budget, the stack bound, the kernels each op calls."""
    mcu = report.get("mcu")
    if not mcu:
        return ""
    f, r, st = mcu["flash"], mcu["ram"], mcu.get("stack") or {}

    def limit(part: dict[str, Any]) -> str:
        gate = f"; gate {part['gate_bytes']:,} B" if part.get("gate_bytes") else ""
        margin = part.get("margin_bytes")
        return f"budget {part['budget_bytes']:,} B{gate}" + (
            f"; margin {margin:,} B" if margin is not None else ""
        )

    stack = r["stack_bytes"]
    rows = [
        ("board / kernels", (f"{mcu['board']} (qemu-system-arm), {mcu.get('isa') or 'reference'} kernels, "
         f"{' '.join(mcu.get('flags') or [])} {mcu.get('opt', '')}")),
        ("budgets from", mcu.get("budget_part") or ""),
        ("flash", (f"{f['total_bytes']:,} B = code {f['code_bytes']:,} (model.c {f['code_model_bytes']:,}, kernels "
         f"{f['code_kernels_bytes']:,}) + weights {f['weights_bytes']:,} ({limit(f)})")),
        ("RAM", (f"{r['total_bytes']:,} B" if r["total_bytes"] is not None else "unbounded")
         + f" = arena {r['arena_bytes']:,} + static {r['static_bytes']:,} + stack "
         + (f"{stack:,}" if stack is not None else "?") + f" ({limit(r)})"),
        ("stack", f"{r.get('stack_source', '')}: deepest path {' → '.join(st.get('path') or [])}"
         + (f"; measured under qemu {st['measured_bytes']:,} B" if st.get("measured_bytes") is not None else "")
         + (f"; unbounded: {st['why_unknown']}" if st.get("why_unknown") else "")),
        ("not the model's", (f"harness, startup, newlib and libgcc: flash {mcu['firmware_other']['flash_bytes']:,} B, "
         f"RAM {mcu['firmware_other']['ram_bytes']:,} B (firmware.elf only)")),
    ]  # fmt: skip
    parts = [
        kv_table(rows, "mcu"),
        svg_parts(
            "mcu-flash", [("code", f["code_bytes"]), ("weights", f["weights_bytes"])], css_class="apart"
        ),
    ]
    kernels = mcu.get("kernels") or []
    if kernels:
        krows = [(k.get("index", i), k.get("name", ""), k.get("type", ""), k.get("function", ""))
                 for i, k in enumerate(kernels)]  # fmt: skip
        parts.append(f"<h3>The {len(kernels)} ops model.c runs and the kernel each calls</h3>"
                     + table(["#", "op", "type", "kernel"], krows, "mcu-kernels", left=0, left_too=(1, 2, 3)))  # fmt: skip
    parts.append(f"<p>Files: mcu/ ({len(mcu.get('files') or [])} files: model.c, model.h, model_data.c, "
                 "CMakeLists.txt, the kernels), firmware.elf, firmware.map.</p>")  # fmt: skip
    return _section("mcu", "Microcontroller: flash and RAM", "\n".join(parts))


_SECTIONS = (
    ("mcu", "mcu"),
    ("accuracy", "accuracy"),
    ("size", "size"),
    ("layers", "layers"),
    ("float", "float ops"),
    ("activations", "activations"),
    ("sparse", "sparse"),
    ("compression", "compression"),
    ("memory", "memory"),
    ("target", "target"),
)


def build_sections_html(report: dict[str, Any], *, in_profile: bool = False) -> str:
    """Every build section, in reading order (a section with nothing to say is left out). `in_profile`: on the
    profile's page, whose size breakdown already shows the artifact's sections."""
    parts = [_mcu(report), _accuracy(report), _size_stages(report, not in_profile), _size_layers(report), _float_ops(report),
             _activations(report), _sparse(report), _compression(report), _memory(report), _target(report)]  # fmt: skip
    return "\n".join(p for p in parts if p)


def _summary(report: dict[str, Any], sections: str) -> str:
    size, acc = report["size"], report["accuracy"]
    headline = f"cosine {acc['cosine_similarity']:.5f} over {acc['samples']} samples"
    if "float_accuracy" in acc:
        headline = (f"top-1 float {acc['float_accuracy']:.2f}% → int8 {acc['int8_accuracy']:.2f}% "
                    f"(drop {acc['accuracy_drop_points']:.2f} points); " + headline)  # fmt: skip
    rows = [
        ("model", f"{report['model']['name']} ({report['model']['format']})"),
        ("target", f"{report['target']['name']} ({report['target']['triple']})"),
        ("accuracy", headline),
        ("weights", (f"{size['float32_weights_bytes']:,} B float32 → {size['int8_weights_bytes']:,} B int8 "
         f"({ratio_text(size['compression'])})")),
        ("artifact / runner", f"{report['artifact']['bytes']:,} B / {report['runner']['bytes']:,} B"),
        ("arena", f"{report['memory']['arena_bytes']:,} B"),
        ("float ops", str(len(report.get("float_ops") or [])) if report.get("float_ops") else "none"),
        ("ops", ", ".join(f"{k.lower()} {v}" for k, v in sorted(report["ops"].items()))),
    ]  # fmt: skip
    nav = "".join(f"<a href='#sec-{a}'>{esc(t)}</a>" for a, t in _SECTIONS if f"id='sec-{a}'" in sections)
    nav = f"<nav>{nav}</nav>"
    return nav + kv_table(rows, "summary")


def render_build_html(report: dict[str, Any]) -> str:
    """The build's report.html: summary, then every build section. Self-contained like the profile's."""
    sections = build_sections_html(report)
    body = (
        _summary(report, sections)
        + "\n"
        + sections
        + "\n<p class='note'>Per-op latency and memory on a device: <code>edgebuild profile BUNDLE</code> "
        "(rewrites this page with them).</p>"
    )
    return page(f"edgebuild build: {report['model']['name']} for {report['target']['name']}", body)


def write_build_html(path: Path, report: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_build_html(report))
    os.replace(tmp, path)
