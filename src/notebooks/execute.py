"""Executes one notebook with nbclient and the given kernel; the driver behind `mmctr notebooks` (src/notebooks/runner.ts).

Run with Debian's /usr/bin/python3 (nbclient, nbformat, jupyter_client). Usage:
    execute.py --input IN.ipynb --output OUT.ipynb --kernel mmctr-ts [--timeout 900] [--cwd DIR]

Writes OUT (with the outputs so far, also when a cell fails; no execution timestamps) and prints one JSON line last
on stdout: {"ok": true, "cells": N} or {"ok": false, "cell": i (0-based), "error": "..."}. Exit status 0 when every
cell ran, 1 on a cell error, 2 when the kernel could not run the notebook (start failure, death, timeout).
"""
import argparse
import json
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def output_text(cell):
    """The text a failing cell left: its error outputs and stderr (tslab reports errors as stderr text)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            parts.append("\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}")
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
    return "".join(parts).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--cwd", default=".")
    a = ap.parse_args()

    nb = nbformat.read(a.input, as_version=4)
    failed = {}
    current = {"cell": -1}

    def on_cell_start(cell, cell_index):
        current["cell"] = cell_index

    def on_cell_error(cell, cell_index, execute_reply):
        if "cell" not in failed:
            failed["cell"] = cell_index
            content = execute_reply.get("content", {})
            failed["reply"] = f"{content.get('ename', '')}: {content.get('evalue', '')}".strip(": ")

    client = NotebookClient(
        nb,
        timeout=a.timeout,
        kernel_name=a.kernel,
        record_timing=False,
        allow_errors=False,
        resources={"metadata": {"path": a.cwd}},
        on_cell_start=on_cell_start,
        on_cell_error=on_cell_error,
    )
    status = {"ok": True, "cells": len(nb.cells)}
    code = 0
    try:
        client.execute()
    except CellExecutionError as e:
        i = failed.get("cell", -1)
        text = output_text(nb.cells[i]) if i >= 0 else ""
        status = {"ok": False, "cell": i, "error": text or failed.get("reply") or str(e)}
        code = 1
    except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as e:
        status = {"ok": False, "cell": failed.get("cell", current["cell"]), "error": f"{type(e).__name__}: {e}"}
        code = 2
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, a.output)
    sys.stdout.write(json.dumps(status) + "\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
