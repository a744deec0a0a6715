"""Follow the data of ``hardneg.mine`` through the calls: how many functions it passes through, and how often it
climbs back to a higher layer of the package.

A *stop* is a hardneg function that receives the data as an argument: the value passed as ``data``, a
``RetrievalData`` made from it, or an object holding one as ``.data`` (``self`` of a batch miner). Each function
counts once, however often it is called. A stop is a *climb* when the stop that called it (the nearest calling
frame that is a stop) is in a package lower in the import graph: a package's height is one more than the highest
package it imports. Five calls are traced together: the default preset, ``preset="auto"``, ``audit=True``, the
candidates format and the BM25 sampler, each written to a file.

    python benchmarks/data_path.py                 # the demo
    python benchmarks/data_path.py --list          # every stop, with the stop that called it
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile

import grimp

import hardneg
from hardneg.data import RetrievalData


def package_heights() -> dict[str, int]:
    graph = grimp.build_graph("hardneg", exclude_type_checking_imports=False, cache_dir=None)
    arrows: dict[str, set[str]] = collections.defaultdict(set)
    for module in graph.modules:
        for target in graph.find_modules_directly_imported_by(module):
            if package(module) != package(target):
                arrows[package(module)].add(package(target))
    heights: dict[str, int] = {}

    def height(p: str) -> int:
        if p not in heights:
            heights[p] = 0  # a cycle (none is allowed) would stop here
            heights[p] = 1 + max((height(q) for q in arrows[p]), default=-1)
        return heights[p]

    for module in graph.modules:
        height(package(module))
    return heights


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def trace(data: str, calls: list[dict]) -> tuple[dict[str, str | None], list[str]]:
    """The stops (each with the stop that first called it), in the order they were reached."""
    root = os.path.dirname(hardneg.__file__)
    followed = "".join(list(data))  # a str object of its own, followed by identity
    parent_of: dict[str, str | None] = {}
    open_frames: dict[int, str] = {}

    def carries(frame) -> bool:
        code = frame.f_code
        for name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
            value = frame.f_locals.get(name)
            if value is followed or isinstance(value, RetrievalData):
                return True
            if name == "self" and isinstance(getattr(value, "data", None), RetrievalData):
                return True
        return False

    def on_call(frame, event, arg):
        if event != "call" or not frame.f_code.co_filename.startswith(root) or not carries(frame):
            return None
        key = f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"
        caller = frame.f_back
        while caller is not None and id(caller) not in open_frames:
            caller = caller.f_back
        open_frames[id(frame)] = key
        parent_of.setdefault(key, open_frames[id(caller)] if caller is not None else None)

        def on_return(f, ev, a):
            if ev == "return":
                open_frames.pop(id(f), None)
            return on_return

        return on_return

    sys.settrace(on_call)
    try:
        for params in calls:
            with tempfile.TemporaryDirectory() as tmp:
                hardneg.mine(followed, f"{tmp}/out.parquet", **params)
    finally:
        sys.settrace(None)
    return parent_of, list(parent_of)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="demo", help="what mine() is given (default: demo)")
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--list", action="store_true", help="print every stop and the stop that called it")
    args = parser.parse_args()
    common = {"seed": 42, "max_seq_length": args.max_seq_length, "show_progress": False}
    calls = [{}, {"preset": "auto"}, {"audit": True}, {"output_format": "candidates"}, {"sampler": "bm25"}]
    parent_of, order = trace(args.data, [{**common, **c} for c in calls])
    heights = package_heights()
    modules = {".".join(k.split(".")[:-1]) for k in order}
    climbs = [
        (parent, key)
        for key, parent in parent_of.items()
        if parent is not None and heights[package(key)] > heights[package(parent)]
    ]
    print(f"{len(order)} stops in {len(modules)} modules, {len(climbs)} climbs back to a higher layer")
    if args.list:
        for key in order:
            print(f"  {key}  <- {parent_of[key]}")
    for parent, key in climbs:
        print(
            f"  climb: {parent} -> {key} ({package(parent)} {heights[package(parent)]} -> {package(key)} {heights[package(key)]})"
        )


if __name__ == "__main__":
    main()
