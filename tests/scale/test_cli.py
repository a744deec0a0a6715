"""The scale flags come from MineConfig like every other flag."""

from __future__ import annotations

from hardneg.cli import build_parser


def test_scale_flags_parse_and_help_renders():
    parser = build_parser()
    ns = parser.parse_args(
        [
            "mine",
            "--engine",
            "ray",
            "--num-cpus",
            "2",
            "--index",
            "IVF64,Flat",
            "--nprobe",
            "8",
            "--precision",
            "bf16",
            "--no-resume",
        ]
    )
    assert (ns.engine, ns.num_cpus, ns.index, ns.nprobe, ns.precision, ns.resume) == ("ray", 2, "IVF64,Flat", 8, "bf16", False)
    mine = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "mine")[1]
    text = mine.format_help()
    assert "--ray-address" in text and "--ef-search" in text and "95%" in text
